//! One datanet grown to 100,000 accepted contributions through the real app (signed
//! txs, ABCI FinalizeBlock + Commit on RocksDB, `openledgerd`'s allocator), to show
//! that no datanet operation costs more as the datanet grows (beyond the logarithm of
//! its size):
//!
//! 1. submit: blocks of `MsgSubmitContribution` txs (one per tx; every other one with
//!    a fingerprint of K hashes), per slice of 10% of the datanet;
//! 2. review: blocks of `MsgReviewContribution` (accept; many per curator tx), per
//!    slice, with a `MsgPublishVersion` block at 1%, 10%, 20%, … 100% accepted;
//! 3. end-of-block stake refunds when the challenge window of those reviews ends;
//! 4. the node's real gRPC server, in process: the contributions list paged with
//!    `next_key` (all of it, and the accepted list), pages at the start vs the end,
//!    per contributor, empty status lists, offset paging, inclusion proofs (verified);
//! 5. bytes of state per contribution with a one-hash and a K-hash fingerprint, read from the
//!    store, and the RocksDB directory's growth.
//!
//! Throughput is reported beside a ceiling measured in the same run on the same cores:
//! the secp256k1 verification rate (keys parsed, the node's thread count), paired with
//! each block (submit blocks: that block's own signatures; other blocks: a fixed sample
//! of 5,000 from the submit phase), as in `finalize_throughput`. Each datanet handler
//! is also timed alone (in process, on a throwaway overlay of the committed state) at
//! every size, and gas per contribution is printed: a deterministic measure of work.
//!
//!     cargo bench -p openledger-app --bench datanet_scale
//!
//! Environment: DATANET_BENCH_CONTRIBUTIONS (default 100000), DATANET_BENCH_BLOCK
//! (submit txs and reviews per block, 5000), DATANET_BENCH_CONTRIBUTORS (n/10, at
//! least one block's worth), DATANET_BENCH_CURATORS (4, besides the owner),
//! DATANET_BENCH_REVIEWS_PER_TX (24: accepting a 64-hash fingerprint writes its index
//! entries, ≈ 5,200 gas a hash, so 48 a tx outgrew the 10 M gas limit),
//! DATANET_BENCH_FINGERPRINT (hashes, 64),
//! DATANET_BENCH_REPS (handler timing repetitions, 200), DATANET_BENCH_SAMPLES (gRPC
//! pages at the start and at the end, 500 each); DATANET_BENCH_QUICK=1 is 10,000
//! contributions in blocks of 1,000.
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Instant;

/// The allocator `openledgerd` runs with (configured in `common::init_process`).
#[global_allocator]
static GLOBAL: openledgerd::allocator::Allocator = openledgerd::allocator::Allocator;

mod common;

use cnidarium::{StateDelta, StateRead};
use common::{checked, env, env_flag, median, percentile, verification_rate, SigItem};
use cosmos_sdk_proto::Any;
use futures::StreamExt;
use openledger_client::txbuilder::{SignerKey, TxSpec};
use openledger_datanet::msg::DatanetMsg;
use openledger_datanet::state_ext::DatanetRead;
use openledger_framework::Address;
use openledger_framework::{ModuleMsg, MsgCtx};
use openledger_proto::cosmos::base::query::v1beta1::PageRequest;
use openledger_proto::cosmos::base::v1beta1::Coin;
use openledger_proto::openledger::datanet::v1 as dn;
use openledger_test_driver::{test_key, TestNode};
use prost::Message;
use rand::{Rng, SeedableRng};
use sha2::{Digest, Sha256};
use tendermint_proto::v0_38::abci::ResponseFinalizeBlock;

const FEE: u128 = 5_000;
const SUBMIT_GAS: u64 = 400_000;
/// `max_tx_gas` of the default auth params.
const REVIEW_GAS: u64 = 10_000_000;
const STAKE: u128 = 1_000;
const DATANET: u64 = 1;
const OWNER: usize = 0;
const CEILING_SAMPLE: usize = 5_000;
const REFUNDED: &str = "openledger.datanet.v1.EventStakeRefunded";

struct Cfg {
    n: usize,
    per_block: usize,
    contributors: usize,
    curators: usize,
    reviews_per_tx: usize,
    fp_hashes: usize,
    reps: usize,
    samples: usize,
}

impl Cfg {
    fn from_env() -> Cfg {
        let quick = env_flag("DATANET_BENCH_QUICK");
        let n = env("DATANET_BENCH_CONTRIBUTIONS", if quick { 10_000 } else { 100_000 });
        let per_block = env("DATANET_BENCH_BLOCK", if quick { 1_000 } else { 5_000 }).min(n);
        let contributors = env("DATANET_BENCH_CONTRIBUTORS", (n / 10).max(per_block));
        assert!(contributors >= per_block, "each contributor signs at most once per block");
        assert!(n >= 100, "at least 100 contributions");
        Cfg {
            n,
            per_block,
            contributors,
            curators: env("DATANET_BENCH_CURATORS", 4).clamp(1, 20),
            reviews_per_tx: env("DATANET_BENCH_REVIEWS_PER_TX", 24).clamp(1, 64),
            fp_hashes: env("DATANET_BENCH_FINGERPRINT", 64).clamp(1, 512),
            reps: env("DATANET_BENCH_REPS", 200).max(1),
            samples: env("DATANET_BENCH_SAMPLES", 500).max(1),
        }
    }

    /// Account index of contributor `j` (the owner and the curators come first).
    fn contributor(&self, j: usize) -> usize {
        1 + self.curators + j
    }

    /// Contributor account of contribution index `i` (id `i + 1`).
    fn contributor_of(&self, i: usize) -> usize {
        self.contributor(i % self.contributors)
    }

    fn accounts(&self) -> usize {
        1 + self.curators + self.contributors
    }

