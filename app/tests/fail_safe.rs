//! A node that fails safe, in process through the ABCI 2.0 driver:
//!
//! - block validity is a consensus rule: ProcessProposal rejects a proposal over the
//!   block gas limit, or holding an undecodable tx, a fee below the chain's minimum, a
//!   bad signature or a replayed tx; PrepareProposal never builds one; signatures
//!   verified for a proposal are not verified again by FinalizeBlock;
//! - one encoding per tx: unknown, repeated or reordered fields are refused;
//! - a storage fault inside FinalizeBlock or Commit is an error of the node, never a tx
//!   result, and leaves nothing behind; restarted, the node agrees with one that never
//!   failed;
//! - InitChain tells CometBFT the block gas limit, and a second one is refused.
use cosmos_sdk_proto::cosmos::tx::v1beta1::{AuthInfo, TxBody, TxRaw};
use openledger_app::exec::BlockInput;
use openledger_client::txbuilder::{self, SignerKey, TxSpec};
use openledger_test_driver::{test_key, TestNode, TEST_CHAIN_ID};
use prost::Message;
use tendermint_abci::Application;
use tendermint_proto::v0_38::abci as pb;

const FUND: u128 = 1_000_000_000;
const FEE: u128 = 5_000;
const GAS: u64 = 200_000;

fn node() -> TestNode {
    TestNode::builder().funded_accounts(3, FUND).build()
}

/// A node whose genesis sets the block gas limit (and a tx gas limit under it).
fn node_with_block_gas(max_block_gas: u64) -> TestNode {
    let b = TestNode::builder().funded_accounts(3, FUND);
    let mut s = b.app_state();
    let p = s.auth.params.as_mut().expect("auth params");
    p.max_tx_gas = 400_000;
    p.max_block_gas = max_block_gas;
    b.with_app_state(s).build()
}

fn process(n: &TestNode, txs: &[Vec<u8>]) -> bool {
    let r = Application::process_proposal(
        &n.app,
        pb::RequestProcessProposal {
            txs: txs.iter().cloned().map(Into::into).collect(),
            height: n.height as i64 + 1,
            ..Default::default()
        },
    );
    r.status == pb::response_process_proposal::ProposalStatus::Accept as i32
}

fn prepare(n: &TestNode, txs: &[Vec<u8>], max_tx_bytes: i64) -> Vec<Vec<u8>> {
    let r = Application::prepare_proposal(
        &n.app,
        pb::RequestPrepareProposal {
            txs: txs.iter().cloned().map(Into::into).collect(),
            max_tx_bytes,
            height: n.height as i64 + 1,
            ..Default::default()
        },
    );
    r.txs.into_iter().map(|t| t.to_vec()).collect()
}

/// A send from `key` at `sequence` (its account number read from the chain).
fn send_at(n: &TestNode, key: &SignerKey, sequence: u64, fee: u128, gas: u64) -> Vec<u8> {
    let acct = n.account(&key.address()).expect("account");
    let spec = TxSpec::new(vec![txbuilder::msg_send(&key.address(), &test_key(2).address(), 1)], fee, gas);
    txbuilder::sign_tx(&spec, key, TEST_CHAIN_ID, acct.account_number, sequence)
}

fn with_bad_signature(tx: &[u8]) -> Vec<u8> {
    let mut raw = TxRaw::decode(tx).unwrap();
    raw.signatures[0][10] ^= 1;
    raw.encode_to_vec()
}

#[test]
fn a_proposal_over_the_block_gas_limit_is_rejected_and_prepare_stops_at_the_limit() {
    let mut n = node_with_block_gas(1_000_000);
    let a = test_key(0);
    let txs: Vec<Vec<u8>> = (0..3).map(|s| send_at(&n, &a, s, FEE, 400_000)).collect();
    assert!(process(&n, &txs[..2]), "800,000 gas wanted fits 1,000,000");
    assert!(!process(&n, &txs), "1,200,000 gas wanted does not");
    let prepared = prepare(&n, &txs, 1 << 20);
    assert_eq!(prepared, txs[..2].to_vec(), "PrepareProposal keeps what fits");
    assert!(process(&n, &prepared));
    n.execute_block(prepared);
    assert_eq!(n.account(&a.address()).unwrap().sequence, 2);
}

