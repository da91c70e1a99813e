//! Nothing is lost: Commit is the only write; Info reports the last committed height
//! and app hash; a crash between FinalizeBlock and Commit loses only the uncommitted
//! block, which re-executes to the same hash.
use openledger_test_driver::{test_key, TestNode};
use tendermint_abci::Application;
use tendermint_proto::v0_38::abci as pb;

#[test]
fn info_reports_last_committed_height_and_hash_after_restart() {
    let mut n = TestNode::builder().funded_accounts(2, 1_000_000).build();
    let info0 = Application::info(&n.app, pb::RequestInfo::default());
    assert_eq!(info0.last_block_height, 0);
    assert_eq!(info0.last_block_app_hash.to_vec(), n.genesis_app_hash);
    for _ in 0..3 {
        let tx = n.send_tx(&test_key(0), &test_key(1).address(), 5, 5000, 200_000);
        n.execute_block(vec![tx]);
    }
    let hash3 = n.last_app_hash();
    let n = n.restart();
    let info = Application::info(&n.app, pb::RequestInfo::default());
    assert_eq!(info.last_block_height, 3);
    assert_eq!(info.last_block_app_hash.to_vec(), hash3);
    assert_eq!(n.balance(&test_key(1).address()), 1_000_015);
}

#[test]
fn crash_between_finalize_and_commit_replays_to_the_same_hash() {
    let mut n = TestNode::builder().funded_accounts(2, 1_000_000).build();
    n.execute_block(vec![]);
    let tx = n.send_tx(&test_key(0), &test_key(1).address(), 5, 5000, 200_000);
    let staged = n.finalize_only(vec![tx.clone()]);
    // Crash: nothing of block 2 was written.
    let mut n = n.restart();
    let info = Application::info(&n.app, pb::RequestInfo::default());
    assert_eq!(info.last_block_height, 1);
    assert_eq!(n.balance(&test_key(1).address()), 1_000_000);
    // CometBFT replays block 2: same result, same hash.
    let replayed = n.execute_block(vec![tx]);
    assert_eq!(replayed.app_hash, staged.app_hash);
    assert_eq!(n.balance(&test_key(1).address()), 1_000_005);
}

#[test]
fn init_chain_again_after_a_crash_before_block_one_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let n = TestNode::builder().funded_accounts(2, 1_000_000).dir(dir.path()).build();
    let genesis = n.genesis_app_hash.clone();
    let n = n.restart();
    let info = Application::info(&n.app, pb::RequestInfo::default());
    assert_eq!(info.last_block_height, 0);
    drop(n);
    // CometBFT sees height 0 and calls InitChain again: the stored genesis is kept.
    let again = TestNode::builder().funded_accounts(2, 1_000_000).dir(dir.path()).build();
    assert_eq!(again.genesis_app_hash, genesis);
}