    /// Sizes (accepted contributions) at which a version is published: 1%, 10%, 20%, … 100%.
    fn checkpoints(&self) -> BTreeSet<usize> {
        let mut c: BTreeSet<usize> = (1..=10).map(|k| self.n * k / 10).collect();
        c.insert(self.n / 100);
        c.remove(&0);
        c
    }

    /// Contribution-index ranges of the review blocks: `per_block` each, cut at checkpoints.
    fn review_blocks(&self) -> Vec<std::ops::Range<usize>> {
        let cps = self.checkpoints();
        let mut out = Vec::new();
        let mut a = 0;
        while a < self.n {
            let next_cp = cps.range(a + 1..).next().copied().unwrap_or(self.n);
            let end = (a + self.per_block).min(next_cp);
            out.push(a..end);
            a = end;
        }
        out
    }

    fn slice(&self) -> usize {
        (self.n / 10).max(1)
    }
}

/// Contribution `i` (id `i + 1`) carries a full fingerprint (K hashes) when `i` is even,
/// and the least one (a single hash) when it is odd: every contribution needs one.
fn fingerprinted(i: usize) -> bool {
    i & 1 == 0
}

fn content_hash(i: usize) -> Vec<u8> {
    Sha256::digest(format!("openledger datanet bench contribution {i}")).to_vec()
}

/// `k` distinct hashes divisible by the default modulus (16), sorted: the shape
/// `fingerprint::compute` gives for content of ≈ 16·k shingles, without hashing that text.
fn fingerprint(i: usize, k: usize) -> Vec<u64> {
    let mut set = BTreeSet::new();
    let mut j = 0u64;
    while set.len() < k {
        let d = Sha256::digest(format!("fingerprint {i} {j}"));
        let mut first = [0u8; 8];
        first.copy_from_slice(&d[..8]);
        set.insert(u64::from_be_bytes(first) & !(openledger_datanet::fingerprint::DEFAULT_MODULUS - 1));
        j += 1;
    }
    set.into_iter().collect()
}

fn uopen(n: u128) -> Option<Coin> {
    Some(Coin { denom: "uopen".into(), amount: n.to_string() })
}

fn any<M: Message>(name: &str, m: &M) -> Any {
    Any { type_url: format!("/openledger.datanet.v1.{name}"), value: m.encode_to_vec() }
}

fn submit_msg(cfg: &Cfg, contributor: &Address, i: usize) -> dn::MsgSubmitContribution {
    dn::MsgSubmitContribution {
        contributor: contributor.to_string(),
        datanet_id: DATANET,
        content_hash: content_hash(i),
        size: 2_048 + (i as u64 * 7_919) % 1_000_000,
        uri: format!("ipfs://bafkrei{:052x}", i),
        fingerprint: fingerprint(i, if fingerprinted(i) { cfg.fp_hashes } else { 1 }),
        stake: uopen(STAKE),
        salt: vec![],
    }
}

fn review_msg(curator: &Address, id: u64) -> dn::MsgReviewContribution {
    dn::MsgReviewContribution {
        curator: curator.to_string(),
        contribution_id: id,
        accept: true,
        quality_bps: 5_000 + (id * 37 % 5_001) as u32,
        reason: String::new(),
    }
}

fn publish_msg(publisher: &Address) -> dn::MsgPublishVersion {
    dn::MsgPublishVersion { publisher: publisher.to_string(), datanet_id: DATANET }
}

/// FinalizeBlock then Commit, timed separately; every tx must succeed.
/// Returns (finalize s, commit s, gas used, response).
fn run_block(node: &mut TestNode, txs: Vec<Vec<u8>>) -> (f64, f64, u64, ResponseFinalizeBlock) {
    let t0 = Instant::now();
    let resp = node.finalize_only(txs);
    let t1 = Instant::now();
    node.commit();
    let t2 = Instant::now();
    if let Some((i, r)) = resp.tx_results.iter().enumerate().find(|(_, r)| r.code != 0) {
        panic!("tx {i} of block {} failed: code {} {}", node.height, r.code, r.log);
    }
    let gas = resp.tx_results.iter().map(|r| r.gas_used as u64).sum();
    ((t1 - t0).as_secs_f64(), (t2 - t1).as_secs_f64(), gas, resp)
}

/// Median µs of one datanet handler run alone, in process, on a fresh overlay of the
/// latest committed state (nothing is committed).
fn time_handler(node: &TestNode, msg: &DatanetMsg, reps: usize) -> f64 {
    let storage = node.app.storage().clone();
    let height = node.height + 1;
    node.rt().block_on(async {
        let mut times = Vec::with_capacity(reps);
        for _ in 0..reps {
            let mut delta = StateDelta::new(storage.latest_snapshot());
            let t = Instant::now();
            msg.execute(&mut delta, MsgCtx { height, msg_index: 0, module_accounts: openledger_app::registry::module_accounts() })
                .await
                .expect("handler succeeds");
            times.push(t.elapsed().as_secs_f64() * 1e6);
        }
        median(&times)
    })
}

/// Median µs of writing one new leaf's path into the version tree alone (the tree part
/// of an accept), on a fresh overlay of the latest committed state.
fn time_tree_path(node: &TestNode, position: u64, epoch: u64, reps: usize) -> f64 {
    let storage = node.app.storage().clone();
    let leaf = openledger_datanet::merkle::leaf_hash(position + 1, &[7u8; 32], 1);
    node.rt().block_on(async {
        let mut times = Vec::with_capacity(reps);
        for _ in 0..reps {
            let mut delta = StateDelta::new(storage.latest_snapshot());
            let t = Instant::now();
            openledger_datanet::merkle::set_leaf(&mut delta, DATANET, position, position + 1, leaf, epoch).await.expect("set_leaf");
            times.push(t.elapsed().as_secs_f64() * 1e6);
        }
        median(&times)
    })
}

