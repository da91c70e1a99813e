//! ProcessProposal, then FinalizeBlock and Commit, of an arbitrary list of txs on one
//! growing chain (the driver checks every invariant after each block). The input is a
//! list of u16-length-prefixed txs.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::sync::{Mutex, OnceLock};
use tendermint_abci::Application;
use tendermint_proto::v0_38::abci as pb;

fn node() -> &'static Mutex<openledger_test_driver::TestNode> {
    static NODE: OnceLock<Mutex<openledger_test_driver::TestNode>> = OnceLock::new();
    NODE.get_or_init(|| Mutex::new(openledger_test_driver::TestNode::builder().funded_accounts(4, 1_000_000_000).build()))
}

fn txs(mut data: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    while data.len() >= 2 && out.len() < 64 {
        let len = (u16::from_le_bytes([data[0], data[1]]) as usize).min(data.len() - 2);
        out.push(data[2..2 + len].to_vec());
        data = &data[2 + len..];
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let txs = txs(data);
    let mut n = node().lock().unwrap_or_else(|p| p.into_inner());
    let height = n.height as i64 + 1;
    let req = pb::RequestProcessProposal { txs: txs.iter().cloned().map(Into::into).collect(), height, ..Default::default() };
    let _ = Application::process_proposal(&n.app, req);
    let prepared = Application::prepare_proposal(
        &n.app,
        pb::RequestPrepareProposal {
            txs: txs.iter().cloned().map(Into::into).collect(),
            max_tx_bytes: 1 << 22,
            height,
            ..Default::default()
        },
    );
    let req = pb::RequestProcessProposal { txs: prepared.txs.clone(), height, ..Default::default() };
    let status = Application::process_proposal(&n.app, req).status;
    assert_eq!(status, pb::response_process_proposal::ProposalStatus::Accept as i32, "a prepared proposal is accepted");
    // Whatever CometBFT decided: FinalizeBlock must give a result per tx, and Commit.
    let resp = n.execute_block_unchecked(txs.clone());
    assert_eq!(resp.tx_results.len(), txs.len());
});
