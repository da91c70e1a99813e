//! The ante step's refusals. Each refused tx leaves no trace at all: the app hash of
//! the block that carries it equals the previous one.
use openledger_client::txbuilder::{self, SignerKey, TxSpec};
use openledger_test_driver::{test_ed25519_key, test_key, TestNode, TEST_CHAIN_ID};
use prost::Message;

const FUND: u128 = 1_000_000_000;
const FEE: u128 = 5_000;
const GAS: u64 = 200_000;

fn node() -> TestNode {
    TestNode::builder().funded_accounts(2, FUND).fund(test_ed25519_key(0), FUND).build()
}

/// The tx fails with (codespace, code) in CheckTx and in a block, and changes nothing.
fn assert_refused(n: &mut TestNode, tx: Vec<u8>, codespace: &str, code: u32, log_contains: &str) {
    let c = n.check_tx(&tx);
    assert_eq!((c.codespace.as_str(), c.code), (codespace, code), "CheckTx log: {}", c.log);
    assert!(c.log.contains(log_contains), "CheckTx log {:?} lacks {:?}", c.log, log_contains);
    let before = n.state_digest();
    let resp = n.execute_block_unchecked(vec![tx]);
    let r = &resp.tx_results[0];
    assert_eq!((r.codespace.as_str(), r.code), (codespace, code), "FinalizeBlock log: {}", r.log);
    assert_eq!(n.state_digest(), before, "a refused tx must not change state");
}

fn spec(from: &SignerKey, amount: u128) -> TxSpec {
    TxSpec::new(vec![txbuilder::msg_send(&from.address(), &test_key(1).address(), amount)], FEE, GAS)
}

#[test]
fn bad_signature_is_unauthorized() {
    let mut n = node();
    let a = test_key(0);
    let acct = n.account(&a.address()).unwrap();
    let mut raw = cosmos_sdk_proto::cosmos::tx::v1beta1::TxRaw::decode(
        txbuilder::sign_tx(&spec(&a, 1), &a, TEST_CHAIN_ID, acct.account_number, 0).as_slice(),
    )
    .unwrap();
    raw.signatures[0][10] ^= 1;
    assert_refused(&mut n, raw.encode_to_vec(), "sdk", 4, "signature verification failed");
}

#[test]
fn signature_by_another_key_is_unauthorized() {
    let mut n = node();
    let (a, other) = (test_key(0), test_key(1));
    let acct = n.account(&a.address()).unwrap();
    let s = spec(&a, 1);
    let body = s.body_bytes();
    let auth = s.auth_info_bytes(&a, 0);
    let sig = other.sign(&txbuilder::sign_bytes(&body, &auth, TEST_CHAIN_ID, acct.account_number));
    let tx = cosmos_sdk_proto::cosmos::tx::v1beta1::TxRaw { body_bytes: body, auth_info_bytes: auth, signatures: vec![sig] };
    assert_refused(&mut n, tx.encode_to_vec(), "sdk", 4, "signature verification failed");
}

#[test]
fn wrong_chain_id_is_unauthorized() {
    let mut n = node();
    let a = test_key(0);
    let acct = n.account(&a.address()).unwrap();
    let tx = txbuilder::sign_tx(&spec(&a, 1), &a, "another-chain", acct.account_number, 0);
    assert_refused(&mut n, tx, "sdk", 4, "chain-id (openledger-test)");
}

#[test]
fn wrong_account_number_is_unauthorized() {
    let mut n = node();
    let a = test_key(0);
    let tx = txbuilder::sign_tx(&spec(&a, 1), &a, TEST_CHAIN_ID, 77, 0);
    assert_refused(&mut n, tx, "sdk", 4, "account number (0)");
}

#[test]
fn wrong_sequence_and_replay_are_refused() {
    let mut n = node();
    let a = test_key(0);
    let acct = n.account(&a.address()).unwrap();
    let future = txbuilder::sign_tx(&spec(&a, 1), &a, TEST_CHAIN_ID, acct.account_number, 5);
    assert_refused(&mut n, future, "sdk", 32, "expected 0, got 5");

    let first = txbuilder::sign_tx(&spec(&a, 1), &a, TEST_CHAIN_ID, acct.account_number, 0);
    let resp = n.execute_block(vec![first.clone()]);
    assert_eq!(resp.tx_results[0].code, 0);
    // The same bytes again: a replay.
    assert_refused(&mut n, first, "sdk", 32, "expected 1, got 0");
}

