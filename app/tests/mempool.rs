//! CheckTx knows what it has already accepted: a sender queues sequence N+1 behind a
//! pending N, gaps and replays are refused, and the view resets after each commit.
use openledger_client::txbuilder::{self, TxSpec};
use openledger_test_driver::{test_key, TestNode, TEST_CHAIN_ID};
use tendermint_abci::Application;
use tendermint_proto::v0_38::abci as pb;

const FUND: u128 = 1_000_000;
const FEE: u128 = 5_000;

fn send(seq: u64, fee: u128) -> Vec<u8> {
    let a = test_key(0);
    let spec = TxSpec::new(vec![txbuilder::msg_send(&a.address(), &test_key(1).address(), 1)], fee, 200_000);
    txbuilder::sign_tx(&spec, &a, TEST_CHAIN_ID, 0, seq)
}

#[test]
fn check_tx_queues_sequence_n_plus_one_behind_pending_n() {
    let mut n = TestNode::builder().funded_accounts(2, FUND).build();
    assert_eq!(n.check_tx(&send(0, FEE)).code, 0);
    assert_eq!(n.check_tx(&send(1, FEE)).code, 0, "N+1 while N is pending");
    assert_eq!(n.check_tx(&send(2, FEE)).code, 0);
    let gap = n.check_tx(&send(4, FEE));
    assert_eq!((gap.codespace.as_str(), gap.code), ("sdk", 32), "{}", gap.log);
    let replay = n.check_tx(&send(1, FEE));
    assert_eq!(replay.code, 32, "{}", replay.log);

    // The block includes 0 and 1; after commit the mempool rechecks what is left.
    let resp = n.execute_block(vec![send(0, FEE), send(1, FEE)]);
    assert!(resp.tx_results.iter().all(|r| r.code == 0));
    let recheck = Application::check_tx(&n.app, pb::RequestCheckTx { tx: send(2, FEE).into(), r#type: pb::CheckTxType::Recheck as i32 });
    assert_eq!(recheck.code, 0, "{}", recheck.log);
    assert_eq!(n.check_tx(&send(3, FEE)).code, 0);
    assert_eq!(n.check_tx(&send(1, FEE)).code, 32, "committed sequence is a replay now");
}

#[test]
fn check_tx_counts_pending_fees_against_the_balance() {
    let n = TestNode::builder().funded_accounts(2, FUND).build();
    let big = FUND / 2 + 1;
    assert_eq!(n.check_tx(&send(0, big)).code, 0);
    let second = n.check_tx(&send(1, big));
    assert_eq!((second.codespace.as_str(), second.code), ("sdk", 5), "{}", second.log);
    assert!(second.log.contains("pending"), "{}", second.log);
}

/// Flip one byte of the first signature of a signed tx.
fn with_bad_signature(tx: &[u8]) -> Vec<u8> {
    use prost::Message;
    let mut raw = cosmos_sdk_proto::cosmos::tx::v1beta1::TxRaw::decode(tx).expect("TxRaw");
    raw.signatures[0][5] ^= 1;
    raw.encode_to_vec()
}

#[test]
fn signatures_check_tx_verified_are_not_verified_again_and_change_no_result() {
    use openledger_test_driver::test_ed25519_key;
    let build = || TestNode::builder().funded_accounts(3, FUND).fund(test_ed25519_key(7), FUND).build();
    // Node `a` sees the txs in CheckTx first, as a validator does; node `b` only in blocks.
    let (mut a, mut b) = (build(), build());
    let sign = |key: &txbuilder::SignerKey, number: u64, seq: u64| {
        let spec = TxSpec::new(vec![txbuilder::msg_send(&key.address(), &test_key(2).address(), 3)], FEE, 200_000);
        txbuilder::sign_tx(&spec, key, TEST_CHAIN_ID, number, seq)
    };
    // First-time signers (no key recorded yet), a second tx of one of them, ed25519.
    let txs = vec![sign(&test_key(0), 0, 0), sign(&test_key(1), 1, 0), sign(&test_key(0), 0, 1), sign(&test_ed25519_key(7), 3, 0)];
    for tx in &txs {
        let r = a.check_tx(tx);
        assert_eq!(r.code, 0, "{}", r.log);
    }
    assert_eq!(a.app.checked_txs(), txs.len(), "one entry per tx CheckTx verified");
    let bad = with_bad_signature(&sign(&test_key(1), 1, 1));
    let refused = a.check_tx(&bad);
    assert_eq!((refused.codespace.as_str(), refused.code), ("sdk", 4), "{}", refused.log);
    assert_eq!(a.app.checked_txs(), txs.len(), "a refused tx leaves no entry");

    // Block 1 holds three checked txs and the bad one (a proposer may include anything),
    // not txs[2], which the mempool rechecks after the commit.
    let block1 = vec![txs[0].clone(), txs[1].clone(), txs[3].clone(), bad];
    // (ProcessProposal rejects it — fail_safe.rs — so it is decided only if 2/3 of the
    // power accept it anyway; execution must still be exact.)
    let (ra, rb) = (a.execute_block_unchecked(block1.clone()), b.execute_block_unchecked(block1));
    let codes = |r: &pb::ResponseFinalizeBlock| r.tx_results.iter().map(|t| (t.code, t.gas_used)).collect::<Vec<_>>();
    assert_eq!(codes(&ra), codes(&rb));
    assert_eq!(ra.tx_results.iter().map(|t| t.code).collect::<Vec<_>>(), vec![0, 0, 0, 4], "the bad signature fails in the block");
    assert_eq!(a.app.checked_txs(), 1, "included txs leave the cache; txs[2] stays");
    let recheck = Application::check_tx(&a.app, pb::RequestCheckTx { tx: txs[2].clone().into(), r#type: pb::CheckTxType::Recheck as i32 });
    assert_eq!(recheck.code, 0, "{}", recheck.log);
    assert_eq!(a.app.checked_txs(), 1, "the recheck used the entry");

    let (ra, rb) = (a.execute_block(vec![txs[2].clone()]), b.execute_block(vec![txs[2].clone()]));
    assert_eq!((ra.tx_results[0].code, codes(&ra)), (0, codes(&rb)));
    assert_eq!(a.app_hashes, b.app_hashes, "same app hashes with and without CheckTx's results");
    assert_eq!(a.app.checked_txs(), 0);
}

fn send_from(from: u64, seq: u64, amount: u128, timeout_height: u64) -> Vec<u8> {
    let k = test_key(from);
    let mut spec = TxSpec::new(vec![txbuilder::msg_send(&k.address(), &test_key(3).address(), amount)], FEE, 200_000);
    spec.timeout_height = timeout_height;
    txbuilder::sign_tx(&spec, &k, TEST_CHAIN_ID, from, seq)
}

fn recheck(n: &TestNode, tx: &[u8]) -> pb::ResponseCheckTx {
    Application::check_tx(&n.app, pb::RequestCheckTx { tx: tx.to_vec().into(), r#type: pb::CheckTxType::Recheck as i32 })
}

/// After a commit CometBFT rechecks every tx left in the mempool. A tx this node accepted
/// is rechecked on what the block can change (sequences, the payer's balance, the
/// timeout height) and falls back to the full check otherwise; the codes are those of a
/// node that never saw the txs and rechecks them in full.
#[test]
fn rechecks_of_accepted_txs_give_the_codes_of_full_rechecks() {
    let mut seen = TestNode::builder().funded_accounts(4, FUND).build();
    let mut fresh = TestNode::builder().funded_accounts(4, FUND).build();
    // Each sender's first tx records its key (until then a recheck is always in full).
    let first: Vec<Vec<u8>> = (0..3).map(|i| send_from(i, 0, 1, 0)).collect();
    for n in [&mut seen, &mut fresh] {
        assert!(n.execute_block(first.clone()).tx_results.iter().all(|r| r.code == 0));
    }
    let height = seen.app.storage().latest_snapshot().version();
    // Sender 3 has never signed: its tx is accepted but always rechecked in full.
    assert_eq!(seen.check_tx(&send_from(3, 0, 1, 0)).code, 0);
    assert_eq!(seen.app.accepted_txs(), 0, "a first-time signer's tx takes no short recheck");

    // Accepted on `seen` only: a queue of three from sender 0; one from sender 1 that a
    // competing tx will replace; sender 2 emptying its balance, then a tx whose fee that
    // leaves unpaid; one from sender 0's queue tail with a timeout the next block passes.
    let mempool = vec![
        send_from(0, 1, 1, 0),
        send_from(0, 2, 1, 0),
        send_from(0, 3, 1, height + 2),
        send_from(1, 1, 1, 0),
        send_from(2, 1, FUND - 3 * FEE, 0),
        send_from(2, 2, 1, 0),
    ];
    for tx in &mempool {
        let r = seen.check_tx(tx);
        assert_eq!(r.code, 0, "{}", r.log);
    }
    assert_eq!(seen.app.accepted_txs(), 6);

    // The block: sender 0's first queued tx, a different tx of sender 1 with the same
    // sequence, and sender 2's big transfer. Then another empty block, past the timeout.
    let block = vec![mempool[0].clone(), send_from(1, 1, 2, 0), mempool[4].clone()];
    for n in [&mut seen, &mut fresh] {
        assert!(n.execute_block(block.clone()).tx_results.iter().all(|r| r.code == 0));
    }
    assert_eq!(seen.app.accepted_txs(), 4, "included txs leave the accepted set");
    let left = [&mempool[1], &mempool[2], &mempool[3], &mempool[5]];
    let codes = |n: &TestNode| left.iter().map(|tx| recheck(n, tx).code).collect::<Vec<u32>>();
    // Sender 0's queue holds; sender 1's tx lost its sequence (32); sender 2 cannot pay (5).
    assert_eq!(codes(&seen), vec![0, 0, 32, 5]);
    assert_eq!(codes(&fresh), vec![0, 0, 32, 5]);
    assert_eq!(seen.app.accepted_txs(), 2, "a tx that fails its recheck leaves the accepted set");

    for n in [&mut seen, &mut fresh] {
        n.execute_block(vec![]);
    }
    // Past the timeout height of sender 0's last tx: 30 (timeout), on both nodes alike.
    let after = |n: &TestNode| [recheck(n, &mempool[1]).code, recheck(n, &mempool[2]).code];
    assert_eq!(after(&seen), [0, 30]);
    assert_eq!(after(&fresh), [0, 30]);
}