/// A new app on an empty store, and the genesis of a node with `max_block_gas`.
fn fresh_app(n: &TestNode, max_block_gas: u64) -> (openledger_app::App, Vec<u8>, tempfile::TempDir) {
    let b = TestNode::builder().funded_accounts(1, FUND);
    let mut s = b.app_state();
    let p = s.auth.params.as_mut().unwrap();
    p.max_tx_gas = 400_000;
    p.max_block_gas = max_block_gas;
    let dir = tempfile::tempdir().unwrap();
    let storage = n.rt().block_on(openledger_app::open_storage(dir.path().join("state"))).unwrap();
    let app = openledger_app::App::new(storage, n.rt().handle().clone(), Default::default());
    (app, serde_json::to_vec(&s).unwrap(), dir)
}

#[test]
fn a_genesis_block_gas_limit_below_the_tx_limit_is_refused() {
    let n = node();
    let (app, genesis, _dir) = fresh_app(&n, 1_000);
    let err = n.rt().block_on(app.init_chain(TEST_CHAIN_ID, &genesis)).unwrap_err();
    assert!(err.message.contains("max_block_gas 1000 must be at least max_tx_gas 400000"), "{}", err.message);
}

#[test]
fn a_proposal_with_a_bad_signature_is_rejected_and_prepare_drops_it() {
    let mut n = node();
    let (a, b) = (test_key(0), test_key(1));
    let good = send_at(&n, &a, 0, FEE, GAS);
    let bad = with_bad_signature(&send_at(&n, &b, 0, FEE, GAS));
    assert!(!process(&n, &[good.clone(), bad.clone()]));
    assert!(!process(&n, std::slice::from_ref(&bad)));
    assert_eq!(prepare(&n, &[bad.clone(), good.clone()], 1 << 20), vec![good.clone()]);
    let before = n.balance(&b.address());
    n.execute_block(vec![good]);
    assert_eq!(n.balance(&b.address()), before, "the sender of the bad tx paid nothing, and its tx is not in the block");
}

#[test]
fn a_proposal_with_a_fee_below_the_consensus_minimum_is_rejected_and_the_ante_refuses_it_too() {
    // The default consensus minimum is 0.001uopen per gas: 200 uopen for 200,000 gas.
    let mut n = node();
    let a = test_key(0);
    let cheap = send_at(&n, &a, 0, 199, GAS);
    let c = n.check_tx(&cheap);
    assert_eq!((c.codespace.as_str(), c.code), ("sdk", 13), "this node asks no fee of its own, the chain does: {}", c.log);
    assert!(c.log.contains("required: 200uopen"), "{}", c.log);
    assert!(!process(&n, std::slice::from_ref(&cheap)));
    assert!(prepare(&n, std::slice::from_ref(&cheap), 1 << 20).is_empty());
    // Decided anyway (a block 2/3 of the power accepted): the tx fails, and pays nothing.
    let before = n.balance(&a.address());
    let r = n.execute_block_unchecked(vec![cheap]);
    assert_eq!((r.tx_results[0].codespace.as_str(), r.tx_results[0].code), ("sdk", 13));
    assert_eq!(n.balance(&a.address()), before);
    let exact = send_at(&n, &a, 0, 200, GAS);
    assert!(process(&n, std::slice::from_ref(&exact)));
    assert_eq!(n.execute_block(vec![exact]).tx_results[0].code, 0);
}

#[test]
fn a_proposal_with_an_undecodable_tx_or_a_replay_is_rejected() {
    let mut n = node();
    let a = test_key(0);
    assert!(!process(&n, &[vec![0xff, 0x01, 0x02]]));
    let tx = send_at(&n, &a, 0, FEE, GAS);
    n.execute_block(vec![tx.clone()]);
    assert!(!process(&n, std::slice::from_ref(&tx)), "a replayed tx (sequence already used) pays nothing: rejected");
    assert!(prepare(&n, &[tx], 1 << 20).is_empty());
    let next = send_at(&n, &a, 1, FEE, GAS);
    assert!(process(&n, &[next]));
}