#[test]
fn high_s_signature_is_refused() {
    use k256::elliptic_curve::ops::Neg;
    let mut n = node();
    let a = test_key(0);
    let acct = n.account(&a.address()).unwrap();
    let good = txbuilder::sign_tx(&spec(&a, 1), &a, TEST_CHAIN_ID, acct.account_number, 0);
    let mut raw = cosmos_sdk_proto::cosmos::tx::v1beta1::TxRaw::decode(good.as_slice()).unwrap();
    // (r, n - s) is the malleated twin of a valid (r, s): mathematically valid, high S.
    let sig = k256::ecdsa::Signature::from_slice(&raw.signatures[0]).unwrap();
    let (r, s) = sig.split_scalars();
    let high = k256::ecdsa::Signature::from_scalars(r, s.as_ref().neg()).unwrap();
    assert!(high.normalize_s().is_some(), "the twin is high-S");
    raw.signatures[0] = high.to_bytes().to_vec();
    assert_refused(&mut n, raw.encode_to_vec(), "sdk", 4, "signature verification failed");
}

#[test]
fn fee_below_node_minimum_is_refused_by_check_tx_only() {
    // 0.025 uopen per gas: 200,000 gas needs 5,000 uopen.
    let mut n = TestNode::builder().funded_accounts(2, FUND).min_gas_price_atto(25_000_000_000_000_000).build();
    let a = test_key(0);
    let acct = n.account(&a.address()).unwrap();
    let low = txbuilder::sign_tx(&TxSpec { fee: 4_999, ..spec(&a, 1) }, &a, TEST_CHAIN_ID, acct.account_number, 0);
    let c = n.check_tx(&low);
    assert_eq!((c.codespace.as_str(), c.code), ("sdk", 13), "{}", c.log);
    assert!(c.log.contains("required: 5000uopen"), "{}", c.log);
    let ok = txbuilder::sign_tx(&spec(&a, 1), &a, TEST_CHAIN_ID, acct.account_number, 0);
    assert_eq!(n.check_tx(&ok).code, 0);
    // The minimum is a node's mempool policy, not consensus: a block may carry it.
    let resp = n.execute_block(vec![low]);
    assert_eq!(resp.tx_results[0].code, 0);
}

#[test]
fn fee_above_balance_is_refused() {
    let mut n = node();
    let a = test_key(0);
    let acct = n.account(&a.address()).unwrap();
    let tx = txbuilder::sign_tx(&TxSpec { fee: FUND + 1, ..spec(&a, 1) }, &a, TEST_CHAIN_ID, acct.account_number, 0);
    assert_refused(&mut n, tx, "sdk", 5, "insufficient funds");
}

#[test]
fn out_of_gas_in_ante_changes_nothing_and_in_messages_keeps_fee() {
    let mut n = node();
    let a = test_key(0);
    let acct = n.account(&a.address()).unwrap();
    // Too little gas even for the tx's size.
    let tiny = txbuilder::sign_tx(&TxSpec { gas_limit: 100, ..spec(&a, 1) }, &a, TEST_CHAIN_ID, acct.account_number, 0);
    assert_refused(&mut n, tiny, "sdk", 11, "out of gas");

    // Enough for the ante step, not for the message: fee and sequence stick.
    let ante_only = {
        let probe = txbuilder::sign_tx(&spec(&a, 1), &a, TEST_CHAIN_ID, acct.account_number, 0);
        let c = n.check_tx(&probe);
        assert_eq!(c.code, 0, "{}", c.log);
        c.gas_used as u64 + 10
    };
    let tx = txbuilder::sign_tx(&TxSpec { gas_limit: ante_only, ..spec(&a, 1) }, &a, TEST_CHAIN_ID, acct.account_number, 0);
    let resp = n.execute_block(vec![tx]);
    let r = &resp.tx_results[0];
    assert_eq!((r.codespace.as_str(), r.code), ("sdk", 11), "{}", r.log);
    assert_eq!(r.gas_used as u64, ante_only, "a failed tx reports gas used capped at its limit");
    assert_eq!(n.balance(&a.address()), FUND - FEE);
    assert_eq!(n.balance(&test_key(1).address()), FUND);
    assert_eq!(n.account(&a.address()).unwrap().sequence, 1);
}

#[test]
fn gas_is_deterministic_for_the_same_tx() {
    let run = || {
        let mut n = node();
        let a = test_key(0);
        let tx = n.send_tx(&a, &test_key(1).address(), 7, FEE, GAS);
        n.execute_block(vec![tx]).tx_results[0].gas_used
    };
    assert_eq!(run(), run());
}

#[test]
fn ed25519_accounts_sign_and_pay() {
    let mut n = node();
    let e = test_ed25519_key(0);
    let tx = n.send_tx(&e, &test_key(1).address(), 42, FEE, GAS);
    let resp = n.execute_block(vec![tx]);
    assert_eq!(resp.tx_results[0].code, 0, "{}", resp.tx_results[0].log);
    assert_eq!(n.balance(&test_key(1).address()), FUND + 42);
    // A bad ed25519 signature is refused like a secp256k1 one.
    let acct = n.account(&e.address()).unwrap();
    let mut raw = cosmos_sdk_proto::cosmos::tx::v1beta1::TxRaw::decode(
        txbuilder::sign_tx(&spec(&e, 1), &e, TEST_CHAIN_ID, acct.account_number, acct.sequence).as_slice(),
    )
    .unwrap();
    raw.signatures[0][0] ^= 0x80;
    assert_refused(&mut n, raw.encode_to_vec(), "sdk", 4, "signature verification failed");
}

