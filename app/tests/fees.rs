//! Fees collected in a block go to the validators that signed the last commit, in
//! proportion to voting power; remainders stay in the fee collector for the next block.
use openledger_framework::Address;
use openledger_test_driver::{event_attr, test_key, TestNode, TestValidator};
use openledger_token::fee_collector;

#[test]
fn fees_are_paid_to_operators_by_voting_power_and_conserved() {
    let (op1, op2, op3) = (Address([0xa1; 20]), Address([0xa2; 20]), Address([0xa3; 20]));
    let mut n = TestNode::builder()
        .funded_accounts(2, 10_000_000)
        .validator(TestValidator { consensus_address: [1; 20], power: 2, operator: op1 })
        .validator(TestValidator { consensus_address: [2; 20], power: 1, operator: op2 })
        .validator(TestValidator { consensus_address: [3; 20], power: 1, operator: op3 })
        .build();
    // Height 1 has no last commit: the fee waits in the collector.
    let tx = n.send_tx(&test_key(0), &test_key(1).address(), 1, 10_001, 200_000);
    n.execute_block(vec![tx]);
    assert_eq!(n.balance(&fee_collector()), 10_001);
    // Height 2: 10,001 split 2:1:1 → 5,000 / 2,500 / 2,500, remainder 1 stays.
    let resp = n.execute_block(vec![]);
    assert_eq!(n.balance(&op1), 5_000);
    assert_eq!(n.balance(&op2), 2_500);
    assert_eq!(n.balance(&op3), 2_500);
    assert_eq!(n.balance(&fee_collector()), 1);
    assert_eq!(event_attr(&resp.events, "openledger.token.v1.EventFeesDistributed", "amount").as_deref(), Some("5000"));
}