#[test]
fn a_sender_can_queue_several_txs_in_one_block() {
    let mut n = node();
    let a = test_key(0);
    let txs: Vec<Vec<u8>> = (0..5).map(|s| send_at(&n, &a, s, FEE, GAS)).collect();
    assert!(process(&n, &txs));
    let mut reordered = txs.clone();
    reordered.swap(1, 2);
    assert!(!process(&n, &reordered), "sequence 2 before 1 fails its ante step");
    // Sequence 2 comes too early and is dropped; 1 fits; 3 and 4 then follow a gap.
    assert_eq!(prepare(&n, &reordered, 1 << 20), vec![txs[0].clone(), txs[1].clone()]);
    let r = n.execute_block(txs);
    assert!(r.tx_results.iter().all(|t| t.code == 0));
}

#[test]
fn prepare_keeps_within_the_byte_budget() {
    let n = node();
    let a = test_key(0);
    let txs: Vec<Vec<u8>> = (0..4).map(|s| send_at(&n, &a, s, FEE, GAS)).collect();
    let budget = (txs[0].len() + txs[1].len() + txs[2].len()) as i64;
    assert_eq!(prepare(&n, &txs, budget), txs[..3].to_vec());
    assert!(prepare(&n, &txs, 0).is_empty());
}

#[test]
fn prepared_proposals_always_pass_process_proposal() {
    // A seeded mix of good, underpriced, mis-signed, replayed, out-of-order and
    // undecodable txs from three senders: whatever PrepareProposal keeps is accepted.
    let mut n = node();
    let keys = [test_key(0), test_key(1), test_key(2)];
    let mut seed = 0x5eed_u64;
    let mut next = || {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        seed >> 33
    };
    for _ in 0..6 {
        let mut txs = Vec::new();
        for _ in 0..20 {
            let k = &keys[(next() % 3) as usize];
            let seq = n.account(&k.address()).unwrap().sequence + next() % 4;
            let tx = match next() % 6 {
                0 => send_at(&n, k, seq, 10, GAS),
                1 => with_bad_signature(&send_at(&n, k, seq, FEE, GAS)),
                2 => vec![0x0a, 0x03, 1, 2],
                _ => send_at(&n, k, seq, FEE, GAS),
            };
            txs.push(tx);
        }
        let prepared = prepare(&n, &txs, 1 << 20);
        assert!(process(&n, &prepared), "PrepareProposal built a proposal ProcessProposal rejects");
        let r = n.execute_block(prepared);
        assert!(r.tx_results.iter().all(|t| t.code == 0), "every tx of a prepared block succeeds: {:?}", r.tx_results);
    }
}

#[test]
fn signatures_verified_for_a_proposal_are_not_verified_again_by_finalize_block() {
    let mut n = node();
    let a = test_key(0);
    let txs: Vec<Vec<u8>> = (0..3).map(|s| send_at(&n, &a, s, FEE, GAS)).collect();
    assert_eq!(n.app.checked_txs(), 0);
    assert!(process(&n, &txs));
    assert_eq!(n.app.checked_txs(), 3, "ProcessProposal recorded the three verified signatures");
    n.execute_block_unchecked(txs);
    assert_eq!(n.app.checked_txs(), 0, "FinalizeBlock took them instead of verifying again");
}

/// A tx of these body and auth-info bytes, validly signed by `key`.
fn resigned(n: &TestNode, key: &SignerKey, body: Vec<u8>, auth_info: Vec<u8>) -> Vec<u8> {
    let acct = n.account(&key.address()).unwrap();
    let sig = key.sign(&txbuilder::sign_bytes(&body, &auth_info, TEST_CHAIN_ID, acct.account_number));
    TxRaw { body_bytes: body, auth_info_bytes: auth_info, signatures: vec![sig] }.encode_to_vec()
}

