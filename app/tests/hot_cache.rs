//! The hot cache (app/src/prefetch.rs) keeps committed values of accounts across
//! blocks. These tests prove it never changes a result: a node that keeps its cache and
//! a node restarted after every block (so its cache is always empty) produce the same
//! app hashes, including when a cached account is written by a path no tx hinted
//! (fees paid to a validator's operator at end of block) and then spent from.
use openledger_test_driver::{test_key, TestNode, TestValidator};

fn node() -> TestNode {
    TestNode::builder()
        .funded_accounts(4, 10_000_000)
        // Validator 0's operator is the funded account test_key(0): it sends, then
        // receives fees at end of block, then spends them.
        .validator(TestValidator { consensus_address: [1; 20], power: 1, operator: test_key(0).address() })
        .build()
}

/// The blocks: (sender, recipient, amount) per tx; `None` amount = the sender's whole
/// balance minus the fee, read from the node at that moment.
fn run(restart_every_block: bool) -> (Vec<Vec<u8>>, u128) {
    let mut n = node();
    let fee = 10_000u128;
    let op = test_key(0);
    let blocks: Vec<Vec<(u64, u64, Option<u128>)>> = vec![
        vec![(0, 1, Some(1)), (2, 3, Some(5))], // op cached by its own send; fee 2×10,000 waits
        vec![(1, 2, Some(7))],                  // end block pays 20,000 to op: op not hinted
        vec![(3, 1, Some(9))],                  // another payout to op, still not hinted
        vec![(0, 2, None)],                     // op spends everything, fees included
        vec![(2, 0, Some(11))],                 // op receives again after being emptied
    ];
    for block in blocks {
        let txs: Vec<Vec<u8>> = block
            .iter()
            .map(|(from, to, amount)| {
                let amount = amount.unwrap_or_else(|| n.balance(&test_key(*from).address()) - fee);
                n.send_tx(&test_key(*from), &test_key(*to).address(), amount, fee, 200_000)
            })
            .collect();
        let resp = n.execute_block(txs);
        assert!(resp.tx_results.iter().all(|r| r.code == 0), "every tx succeeds: {:?}", resp.tx_results);
        if restart_every_block {
            n = n.restart();
        }
    }
    let op_balance = n.balance(&op.address());
    (n.app_hashes.clone(), op_balance)
}

#[test]
fn cached_accounts_see_end_of_block_payouts_and_match_a_node_without_cache() {
    let (cached, op_cached) = run(false);
    let (fresh, op_fresh) = run(true);
    assert_eq!(cached, fresh, "app hashes with the hot cache equal those of a node restarted every block");
    assert_eq!(op_cached, op_fresh);
    // Block 4 emptied op; its end paid op that block's fee (10,000); block 5 sent op 11
    // and its end paid op block 5's fee (10,000).
    assert_eq!(op_cached, 11 + 10_000 + 10_000);
}