#[test]
fn unknown_sender_account_is_refused() {
    let mut n = node();
    let stranger = test_key(99);
    let tx = txbuilder::sign_tx(&spec(&stranger, 1), &stranger, TEST_CHAIN_ID, 0, 0);
    assert_refused(&mut n, tx, "sdk", 9, "does not exist");
}

#[test]
fn memo_too_long_and_missing_signature_are_refused() {
    let mut n = node();
    let a = test_key(0);
    let acct = n.account(&a.address()).unwrap();
    let long = txbuilder::sign_tx(&TxSpec { memo: "x".repeat(257), ..spec(&a, 1) }, &a, TEST_CHAIN_ID, acct.account_number, 0);
    assert_refused(&mut n, long, "sdk", 12, "memo too large");
    let unsigned = {
        let s = spec(&a, 1);
        cosmos_sdk_proto::cosmos::tx::v1beta1::TxRaw {
            body_bytes: s.body_bytes(),
            auth_info_bytes: s.auth_info_bytes(&a, 0),
            signatures: vec![],
        }
        .encode_to_vec()
    };
    assert_refused(&mut n, unsigned, "sdk", 4, "wrong number of signatures");
}

/// Signatures are verified while the block executes speculatively; a bad one among
/// good ones must leave exactly the state a block without it would. (ProcessProposal
/// rejects such a block — `fail_safe.rs` — so it reaches FinalizeBlock only if 2/3 of
/// the power accepted it anyway; execution must still be exact.)
#[test]
fn bad_signature_among_good_txs_matches_the_block_without_it() {
    let build = || TestNode::builder().funded_accounts(3, FUND).build();
    let (a, b, c) = (test_key(0), test_key(1), test_key(2));
    let mut with_bad = build();
    let good_a = with_bad.send_tx(&a, &c.address(), 11, FEE, GAS);
    let good_c = with_bad.send_tx(&c, &a.address(), 22, FEE, GAS);
    let mut bad_b =
        cosmos_sdk_proto::cosmos::tx::v1beta1::TxRaw::decode(with_bad.send_tx(&b, &a.address(), 33, FEE, GAS).as_slice()).unwrap();
    bad_b.signatures[0][5] ^= 1;
    let resp = with_bad.execute_block_unchecked(vec![good_a.clone(), bad_b.encode_to_vec(), good_c.clone()]);
    let codes: Vec<u32> = resp.tx_results.iter().map(|r| r.code).collect();
    assert_eq!(codes, vec![0, 4, 0]);

    let mut without = build();
    without.execute_block(vec![good_a, good_c]);
    assert_eq!(with_bad.state_digest(), without.state_digest());
}

/// From their second block on, signers' account numbers are known before the block's
/// reads finish and verification starts right after decoding: a bad signature there
/// must be caught exactly the same way.
#[test]
fn bad_signature_from_a_signer_seen_in_an_earlier_block_matches_the_block_without_it() {
    let build = || TestNode::builder().funded_accounts(3, FUND).build();
    let (a, b, c) = (test_key(0), test_key(1), test_key(2));
    let first_block = |n: &mut TestNode| {
        let txs = vec![
            n.send_tx(&a, &b.address(), 1, FEE, GAS),
            n.send_tx(&b, &c.address(), 2, FEE, GAS),
            n.send_tx(&c, &a.address(), 3, FEE, GAS),
        ];
        let resp = n.execute_block(txs);
        assert!(resp.tx_results.iter().all(|r| r.code == 0));
    };
    let mut with_bad = build();
    first_block(&mut with_bad);
    let good_a = with_bad.send_tx(&a, &c.address(), 11, FEE, GAS);
    let good_c = with_bad.send_tx(&c, &a.address(), 22, FEE, GAS);
    let mut bad_b =
        cosmos_sdk_proto::cosmos::tx::v1beta1::TxRaw::decode(with_bad.send_tx(&b, &a.address(), 33, FEE, GAS).as_slice()).unwrap();
    bad_b.signatures[0][7] ^= 1;
    let resp = with_bad.execute_block_unchecked(vec![good_a.clone(), bad_b.encode_to_vec(), good_c.clone()]);
    let codes: Vec<u32> = resp.tx_results.iter().map(|r| r.code).collect();
    assert_eq!(codes, vec![0, 4, 0]);

    let mut without = build();
    first_block(&mut without);
    without.execute_block(vec![good_a, good_c]);
    assert_eq!(with_bad.state_digest(), without.state_digest());
}