#[test]
fn a_tx_with_unknown_repeated_or_reordered_fields_is_refused() {
    let n = node();
    let a = test_key(0);
    let spec = TxSpec::new(vec![txbuilder::msg_send(&a.address(), &test_key(1).address(), 1)], FEE, GAS);
    let good = txbuilder::sign_tx(&spec, &a, TEST_CHAIN_ID, 0, 0);
    assert_eq!(n.check_tx(&good).code, 0);
    let refused = |tx: &[u8], what: &str| {
        let c = n.check_tx(tx);
        assert_eq!((c.codespace.as_str(), c.code), ("sdk", 2), "{what}: {}", c.log);
        assert!(c.log.contains("canonical"), "{what}: {}", c.log);
        assert!(!process(&n, &[tx.to_vec()]), "{what}: not in a block either");
    };
    // TxRaw is not signed: a relayer could change it, and the tx hash with it.
    let mut unknown = good.clone();
    unknown.extend([0x20, 0x01]);
    refused(&unknown, "TxRaw with an unknown field 4");
    let raw = TxRaw::decode(good.as_slice()).unwrap();
    let mut dup = good.clone();
    dup.extend(TxRaw { body_bytes: raw.body_bytes.clone(), ..Default::default() }.encode_to_vec());
    refused(&dup, "TxRaw with body_bytes twice");
    // Signed, but still one encoding only: unknown fields in the body or auth info.
    let mut body = spec.body_bytes();
    body.extend([0xa0, 0x1f, 0x01]); // field 500, varint 1
    refused(&resigned(&n, &a, body, spec.auth_info_bytes(&a, 0)), "TxBody with an unknown field");
    let mut auth = spec.auth_info_bytes(&a, 0);
    let fee = AuthInfo::decode(auth.as_slice()).unwrap();
    auth.extend(AuthInfo { fee: fee.fee, ..Default::default() }.encode_to_vec());
    refused(&resigned(&n, &a, spec.body_bytes(), auth), "AuthInfo with the fee twice");
    // A message with an unknown field inside its Any.
    let mut msg = txbuilder::msg_send(&a.address(), &test_key(1).address(), 1);
    msg.value.extend([0x20, 0x01]);
    let body = TxBody { messages: vec![msg], ..Default::default() }.encode_to_vec();
    refused(&resigned(&n, &a, body, spec.auth_info_bytes(&a, 0)), "MsgSend with an unknown field");
}

#[test]
fn init_chain_tells_cometbft_the_block_gas_limit_and_a_second_one_is_refused() {
    let mut n = node();
    let (app, genesis, _dir) = fresh_app(&n, 3_000_000);
    let req = pb::RequestInitChain {
        chain_id: TEST_CHAIN_ID.into(),
        app_state_bytes: genesis.into(),
        consensus_params: Some(tendermint_proto::v0_38::types::ConsensusParams {
            block: Some(tendermint_proto::v0_38::types::BlockParams { max_bytes: 4_194_304, max_gas: -1 }),
            ..Default::default()
        }),
        ..Default::default()
    };
    let resp = app.abci_init_chain(req.clone()).expect("the first InitChain");
    let block = resp.consensus_params.unwrap().block.unwrap();
    assert_eq!((block.max_bytes, block.max_gas), (4_194_304, 3_000_000), "max_gas set to the chain's limit, max_bytes kept");
    let again = app.abci_init_chain(req).unwrap_err();
    assert!(again.message.contains("already handled"), "{}", again.message);

    // A chain past genesis refuses InitChain, and is unchanged.
    let tx = send_at(&n, &test_key(0), 0, FEE, GAS);
    n.execute_block(vec![tx]);
    let n = n.restart();
    let before = n.rt().block_on(n.app.last_committed()).unwrap();
    let req = pb::RequestInitChain { chain_id: TEST_CHAIN_ID.into(), app_state_bytes: b"{}".to_vec().into(), ..Default::default() };
    let err = n.app.abci_init_chain(req).unwrap_err();
    assert!(err.message.contains("at height 1"), "{}", err.message);
    assert_eq!(n.rt().block_on(n.app.last_committed()).unwrap(), before);
}

