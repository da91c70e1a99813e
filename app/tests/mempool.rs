//! CheckTx knows what it has already accepted: a sender queues sequence N+1 behind a
//! pending N, gaps and replays are refused, and the view resets after each commit.
use openledger_app::testing::{test_key, TestNode, TEST_CHAIN_ID};
use openledger_cli::txbuilder::{self, TxSpec};
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
