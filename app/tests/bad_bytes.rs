//! Bytes from the network or a proposer can be anything: each gets a code, never a panic.
use openledger_client::txbuilder::{self, TxSpec};
use openledger_test_driver::{test_key, TestNode, TEST_CHAIN_ID};
use tendermint_abci::Application;
use tendermint_proto::v0_38::abci as pb;

fn garbage() -> Vec<(&'static str, Vec<u8>)> {
    let good = {
        let n = TestNode::builder().funded_accounts(2, 1_000_000).build();
        n.send_tx(&test_key(0), &test_key(1).address(), 1, 5000, 200_000)
    };
    let mut deep = Vec::new();
    for _ in 0..2000 {
        deep.extend_from_slice(&[0x0a, 0x80, 0x01]); // nested length-delimited fields
    }
    vec![
        ("empty", vec![]),
        ("undecodable", vec![0xff; 40]),
        ("truncated", good[..good.len() / 2].to_vec()),
        ("one byte short", good[..good.len() - 1].to_vec()),
        ("oversized", vec![0x0a; 70 * 1024]),
        ("deeply nested", deep),
        ("random", (0..500u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect()),
    ]
}

#[test]
fn check_tx_answers_bad_bytes_with_a_code() {
    let n = TestNode::builder().funded_accounts(2, 1_000_000).build();
    for (what, bytes) in garbage() {
        let r = n.check_tx(&bytes);
        assert_ne!(r.code, 0, "{what} accepted");
        assert_eq!(r.codespace, "sdk", "{what}: {}", r.log);
        assert!(!r.log.is_empty(), "{what} has no log");
    }
    let oversized = n.check_tx(&vec![0x0a; 70 * 1024]);
    assert_eq!(oversized.code, 21, "tx too large: {}", oversized.log);
}

#[test]
fn process_proposal_rejects_and_prepare_proposal_drops_bad_bytes() {
    let n = TestNode::builder().funded_accounts(2, 1_000_000).build();
    let good = n.send_tx(&test_key(0), &test_key(1).address(), 1, 5000, 200_000);
    for (what, bytes) in garbage() {
        let pp = Application::process_proposal(
            &n.app,
            pb::RequestProcessProposal { txs: vec![good.clone().into(), bytes.clone().into()], height: 1, ..Default::default() },
        );
        assert_eq!(pp.status, pb::response_process_proposal::ProposalStatus::Reject as i32, "{what} accepted in a proposal");
        let prep = Application::prepare_proposal(
            &n.app,
            pb::RequestPrepareProposal {
                txs: vec![bytes.into(), good.clone().into()],
                max_tx_bytes: 1 << 20,
                height: 1,
                ..Default::default()
            },
        );
        assert_eq!(prep.txs.len(), 1, "{what} not dropped");
        assert_eq!(prep.txs[0].to_vec(), good);
    }
}

#[test]
fn prepare_proposal_respects_max_tx_bytes() {
    let n = TestNode::builder().funded_accounts(2, 1_000_000).build();
    let a = test_key(0);
    let spec = TxSpec::new(vec![txbuilder::msg_send(&a.address(), &test_key(1).address(), 1)], 5000, 200_000);
    let txs: Vec<Vec<u8>> = (0..10).map(|seq| txbuilder::sign_tx(&spec, &a, TEST_CHAIN_ID, 0, seq)).collect();
    let prep = Application::prepare_proposal(
        &n.app,
        pb::RequestPrepareProposal {
            txs: txs.iter().cloned().map(Into::into).collect(),
            max_tx_bytes: txs[..3].iter().map(Vec::len).sum::<usize>() as i64,
            height: 1,
            ..Default::default()
        },
    );
    assert_eq!(prep.txs.len(), 3);
}

#[test]
fn finalize_block_with_bad_bytes_from_a_byzantine_proposer_gives_codes() {
    let mut n = TestNode::builder().funded_accounts(2, 1_000_000).build();
    let good = n.send_tx(&test_key(0), &test_key(1).address(), 1, 5000, 200_000);
    let mut txs: Vec<Vec<u8>> = garbage().into_iter().map(|(_, b)| b).collect();
    txs.push(good);
    let resp = n.execute_block_unchecked(txs);
    let codes: Vec<u32> = resp.tx_results.iter().map(|r| r.code).collect();
    assert!(codes[..codes.len() - 1].iter().all(|c| *c != 0), "{codes:?}");
    assert_eq!(*codes.last().unwrap(), 0, "the good tx still executes");
}