fn finalize(n: &TestNode, txs: &[Vec<u8>]) -> Result<openledger_app::exec::BlockOutcome, openledger_framework::ChainError> {
    n.rt().block_on(n.app.finalize_block(BlockInput {
        height: n.height + 1,
        time_seconds: n.time_seconds + 1,
        time_nanos: 0,
        txs,
        last_commit: &[],
    }))
}

/// A node armed with the failpoints `spec` and a twin without, both past block 1; and
/// the transfer block 2 holds.
fn twin_and_armed(spec: &str) -> (TestNode, TestNode, Vec<u8>) {
    let mut twin = node();
    let mut n = TestNode::builder().funded_accounts(3, FUND).failpoints(spec).build();
    let a = test_key(0);
    let tx1 = send_at(&n, &a, 0, FEE, GAS);
    assert_eq!(n.execute_block(vec![tx1.clone()]).app_hash, twin.execute_block(vec![tx1]).app_hash);
    let tx2 = send_at(&n, &a, 1, FEE, GAS);
    (twin, n, tx2)
}

#[test]
fn an_io_error_inside_finalize_block_is_a_node_fault_not_a_tx_result_and_a_restart_agrees_with_a_twin() {
    let (mut twin, n, tx2) = twin_and_armed("finalize:error@2");
    let err = finalize(&n, std::slice::from_ref(&tx2)).err().expect("the injected read error fails the block");
    assert!(err.is_node_fault(), "a node fault, not a tx failure: {err:?}");
    assert!(err.message.contains("injected I/O error"), "{}", err.message);
    assert!(n.app.commit().is_err(), "nothing was staged for Commit");
    let mut n = n.restart_with(|s| s.failpoints.clear());
    assert_eq!(n.height, 1, "restarted at the last committed height");
    let (mine, theirs) = (n.execute_block(vec![tx2.clone()]), twin.execute_block(vec![tx2]));
    assert_eq!(mine, theirs, "the same results and app hash as a node that never failed");
}

#[test]
fn an_io_error_inside_commit_leaves_the_last_committed_block_and_a_restart_agrees_with_a_twin() {
    let (mut twin, n, tx2) = twin_and_armed("commit:error@2");
    finalize(&n, std::slice::from_ref(&tx2)).expect("FinalizeBlock itself succeeds");
    let err = n.app.commit().expect_err("the injected write error fails Commit");
    assert!(err.is_node_fault(), "{err:?}");
    let (h, _) = n.rt().block_on(n.app.last_committed()).unwrap();
    assert_eq!(h, 1, "nothing of block 2 was written");
    let mut n = n.restart_with(|s| s.failpoints.clear());
    assert_eq!(n.height, 1);
    let (mine, theirs) = (n.execute_block(vec![tx2.clone()]), twin.execute_block(vec![tx2]));
    assert_eq!(mine, theirs);
    assert_eq!(n.balance(&test_key(0).address()), twin.balance(&test_key(0).address()));
}

#[test]
fn commit_tells_cometbft_to_keep_the_latest_blocks_and_archive_mode_keeps_all() {
    let mut n = TestNode::builder().funded_accounts(1, FUND).retain_blocks(5).build();
    let mut seen = vec![];
    for _ in 0..8 {
        n.execute_block(vec![]);
        seen.push(n.last_retain_height);
    }
    // After height h, heights h-4..=h remain: nothing to prune until height 6.
    assert_eq!(seen, vec![0, 0, 0, 0, 1, 2, 3, 4]);
    let mut archive = TestNode::builder().funded_accounts(1, FUND).build();
    for _ in 0..8 {
        archive.execute_block(vec![]);
        assert_eq!(archive.last_retain_height, 0, "0 keeps every block");
    }
    assert_eq!(openledger_app::abci::retain_height(u64::MAX, 1), 0, "beyond i64: keep all rather than wrap");
}
