//! What the app's benchmarks share (each includes it with `mod common;`): environment
//! knobs, signing with the ceiling's inputs kept, and the ceiling itself — the
//! secp256k1 verification rate, measured in the same run on the same cores.
#![allow(dead_code)] // each bench uses a different part
use std::time::Instant;

use openledger_client::txbuilder::{self, SignerKey, TxSpec};
use openledger_test_driver::TEST_CHAIN_ID;

/// One signature of the ceiling: key already parsed, the signed bytes, the signature.
pub type SigItem = (k256::ecdsa::VerifyingKey, Vec<u8>, k256::ecdsa::Signature);

pub fn env(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

pub fn env_flag(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| !v.is_empty() && v != "0")
}

/// The node's allocator settings, then logs to stderr at `OPENLEDGER_LOG` (default warn).
pub fn init_process() {
    openledgerd::allocator::configure();
    tracing_subscriber::fmt()
        .with_env_filter(std::env::var("OPENLEDGER_LOG").unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .init();
}

/// The thread count the node uses for parallel pre-verification.
pub fn threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Verify `items` on `threads` threads; returns sigs/s.
pub fn verification_rate(items: &[SigItem], threads: usize) -> f64 {
    use k256::ecdsa::signature::Verifier;
    let start = Instant::now();
    let chunk = items.len().div_ceil(threads).max(1);
    std::thread::scope(|s| {
        for part in items.chunks(chunk) {
            s.spawn(move || {
                for (vk, msg, sig) in part {
                    assert!(vk.verify(msg, sig).is_ok());
                }
            });
        }
    });
    items.len() as f64 / start.elapsed().as_secs_f64()
}

/// A signed tx (the same `txbuilder::sign_tx` the CLI uses) and, for a secp256k1 key,
/// its ceiling item.
pub fn sign(spec: &TxSpec, key: &SignerKey, account_number: u64, sequence: u64) -> (Vec<u8>, Option<SigItem>) {
    let tx = txbuilder::sign_tx(spec, key, TEST_CHAIN_ID, account_number, sequence);
    let item = match key {
        SignerKey::Secp256k1(k) => {
            let msg = txbuilder::sign_bytes(&spec.body_bytes(), &spec.auth_info_bytes(key, sequence), TEST_CHAIN_ID, account_number);
            let raw = <cosmos_sdk_proto::cosmos::tx::v1beta1::TxRaw as prost::Message>::decode(tx.as_slice()).expect("own tx decodes");
            let sig = k256::ecdsa::Signature::from_slice(&raw.signatures[0]).expect("64-byte signature");
            Some((*k.verifying_key(), msg, sig))
        }
        SignerKey::Ed25519(_) => None,
    };
    (tx, item)
}

/// `sign` for many txs on `threads` threads, in order. Each job is (spec, key,
/// account number, sequence).
pub fn sign_all(jobs: &[(TxSpec, &SignerKey, u64, u64)], threads: usize) -> Vec<(Vec<u8>, Option<SigItem>)> {
    let chunk = jobs.len().div_ceil(threads).max(1);
    std::thread::scope(|s| {
        let handles: Vec<_> = jobs
            .chunks(chunk)
            .map(|part| s.spawn(move || part.iter().map(|(spec, key, n, seq)| sign(spec, key, *n, *seq)).collect::<Vec<_>>()))
            .collect();
        handles.into_iter().flat_map(|h| h.join().expect("signing thread")).collect()
    })
}

/// The `p`-th percentile (0..=100) of `sorted` (nearest rank): the load generator's.
pub use openledger_loadgen::percentile;

pub fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    percentile(&v, 50.0)
}

/// A message as the chain decodes and checks it (the only way to make one).
pub fn checked<M: openledger_framework::ModuleMsg, P: prost::Message + prost::Name>(p: &P) -> M {
    M::decode(&P::type_url(), &p.encode_to_vec()).expect("a message of this module").expect("a well-formed message")
}