/// Bytes of the files under `dir`: (all but RocksDB's info logs, SST files only).
fn dir_size(dir: &Path) -> (u64, u64) {
    let (mut all, mut sst) = (0, 0);
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            let Ok(md) = e.metadata() else { continue };
            if md.is_dir() {
                let (a, s) = dir_size(&p);
                all += a;
                sst += s;
            } else {
                let name = e.file_name().to_string_lossy().into_owned();
                if name.starts_with("LOG") {
                    continue;
                }
                all += md.len();
                if name.ends_with(".sst") {
                    sst += md.len();
                }
            }
        }
    }
    (all, sst)
}

/// One timed block of a phase.
struct Blk {
    /// Index of its first contribution, contributions, txs.
    first: usize,
    count: usize,
    txs: usize,
    finalize: f64,
    commit: f64,
    gas: u64,
    /// Ceiling measured right before it, sig/s.
    ceiling: f64,
}

impl Blk {
    fn secs(&self) -> f64 {
        self.finalize + self.commit
    }
}

/// Per slice of the datanet: throughput and its ratio to the ceiling.
fn print_slices(what: &str, blocks: &[Blk], slice: usize) {
    let mut by_slice: BTreeMap<usize, Vec<&Blk>> = BTreeMap::new();
    for b in blocks {
        by_slice.entry(b.first / slice).or_default().push(b);
    }
    println!("{what} per slice of {slice} contributions (ceiling = secp256k1 verify, paired per block):");
    println!(
        "  {:>15} {:>7} {:>6} {:>9} {:>10} {:>8} {:>11} {:>10} {:>12} {:>9}",
        "contributions", "txs", "blocks", "secs", "contrib/s", "tx/s", "ceiling/s", "tx ratio", "contrib ratio", "gas/contr"
    );
    let mut rates = Vec::new();
    for (s, bs) in &by_slice {
        let count: usize = bs.iter().map(|b| b.count).sum();
        let txs: usize = bs.iter().map(|b| b.txs).sum();
        let secs: f64 = bs.iter().map(|b| b.secs()).sum();
        let gas: u64 = bs.iter().map(|b| b.gas).sum();
        // Ceiling time of the same work: each block's txs (signatures) at its paired rate.
        let ceil_tx_secs: f64 = bs.iter().map(|b| b.txs as f64 / b.ceiling).sum();
        let ceil_c_secs: f64 = bs.iter().map(|b| b.count as f64 / b.ceiling).sum();
        let ceiling = txs as f64 / ceil_tx_secs;
        println!(
            "  {:>7}-{:<7} {txs:>7} {:>6} {secs:>9.2} {:>10.0} {:>8.0} {ceiling:>11.0} {:>10.3} {:>12.3} {:>9.0}",
            s * slice + 1,
            s * slice + count,
            bs.len(),
            count as f64 / secs,
            txs as f64 / secs,
            ceil_tx_secs / secs,
            ceil_c_secs / secs,
            gas as f64 / count as f64
        );
        rates.push((count as f64 / secs, ceil_c_secs / secs));
    }
    let total_count: usize = blocks.iter().map(|b| b.count).sum();
    let total_txs: usize = blocks.iter().map(|b| b.txs).sum();
    let total_secs: f64 = blocks.iter().map(|b| b.secs()).sum();
    let ceil_tx: f64 = blocks.iter().map(|b| b.txs as f64 / b.ceiling).sum();
    let ceil_c: f64 = blocks.iter().map(|b| b.count as f64 / b.ceiling).sum();
    println!(
        "  all: {total_count} contributions, {total_txs} txs in {total_secs:.1} s: {:.0} contrib/s, {:.0} tx/s; ceiling {:.0} sig/s; tx ratio {:.3}, contribution ratio {:.3}",
        total_count as f64 / total_secs,
        total_txs as f64 / total_secs,
        total_txs as f64 / ceil_tx,
        ceil_tx / total_secs,
        ceil_c / total_secs
    );
    if let (Some(first), Some(last)) = (rates.first(), rates.last()) {
        println!("  last slice / first slice: rate {:.2}, ratio-to-ceiling {:.2}", last.0 / first.0, last.1 / first.1);
    }
}

struct Lat {
    name: String,
    ms: Vec<f64>,
}

impl Lat {
    fn new(name: &str) -> Lat {
        Lat { name: name.to_string(), ms: Vec::new() }
    }

    fn print(&self) {
        let mut v = self.ms.clone();
        v.sort_by(f64::total_cmp);
        println!(
            "  {:<46} {:>6} {:>8.3} {:>8.3} {:>8.3}",
            self.name,
            v.len(),
            percentile(&v, 50.0),
            percentile(&v, 99.0),
            v.last().copied().unwrap_or(f64::NAN)
        );
    }

    fn p99(&self) -> f64 {
        let mut v = self.ms.clone();
        v.sort_by(f64::total_cmp);
        percentile(&v, 99.0)
    }
}

