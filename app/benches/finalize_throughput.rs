//! A validator's block path — ProcessProposal, FinalizeBlock, Commit — for blocks of
//! signed transfers, beside the secp256k1 signature-verification rate measured in the
//! same run on the same cores.
//!
//!     cargo bench -p openledger-app --bench finalize_throughput
//!
//! Environment: BENCH_ACCOUNTS (default 10000), BENCH_TXS_PER_BLOCK (5000),
//! BENCH_BLOCKS (8), BENCH_PROPOSAL (1; 0 skips ProcessProposal, so FinalizeBlock
//! verifies the signatures itself: the figure measured before ProcessProposal checked
//! signatures). Output: one line per block and a summary with the ratio pipeline /
//! ceiling. The ceiling is verification alone, with the same thread count the node uses
//! for its parallel pre-verification.
use std::time::Instant;

/// The allocator `openledgerd` runs with (configured in `common::init_process`).
#[global_allocator]
static GLOBAL: openledgerd::allocator::Allocator = openledgerd::allocator::Allocator;

mod common;

use common::{env, verification_rate};
use openledger_client::txbuilder::{self, SignerKey, TxSpec};
use openledger_test_driver::{test_key, TestNode};

fn main() {
    common::init_process();
    let accounts = env("BENCH_ACCOUNTS", 10_000) as u64;
    let per_block = env("BENCH_TXS_PER_BLOCK", 5_000);
    let blocks = env("BENCH_BLOCKS", 8);
    let proposal = env("BENCH_PROPOSAL", 1) != 0;
    let threads = common::threads();
    assert!(per_block as u64 <= accounts, "each sender signs once per block");

    eprintln!("setting up {accounts} funded accounts…");
    let keys: Vec<SignerKey> = (0..accounts).map(test_key).collect();
    let mut builder = TestNode::builder();
    for k in &keys {
        builder = builder.fund(k.clone(), 1_000_000_000);
    }
    let mut node = builder.build();

    eprintln!("signing {} transfers…", per_block * blocks);
    // Block b: senders b*per_block .. (mod accounts), each sending to the next account.
    let mut block_txs: Vec<Vec<Vec<u8>>> = Vec::with_capacity(blocks);
    let mut ceiling_items = Vec::new();
    let mut sequences = vec![0u64; accounts as usize];
    for b in 0..blocks {
        let mut txs = Vec::with_capacity(per_block);
        for j in 0..per_block {
            let i = (b * per_block + j) % accounts as usize;
            let from = &keys[i];
            let to = keys[(i + 1) % accounts as usize].address();
            let spec = TxSpec::new(vec![txbuilder::msg_send(&from.address(), &to, 1)], 5_000, 200_000);
            // Genesis assigns account numbers in funding order.
            let (tx, item) = common::sign(&spec, from, i as u64, sequences[i]);
            sequences[i] += 1;
            ceiling_items.extend(item);
            txs.push(tx);
        }
        block_txs.push(txs);
    }

    // Ceiling, measured in this run on the same cores, interleaved with the pipeline:
    // right before and right after each block, verify that block's signatures (keys
    // already parsed) with the node's thread count; the block's ceiling is the mean of
    // the two times. On a shared VM whose speed drifts within seconds, bracketing each
    // block with its ceiling keeps most of the drift out of the ratio.
    let single = verification_rate(&ceiling_items[..ceiling_items.len().min(2000)], 1);
    let mut total_txs = 0usize;
    let mut total_secs = 0f64;
    let mut ceiling_secs = 0f64;
    let mut ratios = Vec::new();
    for (b, txs) in block_txs.into_iter().enumerate() {
        let n = txs.len();
        let sigs = &ceiling_items[b * per_block..(b + 1) * per_block];
        let before = verification_rate(sigs, threads);
        let tp = Instant::now();
        if proposal {
            let pp = tendermint_abci::Application::process_proposal(
                &node.app,
                tendermint_proto::v0_38::abci::RequestProcessProposal {
                    txs: txs.iter().cloned().map(Into::into).collect(),
                    height: b as i64 + 1,
                    ..Default::default()
                },
            );
            assert_eq!(pp.status, 1, "ProcessProposal accepts");
        }
        let t0 = Instant::now();
        let resp = node.finalize_only(txs);
        let t1 = Instant::now();
        node.commit();
        let t2 = Instant::now();
        let after = verification_rate(sigs, threads);
        let ceiling_rate = 2.0 / (1.0 / before + 1.0 / after);
        let failed = resp.tx_results.iter().filter(|r| r.code != 0).count();
        assert_eq!(failed, 0, "first failure: {:?}", resp.tx_results.iter().find(|r| r.code != 0).map(|r| &r.log));
        let secs = (t2 - tp).as_secs_f64();
        let rate = n as f64 / secs;
        println!(
            "block {}: {n} txs  process {:.0} ms  finalize {:.0} ms  commit {:.0} ms  {rate:.0} tx/s  ceiling {ceiling_rate:.0} sig/s ({before:.0} before, {after:.0} after)  ratio {:.2}",
            b + 1,
            (t0 - tp).as_secs_f64() * 1e3,
            (t1 - t0).as_secs_f64() * 1e3,
            (t2 - t1).as_secs_f64() * 1e3,
            rate / ceiling_rate
        );
        total_txs += n;
        total_secs += secs;
        ceiling_secs += sigs.len() as f64 / ceiling_rate;
        ratios.push(rate / ceiling_rate);
    }
    ratios.sort_by(f64::total_cmp);
    let pipeline = total_txs as f64 / total_secs;
    let ceiling = total_txs as f64 / ceiling_secs;
    println!("accounts {accounts}, blocks {blocks} x {per_block} txs, threads {threads}");
    println!("secp256k1 verify ceiling ({threads} threads): {ceiling:.0} sig/s (1 thread: {single:.0} sig/s)");
    let path = if proposal { "ProcessProposal+FinalizeBlock+Commit" } else { "FinalizeBlock+Commit" };
    println!("{path} pipeline: {pipeline:.0} tx/s");
    println!(
        "ratio pipeline / ceiling: {:.2} (per-block median {:.2}, range {:.2}–{:.2})",
        pipeline / ceiling,
        ratios[ratios.len() / 2],
        ratios[0],
        ratios[ratios.len() - 1]
    );
}
