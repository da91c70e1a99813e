//! The tx decoder in every mode, then CheckTx (decode, fee, the ante step against a
//! funded chain): no input may panic, and a refusal is a code, never a crash.
#![no_main]
use libfuzzer_sys::fuzz_target;
use openledger_framework::ExecMode;
use std::sync::{Mutex, OnceLock};

fn node() -> &'static Mutex<openledger_test_driver::TestNode> {
    static NODE: OnceLock<Mutex<openledger_test_driver::TestNode>> = OnceLock::new();
    NODE.get_or_init(|| Mutex::new(openledger_test_driver::TestNode::builder().funded_accounts(4, 1_000_000_000).build()))
}

fuzz_target!(|data: &[u8]| {
    let params = openledger_app::genesis::default_auth_params();
    for mode in [ExecMode::Check, ExecMode::Recheck, ExecMode::Simulate, ExecMode::Proposal, ExecMode::Finalize] {
        if let Ok(tx) = openledger_app::exec::tx::decode(data, &params, mode) {
            assert!(!tx.signers().is_empty() && !tx.msgs().is_empty(), "a decoded tx has signers and messages");
        }
    }
    let n = node().lock().unwrap_or_else(|p| p.into_inner());
    let r = n.check_tx(data);
    assert!(r.code != 0 || r.gas_wanted > 0, "an accepted tx wants gas");
});