fn main() {
    common::init_process();
    let cfg = Cfg::from_env();
    let threads = common::threads();
    let n = cfg.n;
    let slice = cfg.slice();
    let review_blocks = cfg.review_blocks();
    let checkpoints = cfg.checkpoints();
    // The challenge window outlasts the review phase (a publish block and an empty
    // block per checkpoint), so the review blocks carry no refunds; they all come after.
    let window = (review_blocks.len() + 2 * checkpoints.len() + 3) as u64;
    let run_start = Instant::now();

    println!(
        "datanet_scale: {n} contributions ({} with a fingerprint of {} hashes), {} contributors, owner + {} curators, blocks of {}, {} reviews per curator tx, {threads} threads",
        n.div_ceil(2),
        cfg.fp_hashes,
        cfg.contributors,
        cfg.curators,
        cfg.per_block,
        cfg.reviews_per_tx
    );

    eprintln!("genesis: {} funded accounts…", cfg.accounts());
    let keys: Vec<SignerKey> = (0..cfg.accounts() as u64).map(test_key).collect();
    let addrs: Vec<Address> = keys.iter().map(|k| k.address()).collect();
    let mut seqs = vec![0u64; keys.len()];
    let builder = TestNode::builder().funded_accounts(keys.len() as u64, 1_000_000_000_000);
    let mut state = builder.app_state();
    let mut params = openledger_datanet::component::default_params();
    params.challenge_window_blocks = window;
    state.datanet.params = Some(params);
    let mut node = builder.with_app_state(state).build();
    let state_dir = node.dir.join("state");
    let disk_genesis = dir_size(&state_dir);

    // Block 1: the datanet (default fingerprint shape: modulus 16, at most 512 hashes).
    let create = dn::MsgCreateDatanet {
        owner: addrs[OWNER].to_string(),
        name: "Scale benchmark".into(),
        description: "One datanet grown to its benchmark size".into(),
        tags: vec!["bench".into()],
        metadata_uri: "ipfs://bench".into(),
        curators: (1..=cfg.curators).map(|c| addrs[c].to_string()).collect(),
        policy: dn::ContributionPolicy::Open as i32,
        allow_list: vec![],
        min_stake: uopen(STAKE),
        terms: Some(dn::ContributionTerms { reject_slash_bps: 2000, challenge_reward_bps: 5000 }),
        fingerprint: None,
        model_terms: None,
        curators_bps: 0,
    };
    let one_tx = |who: usize, msgs: Vec<Any>, gas: u64, seqs: &mut Vec<u64>| {
        let (tx, _) = common::sign(&TxSpec::new(msgs, FEE, gas), &keys[who], who as u64, seqs[who]);
        seqs[who] += 1;
        tx
    };
    let tx = one_tx(OWNER, vec![any("MsgCreateDatanet", &create)], 400_000, &mut seqs);
    run_block(&mut node, vec![tx]);
    // The owner and the curators bond the minimum: curators act only bonded.
    let bond = openledger_datanet::component::default_params().min_curator_bond.parse().expect("an amount");
    let bonds: Vec<Vec<u8>> = (0..=cfg.curators)
        .map(|who| {
            let m = dn::MsgBondCurator { curator: addrs[who].to_string(), datanet_id: 1, amount: uopen(bond) };
            one_tx(who, vec![any("MsgBondCurator", &m)], 400_000, &mut seqs)
        })
        .collect();
    run_block(&mut node, bonds);

    // ------------------------------------------------------------------ submit
    eprintln!("submit phase…");
    let mut submit_blocks: Vec<Blk> = Vec::new();
    let mut handler_rows: BTreeMap<usize, [Option<f64>; 4]> = BTreeMap::new(); // size → [submit, review, tree path, publish] µs
    let mut pool: Vec<SigItem> = Vec::new(); // ceiling sample for the blocks without their own
    let mut a = 0;
    while a < n {
        let end = (a + cfg.per_block).min(n);
        let jobs: Vec<(TxSpec, &SignerKey, u64, u64)> = (a..end)
            .map(|i| {
                let c = cfg.contributor_of(i);
                let seq = seqs[c];
                seqs[c] += 1;
                (TxSpec::new(vec![any("MsgSubmitContribution", &submit_msg(&cfg, &addrs[c], i))], FEE, SUBMIT_GAS), &keys[c], c as u64, seq)
            })
            .collect();
        let (txs, items): (Vec<Vec<u8>>, Vec<Option<SigItem>>) = common::sign_all(&jobs, threads).into_iter().unzip();
        let items: Vec<SigItem> = items.into_iter().flatten().collect();
        let ceiling = verification_rate(&items, threads);
        let (finalize, commit, gas, _) = run_block(&mut node, txs);
        let blk = Blk { first: a, count: end - a, txs: end - a, finalize, commit, gas, ceiling };
        println!(
            "submit block {:>3}: contributions {:>6}-{:<6} finalize {:>5.0} ms commit {:>4.0} ms  {:>6.0} tx/s  ceiling {:>6.0} sig/s  ratio {:.2}",
            submit_blocks.len() + 1,
            a + 1,
            end,
            finalize * 1e3,
            commit * 1e3,
            blk.count as f64 / blk.secs(),
            ceiling,
            blk.count as f64 / blk.secs() / ceiling
        );
        submit_blocks.push(blk);
        if pool.len() < CEILING_SAMPLE {
            pool.extend(items.into_iter().take(CEILING_SAMPLE - pool.len()));
        }
        if end.checked_rem(slice) == Some(0) || end == n {
            // The submit handler alone at this size: a new contribution (not kept).
            let i = 10 * n + end;
            let c = cfg.contributor(0);
            let us = time_handler(&node, &checked(&submit_msg(&cfg, &addrs[c], i)), cfg.reps);
            handler_rows.entry(end).or_default()[0] = Some(us);
        }
        a = end;
    }
    let disk_submitted = dir_size(&state_dir);

    // ------------------------------------------------------------------ review + publish
    eprintln!("review phase…");
    let reviewers: Vec<usize> = (0..=cfg.curators).collect();
    let mut review_tx_count = 0usize;
    let mut review_out: Vec<Blk> = Vec::new();
    struct Pub {
        size: usize,
        version: u64,
        finalize: f64,
        commit: f64,
        empty_finalize: f64,
        empty_commit: f64,
        gas: u64,
    }
    let mut pubs: Vec<Pub> = Vec::new();
    let mut sample_at = 0usize;
    let mut last_review_height = 0;
    for range in &review_blocks {
        let ids: Vec<u64> = (range.start as u64 + 1..=range.end as u64).collect();
        let jobs: Vec<(TxSpec, &SignerKey, u64, u64)> = ids
            .chunks(cfg.reviews_per_tx)
            .map(|chunk| {
                let r = reviewers[review_tx_count % reviewers.len()];
                review_tx_count += 1;
                let seq = seqs[r];
                seqs[r] += 1;
                let msgs = chunk.iter().map(|&id| any("MsgReviewContribution", &review_msg(&addrs[r], id))).collect();
                (TxSpec::new(msgs, FEE, REVIEW_GAS), &keys[r], r as u64, seq)
            })
            .collect();
        let txs: Vec<Vec<u8>> = common::sign_all(&jobs, threads).into_iter().map(|(tx, _)| tx).collect();
        let ntx = txs.len();
        // A fixed-size sample, rotating through the pool.
        let sample: Vec<SigItem> = (0..CEILING_SAMPLE.min(pool.len())).map(|k| pool[(sample_at + k) % pool.len()].clone()).collect();
        sample_at += 997;
        let ceiling = verification_rate(&sample, threads);
        let (finalize, commit, gas, _) = run_block(&mut node, txs);
        last_review_height = node.height;
        let blk = Blk { first: range.start, count: range.len(), txs: ntx, finalize, commit, gas, ceiling };
        println!(
            "review block {:>3}: contributions {:>6}-{:<6} {:>4} txs finalize {:>5.0} ms commit {:>4.0} ms  {:>6.0} reviews/s  ceiling {:>6.0} sig/s  reviews/s÷sig/s {:.2}  gas/review {:.0}",
            review_out.len() + 1,
            range.start + 1,
            range.end,
            ntx,
            finalize * 1e3,
            commit * 1e3,
            blk.count as f64 / blk.secs(),
            ceiling,
            blk.count as f64 / blk.secs() / ceiling,
            gas as f64 / blk.count as f64
        );
        review_out.push(blk);
        if checkpoints.contains(&range.end) {
            let size = range.end;
            // Handlers alone at this size: publish, and the review of the next pending one.
            let publish_us = time_handler(&node, &checked(&publish_msg(&addrs[OWNER])), cfg.reps);
            let review_us = (size < n).then(|| {
                let id = size as u64 + 1;
                let r = reviewers[1];
                time_handler(&node, &checked(&review_msg(&addrs[r], id)), cfg.reps)
            });
            let tree_us = (size < n).then(|| time_tree_path(&node, size as u64, pubs.len() as u64 + 1, cfg.reps));
            let row = handler_rows.entry(size).or_default();
            row[1] = review_us;
            row[2] = tree_us;
            row[3] = Some(publish_us);
            // The publish block, then an empty block as the baseline of a block's fixed cost.
            let tx = one_tx(OWNER, vec![any("MsgPublishVersion", &publish_msg(&addrs[OWNER]))], 400_000, &mut seqs);
            let (pf, pc, pgas, resp) = run_block(&mut node, vec![tx]);
            let data = cosmos_sdk_proto::cosmos::base::abci::v1beta1::TxMsgData::decode(resp.tx_results[0].data.as_ref()).expect("tx data");
            let version = dn::MsgPublishVersionResponse::decode(data.msg_responses[0].value.as_slice()).expect("publish response").version;
            let (ef, ec, _, _) = run_block(&mut node, vec![]);
            println!(
                "publish version {version} at {size} accepted: block finalize {:.2} ms commit {:.2} ms (empty block {:.2} + {:.2} ms), gas {pgas}; handler alone {publish_us:.1} µs",
                pf * 1e3,
                pc * 1e3,
                ef * 1e3,
                ec * 1e3
            );
            pubs.push(Pub { size, version, finalize: pf, commit: pc, empty_finalize: ef, empty_commit: ec, gas: pgas });
        }
    }
    let disk_reviewed = dir_size(&state_dir);
    let versions = pubs.len() as u64;
    {
        let snap = node.app.storage().latest_snapshot();
        let d = node.rt().block_on(snap.datanet(DATANET)).expect("read").expect("datanet");
        assert_eq!((d.contribution_count, d.accepted_count, d.tree_size, d.latest_version), (n as u64, n as u64, n as u64, versions));
    }

    // ------------------------------------------------------------------ refunds
    eprintln!("refund phase (end of the challenge window)…");
    let mut refund_blocks: Vec<(usize, f64, f64)> = Vec::new();
    let mut refunded = 0usize;
    while node.height < last_review_height + window {
        let (f, c, _, resp) = run_block(&mut node, vec![]);
        let k = resp.events.iter().filter(|e| e.r#type == REFUNDED).count();
        if k > 0 {
            refund_blocks.push((k, f, c));
            refunded += k;
        }
    }
    assert_eq!(refunded, n, "every stake refunded at the end of its window");
    let bonded = bond * (cfg.curators as u128 + 1);
    assert_eq!(node.balance(&openledger_datanet::escrow()), bonded, "escrow holds the curator bonds only");
    let disk_refunded = dir_size(&state_dir);
    let refund_secs: f64 = refund_blocks.iter().map(|r| r.1 + r.2).sum();

    // ------------------------------------------------------------------ gRPC
    eprintln!("gRPC queries…");
    let addr = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
        l.local_addr().expect("local addr")
    };
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = node.rt().spawn(openledger_app::rpc::grpc::serve(node.app.clone(), addr, async {
        let _ = stop_rx.await;
    }));
    let contributor_sample: Vec<usize> = {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        (0..cfg.samples).map(|_| rng.gen_range(0..cfg.contributors)).collect()
    };
    let lats: Vec<Lat> = node.rt().block_on(async {
        use dn::query_client::QueryClient;
        let url = format!("http://{addr}");
        let mut client = None;
        for _ in 0..100 {
            if let Ok(c) = QueryClient::connect(url.clone()).await {
                client = Some(c);
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        let mut client = client.expect("gRPC server up");
        let req = |key: Vec<u8>, offset: u64, status: i32, count_total: bool| dn::QueryContributionsRequest {
            datanet_id: DATANET,
            contributor: String::new(),
            status,
            pagination: Some(PageRequest { key, offset, limit: 100, count_total, reverse: false }),
        };
        macro_rules! timed {
            ($lat:expr, $call:expr) => {{
                let t = Instant::now();
                let r = $call.await.expect("query answers").into_inner();
                $lat.ms.push(t.elapsed().as_secs_f64() * 1e3);
                r
            }};
        }
        // Warm the connection (with a query that reads no contribution, so no page
        // starts out cached).
        for _ in 0..20 {
            client.params(dn::QueryParamsRequest {}).await.expect("warm-up");
        }
        // 1. The whole list, 100 a page, following next_key.
        let mut walk = Lat::new("all contributions, next_key walk (limit 100)");
        let mut key = Vec::new();
        let mut seen = 0u64;
        let mut first = true;
        loop {
            let r = timed!(walk, client.contributions(req(key.clone(), 0, 0, first)));
            let pg = r.pagination.expect("pagination");
            if first {
                assert_eq!(pg.total, n as u64, "count_total");
                first = false;
            }
            for c in &r.contributions {
                seen += 1;
                assert_eq!(c.id, seen, "ascending ids");
            }
            if pg.next_key.is_empty() {
                break;
            }
            key = pg.next_key;
        }
        assert_eq!(seen, n as u64);
        let pages = walk.ms.len();
        let tenth = (pages / 10).max(1);
        let mut walk_first = Lat::new("  … its first 10% of pages");
        walk_first.ms = walk.ms[..tenth].to_vec();
        let mut walk_last = Lat::new("  … its last 10% of pages");
        walk_last.ms = walk.ms[pages - tenth..].to_vec();
        // 2. Pages from random keys in the first and the last 1% of ids, interleaved.
        let mut rng = rand::rngs::StdRng::seed_from_u64(42);
        let mut at_start = Lat::new("page at a random key, first 1% of ids");
        let mut at_end = Lat::new("page at a random key, last 1% of ids");
        let span = (n / 100).max(1) as u64;
        for _ in 0..cfg.samples {
            let s = rng.gen_range(1..=span);
            let r = timed!(at_start, client.contributions(req(s.to_be_bytes().to_vec(), 0, 0, false)));
            assert_eq!(r.contributions.first().map(|c| c.id), Some(s));
            let e = rng.gen_range((n as u64 - span - 99).max(1)..=(n as u64 - 99));
            let r = timed!(at_end, client.contributions(req(e.to_be_bytes().to_vec(), 0, 0, false)));
            assert_eq!((r.contributions.first().map(|c| c.id), r.contributions.len()), (Some(e), 100));
        }
        // 3. The accepted list (a status index), whole.
        let mut accepted = Lat::new("status ACCEPTED, next_key walk");
        let mut key = Vec::new();
        let mut seen = 0usize;
        loop {
            let r = timed!(accepted, client.contributions(req(key.clone(), 0, dn::ContributionStatus::Accepted as i32, false)));
            seen += r.contributions.len();
            let next = r.pagination.expect("pagination").next_key;
            if next.is_empty() {
                break;
            }
            key = next;
        }
        assert_eq!(seen, n);
        // 4. Empty status lists: PENDING held every contribution once (all removed by
        // the reviews); REJECTED never held any.
        let mut pending = Lat::new("status PENDING (emptied by the reviews)");
        let mut rejected = Lat::new("status REJECTED (never used)");
        for _ in 0..50 {
            let r = timed!(pending, client.contributions(req(vec![], 0, dn::ContributionStatus::Pending as i32, false)));
            assert!(r.contributions.is_empty());
            let r = timed!(rejected, client.contributions(req(vec![], 0, dn::ContributionStatus::Rejected as i32, false)));
            assert!(r.contributions.is_empty());
        }
        // 5. Per contributor (the contributor index, across datanets).
        let mut by_contributor = Lat::new("by contributor (one page)");
        for &j in &contributor_sample {
            let c = cfg.contributor(j);
            let r = timed!(
                by_contributor,
                client.contributions(dn::QueryContributionsRequest {
                    datanet_id: 0,
                    contributor: addrs[c].to_string(),
                    status: 0,
                    pagination: Some(PageRequest { limit: 100, ..Default::default() }),
                })
            );
            assert_eq!(r.contributions.len(), (n - j).div_ceil(cfg.contributors));
        }
        // 6. Offset paging (walks the skipped entries by design; capped at 100,000).
        let mut off_small = Lat::new("offset 1% of n (skips entries)");
        let mut off_large = Lat::new("offset n - 1% - 100 (skips entries)");
        for _ in 0..20 {
            timed!(off_small, client.contributions(req(vec![], span, 0, false)));
            timed!(off_large, client.contributions(req(vec![], n as u64 - span - 100, 0, false)));
        }
        // 7. Inclusion proofs, verified offline: first and last position, latest
        // version; first position in version 1.
        let mut proofs = Vec::new();
        for (name, version, id) in [
            ("inclusion proof, position 1, latest version", versions, 1u64),
            ("inclusion proof, position n, latest version", versions, n as u64),
            ("inclusion proof, position 1, version 1", 1, 1),
        ] {
            let mut lat = Lat::new(name);
            for _ in 0..cfg.reps {
                let r = timed!(
                    lat,
                    client.inclusion_proof(dn::QueryInclusionProofRequest { datanet_id: DATANET, version, contribution_id: id })
                );
                let p = r.proof.expect("proof");
                assert_eq!(openledger_datanet::merkle::verify(&p), Ok(()));
                assert_eq!(p.position, id - 1);
            }
            proofs.push(lat);
        }
        let mut out =
            vec![walk, walk_first, walk_last, at_start, at_end, accepted, pending, rejected, by_contributor, off_small, off_large];
        out.extend(proofs);
        out
    });
    let _ = stop_tx.send(());
    node.rt().block_on(server).expect("server task").expect("server");

    // ------------------------------------------------------------------ state bytes
    eprintln!("state bytes…");
    let snap = node.app.storage().latest_snapshot();
    #[derive(Default, Clone, Copy)]
    struct Acc {
        entries: u64,
        bytes: u64,
    }
    impl Acc {
        fn add(&mut self, k: usize, v: usize) {
            self.entries += 1;
            self.bytes += (k + v) as u64;
        }
    }
    // Everything the module stores, by key family. A family whose keys (or, for the
    // duplicate check, values) name a contribution is counted per contribution, split
    // [one hash, K hashes] of fingerprint; the rest is datanet-level.
    let class_of = |id: u64| -> Option<usize> { (1..=n as u64).contains(&id).then(|| fingerprinted(id as usize - 1) as usize) };
    let (per_contribution, shared, fp_lens) = node.rt().block_on(async {
        let mut per_contribution: BTreeMap<String, [Acc; 2]> = BTreeMap::new();
        let mut shared: BTreeMap<String, Acc> = BTreeMap::new();
        let mut fp_lens = Vec::new();
        let mut s = std::pin::pin!(snap.prefix_raw("datanet/"));
        while let Some(item) = s.next().await {
            let (k, v) = item.expect("read");
            let rest = &k["datanet/".len()..];
            let family = rest.split('/').next().unwrap_or_default().to_string();
            let id = match family.as_str() {
                "c" => {
                    let c = dn::Contribution::decode(v.as_slice()).expect("contribution");
                    assert_eq!(c.fingerprint.len() > 1, fingerprinted(c.id as usize - 1));
                    if c.fingerprint.len() > 1 {
                        fp_lens.push(c.fingerprint.len());
                    }
                    Some(c.id)
                }
                "hash" => Some(u64::from_be_bytes(v.as_slice().try_into().expect("u64 id"))),
                // Datanet records, versions, challenges and their queue name no contribution;
                // the fingerprint index is keyed by hash (shared, amortised below).
                "d" | "v" | "ch" | "expiry" | "fp" => None,
                // Any other family keyed by a contribution id (`…/{id:016x}`).
                _ => rest.rsplit('/').next().filter(|last| last.len() == 16).and_then(|last| u64::from_str_radix(last, 16).ok()),
            };
            match id.and_then(class_of) {
                Some(c) => per_contribution.entry(format!("datanet/{family}/…")).or_default()[c].add(k.len(), v.len()),
                None => shared.entry(format!("datanet/{family}")).or_default().add(k.len(), v.len()),
            }
        }
        for prefix in [b"ix/datanet/".as_slice(), b"tree/datanet/".as_slice(), b"count/ix/datanet/".as_slice()] {
            let mut s = std::pin::pin!(snap.nonverifiable_prefix_raw(prefix));
            while let Some(item) = s.next().await {
                let (k, v) = item.expect("read");
                let text = String::from_utf8_lossy(&k);
                let family = if prefix == b"count/ix/datanet/" {
                    "count/ix/datanet/… (list counters)".to_string()
                } else {
                    text.splitn(4, '/').take(3).collect::<Vec<_>>().join("/").split('\0').next().unwrap_or_default().to_string()
                };
                // Per-contribution lists end with the contribution's big-endian id.
                let per = ["ix/datanet/dc", "ix/datanet/ds", "ix/datanet/contributor"].iter().any(|f| family.starts_with(f));
                let id = per.then(|| u64::from_be_bytes(k[k.len() - 8..].try_into().expect("8 bytes")));
                match id.and_then(class_of) {
                    Some(c) => {
                        per_contribution.entry("ix/datanet/{dc,ds,contributor}/… (nv)".to_string()).or_default()[c].add(k.len(), v.len())
                    }
                    None if family.starts_with("tree/datanet") => {
                        shared.entry("tree/datanet/… (nv)".to_string()).or_default().add(k.len(), v.len())
                    }
                    None if family.starts_with("ix/datanet") => {
                        shared.entry("ix/datanet/… other lists (nv)".to_string()).or_default().add(k.len(), v.len())
                    }
                    None => shared.entry(format!("{family} (nv)")).or_default().add(k.len(), v.len()),
                }
            }
        }
        (per_contribution, shared, fp_lens)
    });
    drop(snap);
    assert!(!per_contribution.keys().any(|f| f.starts_with("datanet/release")), "refunded stakes leave no queue entry");
    let node = node.restart();
    let disk_reopened = dir_size(&node.dir.join("state"));
    // The emptied PENDING list again, over ABCI, after the reopen flushed the memtables.
    let mut reopened = Vec::new();
    for status in [dn::ContributionStatus::Pending, dn::ContributionStatus::Rejected] {
        let mut lat = Lat::new(&format!("status {} after reopen (ABCI)", status.as_str_name().trim_start_matches("CONTRIBUTION_STATUS_")));
        let req = dn::QueryContributionsRequest { datanet_id: DATANET, status: status as i32, ..Default::default() }.encode_to_vec();
        for _ in 0..50 {
            let t = Instant::now();
            let r = node.query("/openledger.datanet.v1.Query/Contributions", req.clone(), 0);
            lat.ms.push(t.elapsed().as_secs_f64() * 1e3);
            assert_eq!(r.code, 0, "{}", r.log);
        }
        reopened.push(lat);
    }

    // ------------------------------------------------------------------ report
    let mb = |b: u64| b as f64 / 1e6;
    println!();
    println!("=== datanet_scale summary ({n} contributions, {:.0} s wall) ===", run_start.elapsed().as_secs_f64());
    print_slices("submit (1 MsgSubmitContribution per tx)", &submit_blocks, slice);
    print_slices(&format!("review (accept; up to {} per tx)", cfg.reviews_per_tx), &review_out, slice);
    println!("handlers alone (median of {} runs on an overlay of the committed state), µs:", cfg.reps);
    println!("  {:>8} {:>11} {:>9} {:>9} {:>14} {:>9}", "size", "tree levels", "submit", "review", "(its tree path)", "publish");
    let show = |v: Option<f64>| v.map_or("-".to_string(), |x| format!("{x:.1}"));
    for (size, row) in &handler_rows {
        // Levels a review rewrites: the stored height of the tree it makes (size + 1 leaves).
        let levels = 64 - (*size as u64).leading_zeros();
        println!("  {size:>8} {levels:>11} {:>9} {:>9} {:>14} {:>9}", show(row[0]), show(row[1]), show(row[2]), show(row[3]));
    }
    println!("publish blocks (1 tx), ms:");
    println!("  {:>8} {:>7} {:>9} {:>7} {:>9} {:>9} {:>7}", "accepted", "version", "finalize", "commit", "empty fin", "empty com", "gas");
    for p in &pubs {
        println!(
            "  {:>8} {:>7} {:>9.2} {:>7.2} {:>9.2} {:>9.2} {:>7}",
            p.size,
            p.version,
            p.finalize * 1e3,
            p.commit * 1e3,
            p.empty_finalize * 1e3,
            p.empty_commit * 1e3,
            p.gas
        );
    }
    let (first_refund, last_refund) = (refund_blocks.first().copied(), refund_blocks.last().copied());
    println!(
        "end-of-block stake refunds: {refunded} in {} blocks, {refund_secs:.2} s: {:.0} refunds/s (first block {:.0}/s, last {:.0}/s)",
        refund_blocks.len(),
        refunded as f64 / refund_secs,
        first_refund.map_or(0.0, |r| r.0 as f64 / (r.1 + r.2)),
        last_refund.map_or(0.0, |r| r.0 as f64 / (r.1 + r.2))
    );
    println!("gRPC Query/Contributions and Query/InclusionProof (in-process server, 127.0.0.1), ms:");
    println!("  {:<46} {:>6} {:>8} {:>8} {:>8}", "query", "count", "p50", "p99", "max");
    for l in lats.iter().chain(&reopened) {
        l.print();
    }
    let p99 = |name: &str| lats.iter().find(|l| l.name.starts_with(name)).map_or(f64::NAN, Lat::p99);
    println!(
        "  p99 last-1% / first-1% pages: {:.2}; walk last 10% / first 10%: {:.2}",
        p99("page at a random key, last") / p99("page at a random key, first"),
        p99("  … its last") / p99("  … its first")
    );
    // Contributions per class: [one hash, K hashes] of fingerprint.
    let per_class = [n / 2, n.div_ceil(2)].map(|c| c.max(1) as f64);
    let avg_k = fp_lens.iter().sum::<usize>() as f64 / fp_lens.len().max(1) as f64;
    println!("state bytes per contribution (key + value, as stored; nv = non-verifiable store), a fingerprint of 1 | {avg_k:.0} hashes:");
    let mut totals = [0f64; 2];
    let mut verifiable = [0f64; 2];
    for (family, acc) in &per_contribution {
        let b = [acc[0].bytes as f64 / per_class[0], acc[1].bytes as f64 / per_class[1]];
        println!("  {family:<44} {:>8.1} | {:>8.1}   ({} | {} entries)", b[0], b[1], acc[0].entries, acc[1].entries);
        for c in 0..2 {
            totals[c] += b[c];
            if !family.ends_with("(nv)") {
                verifiable[c] += b[c];
            }
        }
    }
    // Shared structures, amortised over all contributions when they grow with them.
    for (family, acc) in &shared {
        let b = acc.bytes as f64 / n as f64;
        let amortised = acc.entries as usize >= n / 100;
        if amortised {
            totals[0] += b;
            totals[1] += b;
            if !family.ends_with("(nv)") {
                verifiable[0] += b;
                verifiable[1] += b;
            }
        }
        println!(
            "  {family:<44} {:>19}   ({} entries, {} bytes{})",
            if amortised { format!("{b:.1} amortised") } else { "-".to_string() },
            acc.entries,
            acc.bytes,
            if family.starts_with("tree/datanet") {
                format!("; {:.2} node writes per contribution", acc.entries as f64 / n as f64)
            } else {
                String::new()
            }
        );
    }
    println!("  {:<44} {:>8.1} | {:>8.1}   (verifiable {:.1} | {:.1})", "total", totals[0], totals[1], verifiable[0], verifiable[1]);
    println!(
        "RocksDB directory (all files but info logs; SST only): genesis {:.1} | {:.1} MB, after submits {:.1} | {:.1} MB, after reviews {:.1} | {:.1} MB, after refunds {:.1} | {:.1} MB, reopened (WAL flushed) {:.1} | {:.1} MB",
        mb(disk_genesis.0),
        mb(disk_genesis.1),
        mb(disk_submitted.0),
        mb(disk_submitted.1),
        mb(disk_reviewed.0),
        mb(disk_reviewed.1),
        mb(disk_refunded.0),
        mb(disk_refunded.1),
        mb(disk_reopened.0),
        mb(disk_reopened.1)
    );
    println!(
        "  growth per contribution: {:.0} bytes (all files, after refunds), {:.0} bytes (reopened); includes every version of each record (JMT keeps history) and the accounts' updates",
        disk_refunded.0.saturating_sub(disk_genesis.0) as f64 / n as f64,
        disk_reopened.0.saturating_sub(disk_genesis.0) as f64 / n as f64
    );
}
