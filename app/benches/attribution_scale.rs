//! Attribution settlement against the size of the training datanet: the same load on
//! chains whose datanet holds 1,000, 100,000 and 1,000,000 accepted contributions, to
//! test that settling an inference costs the same whatever the datanet's size (version
//! pools are O(1) accumulators) and that a claim costs what the claimant owns.
//!
//! Setup, per size N (timed apart; no figure below includes it): one datanet with N
//! accepted contributions in published version 1 — each with a fingerprint of 16
//! hashes; a few funded claimants own 1, 10 or 100 contributions each, spread over the
//! datanet; the rest belong to N/10 other contributors. It gets into RocksDB the way a
//! chain launching with an imported dataset gets it: genesis JSON through InitChain
//! (`datanet::component::init_genesis`: records, content-hash keys, the per-contributor
//! claim list, list indexes, and the version tree — stored in one pass — checked
//! against the version's root, which the fixture computes independently with
//! `merkle::root_of`).
//!
//! Then each node is reopened (RocksDB flushes its memtable: every size starts from a
//! state at rest in SST files), and every chain runs the same blocks through the real
//! app (signed txs, ABCI FinalizeBlock + Commit on RocksDB, `openledgerd`'s
//! allocator), the sizes interleaved round by round so the VM's drift hits them alike;
//! every tx must succeed:
//!
//! 1. block 1 registers the model (trained on version 1; 16 operators; 40/40/10/10);
//! 2. reported settlement — pairs of blocks: B_r `MsgPayInference` txs (one per
//!    consumer), then B_r `MsgSubmitAttribution` txs, each delivering the consumer's
//!    signed receipt (every other one "verifiable": an output touching K contributions,
//!    which the chain finds through the fingerprint index and scores; the others an
//!    output touching none, "plain"). A block's B_r × K entries are distinct contributions (B_r = the smallest
//!    size / K, 125 by default), so every size credits the same number of distinct
//!    contributions per block — with entries drawn at random from 1,000 contributions,
//!    blocks of 1,000 reports would credit each ~8 times and merge the writes, at
//!    1,000,000 never. Each round runs a *random* pair — entries drawn from the whole
//!    datanet — then a *hot* pair — entries drawn from the first HOT contributions, the
//!    same set at every size — which separates the store's size from the working set's;
//!    the first round is a warm-up;
//! 3. default settlement — a block of B payments, an empty block, then a block without
//!    txs whose end-block settles the B by training weights
//!    (`max_default_settlements_per_block` = B);
//! 4. claims — for c in {1, 10, 100}: a block of `MsgClaimRewards` (claim all, walking
//!    the claimant's own list) by the claimants owning c contributions each.
//!
//! Alone (median of REPS runs, in process, on a throwaway overlay of the committed
//! state): each handler — pay; report, plain and verifiable, random and hot, K fresh
//! entries per run; `settle::settle` as a default settlement; the attribution end-block
//! settling B due inferences; claim, for each c —, store reads (a random contribution
//! record, an absent key, a list entry), and the end-block with nothing due together
//! with the scan of the empty due queue, before any inference and after each phase.
//! Block time is split, from the app's debug log, into execution and Jellyfish Merkle
//! hashing (`prepare_commit`). Gas per tx is printed: the module's work, free of noise.
//!
//! The **ceiling** is the project's: the secp256k1 verification rate (keys parsed, the
//! node's thread count), paired with each block: its own signatures, or for a block
//! without txs a fixed sample of 5,000 from the pay blocks, verified right before and
//! right after the block (harmonic mean). A report settles one inference and carries
//! one signature, so its ratio is settled/s ÷ sig/s. The size ratios are printed twice:
//! in block time, and in block time × the block's ceiling (cost in signature
//! verifications, which cancels the VM's drift block by block).
//!
//!     cargo bench -p openledger-app --bench attribution_scale
//!     ATTRIBUTION_BENCH_FINGERPRINTS=boilerplate cargo bench -p openledger-app --bench attribution_scale
//!
//! Every receipt's output has ATTRIBUTION_BENCH_OUTPUT_HASHES (512, the cap) hashes:
//! those touching the report's K entries, then, realistic, hashes of new text (absent
//! from the index) or, adversarial (`FINGERPRINTS=boilerplate`), boilerplate hashes —
//! one per contribution, shared by the window of 32 contributions starting there (the
//! most a hash can be shared and still count), so each such output hash reads an index
//! entry of 32 contributions and scores a first holder no other output hash has: every
//! size sees the same, largest, number of candidates per receipt (~504: the
//! receipt's 512 less the hashes that touch its K entries). With boilerplate every
//! report is verifiable, and the chain's `max_entries` is K in both modes, so each
//! report credits exactly its K entries: an output of boilerplate alone, or free
//! slots beyond K, would be credited to the lowest-id candidates — the same few
//! contributions in every report at 1,000, different ones at 1,000,000 — and the
//! sizes would no longer credit the same number of distinct contributions a block.
//!
//! Environment: ATTRIBUTION_BENCH_SIZES (comma-separated, default
//! 1000,100000,1000000), ATTRIBUTION_BENCH_BLOCK (B, inferences per default-settlement and claim-phase block,
//! 1000), ATTRIBUTION_BENCH_REPORT_BLOCK (B_r, smallest size / K), ATTRIBUTION_BENCH_FP_EVERY
//! (every how many contributions carry a fingerprint, 1), ATTRIBUTION_BENCH_FP_HASHES
//! (own hashes per fingerprint, 16: each is an index entry, a Jellyfish Merkle leaf
//! that genesis commits in one version, ≈ 1.7 KB of memory each while it does —
//! 16 × 1,000,000 does not fit in 24 GB), ATTRIBUTION_BENCH_BLOCKS
//! (measured rounds of a random and a hot pair, 5), ATTRIBUTION_BENCH_DEFAULT_BLOCKS
//! (default rounds, 3), ATTRIBUTION_BENCH_ENTRIES (K, 8), ATTRIBUTION_BENCH_HOT (1000),
//! ATTRIBUTION_BENCH_CLAIMANTS (per c, 5), ATTRIBUTION_BENCH_REPS (handler runs, 200),
//! ATTRIBUTION_BENCH_BOOKS_MAX (check the module's books — a walk of every
//! contribution — at sizes up to this, 100000); ATTRIBUTION_BENCH_QUICK=1 is sizes
//! 1000,10000,100000 with B = 200, 2 rounds, 2 default rounds, 50 runs.
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The allocator `openledgerd` runs with (configured in `common::init_process`).
#[global_allocator]
static GLOBAL: openledgerd::allocator::Allocator = openledgerd::allocator::Allocator;

mod common;

use cnidarium::{StateDelta, StateRead};
use common::{checked, env, env_flag, median, verification_rate, SigItem};
use cosmos_sdk_proto::Any;
use futures::StreamExt;
use openledger_app::genesis::AppState;
use openledger_attribution::msg::AttributionMsg;
use openledger_attribution::state_ext::AttributionRead;
use openledger_client::txbuilder::{SignerKey, TxSpec};
use openledger_datanet::merkle;
use openledger_datanet::state_ext::DatanetRead;
use openledger_datanet::state_key as dsk;
use openledger_framework::index::be;
use openledger_framework::Address;
use openledger_framework::{ModuleMsg, MsgCtx};
use openledger_proto::cosmos::base::v1beta1::Coin;
use openledger_proto::openledger::attribution::v1 as at;
use openledger_proto::openledger::datanet::v1 as dn;
use openledger_proto::openledger::model::v1 as md;
use openledger_test_driver::{test_key, TestNode};
use prost::Message;
use rand::SeedableRng;
use sha2::{Digest, Sha256};
use tendermint_proto::v0_38::abci::ResponseFinalizeBlock;

const FEE: u128 = 5_000;
const TX_GAS: u64 = 1_000_000;
/// A report delivering a 512-hash receipt: ≈ 1.1 M gas (the index reads).
const REPORT_GAS: u64 = 4_000_000;
/// `max_tx_gas` of the default auth params.
const CLAIM_GAS: u64 = 10_000_000;
const FUND: u128 = 10_000_000_000_000;
const PRICE: u128 = 100_000;
const UNITS: u64 = 10;
const BOND: u128 = 100_000_000;
const DATANET: u64 = 1;
const MODEL: u64 = 1;
const STAKE: u128 = 1_000;
const CEILING_SAMPLE: usize = 5_000;
const SETTLED: &str = "openledger.attribution.v1.EventInferenceSettled";

// Accounts: datanet owner, curator, model owner, 16 operators, B consumers, claimants.
const OWNER: usize = 0;
const CURATOR: usize = 1;
const MODEL_OWNER: usize = 2;
const OPERATOR0: usize = 3;
const OPERATORS: usize = 16;

struct Cfg {
    sizes: Vec<usize>,
    per_block: usize,
    /// Reports (and their payments) per block of a pair: small enough that a block's
    /// B_r × K entries are distinct contributions at the smallest size, so every size
    /// credits the same number of distinct contributions per block.
    report_block: usize,
    blocks: usize,
    default_blocks: usize,
    k: usize,
    claim_cs: Vec<usize>,
    claimants: usize,
    reps: usize,
    books_max: usize,
    /// The hot set: hot report blocks name contributions among the first `hot` only.
    hot: usize,
    fp_every: usize,
    fp_hashes: usize,
    /// Hashes of every receipt's output fingerprint (512: the cap).
    output_hashes: usize,
    /// Boilerplate-heavy: every contribution also carries the WINDOW hashes of the
    /// windows of `max_fingerprint_sharing` contributions it is in (the largest list the
    /// index keeps), and receipts fill up with such hashes, one per first holder;
    /// otherwise receipts fill up with hashes absent from the index (new text).
    boilerplate: bool,
}

impl Cfg {
    fn from_env() -> Cfg {
        let quick = env_flag("ATTRIBUTION_BENCH_QUICK");
        let default_sizes = if quick { "1000,10000,100000" } else { "1000,100000,1000000" };
        let sizes: Vec<usize> = std::env::var("ATTRIBUTION_BENCH_SIZES")
            .unwrap_or_else(|_| default_sizes.into())
            .split(',')
            .map(|s| s.trim().replace('_', "").parse().expect("ATTRIBUTION_BENCH_SIZES: comma-separated integers"))
            .collect();
        let k = env("ATTRIBUTION_BENCH_ENTRIES", 8).clamp(1, 16);
        let hot = env("ATTRIBUTION_BENCH_HOT", 1_000).max(1);
        let per_block = env("ATTRIBUTION_BENCH_BLOCK", if quick { 200 } else { 1_000 }).max(1);
        let smallest = sizes.iter().copied().min().unwrap_or(1).min(hot);
        let cfg = Cfg {
            report_block: env("ATTRIBUTION_BENCH_REPORT_BLOCK", per_block.min(smallest / k)).max(1),
            sizes,
            per_block,
            blocks: env("ATTRIBUTION_BENCH_BLOCKS", if quick { 2 } else { 5 }).max(1),
            default_blocks: env("ATTRIBUTION_BENCH_DEFAULT_BLOCKS", if quick { 2 } else { 3 }).max(1),
            k,
            claim_cs: vec![1, 10, 100],
            claimants: env("ATTRIBUTION_BENCH_CLAIMANTS", 5).max(1),
            reps: env("ATTRIBUTION_BENCH_REPS", if quick { 50 } else { 200 }).max(1),
            books_max: env("ATTRIBUTION_BENCH_BOOKS_MAX", 100_000),
            hot,
            fp_every: env("ATTRIBUTION_BENCH_FP_EVERY", 1).max(1),
            fp_hashes: env("ATTRIBUTION_BENCH_FP_HASHES", 16).max(1),
            output_hashes: env("ATTRIBUTION_BENCH_OUTPUT_HASHES", 512).max(1),
            boilerplate: std::env::var("ATTRIBUTION_BENCH_FINGERPRINTS").is_ok_and(|v| v == "boilerplate"),
        };
        for &n in &cfg.sizes {
            assert!(n >= cfg.claimed_total(), "size {n} is below the claimants' {} contributions", cfg.claimed_total());
            assert!(
                n.min(cfg.hot).div_ceil(cfg.fp_every) >= cfg.k,
                "size {n} (or the hot set) has fewer than K fingerprinted contributions"
            );
            assert!(
                n.min(cfg.hot) >= cfg.report_block * cfg.k,
                "size {n} (or the hot set) has fewer than B_r × K contributions: a block's entries could not be distinct"
            );
        }
        cfg
    }

    fn consumer(&self, j: usize) -> usize {
        OPERATOR0 + OPERATORS + j
    }

    fn claimant(&self, class: usize, m: usize) -> usize {
        OPERATOR0 + OPERATORS + self.per_block + class * self.claimants + m
    }

    fn accounts(&self) -> usize {
        OPERATOR0 + OPERATORS + self.per_block + self.claim_cs.len() * self.claimants
    }

    fn claimed_total(&self) -> usize {
        self.claim_cs.iter().sum::<usize>() * self.claimants
    }

    fn fingerprinted(&self, i: usize) -> bool {
        i.is_multiple_of(self.fp_every)
    }

    /// Whether report `j` of a block touches its K entries. Realistic: every other one
    /// (the rest touch nothing and credit nobody). Boilerplate: every one, because an
    /// output of boilerplate alone is credited to its lowest-id candidates, which at
    /// 1,000 contributions are the same few in every report (their writes merge and
    /// their reads hit the cache) and at 100,000 are not: the sizes would credit
    /// different numbers of distinct contributions a block.
    fn verifiable_report(&self, j: usize) -> bool {
        self.boilerplate || j % 2 == 1
    }

    fn which_verifiable(&self) -> &'static str {
        if self.boilerplate {
            "every report verifiable"
        } else {
            "every other report verifiable"
        }
    }
}

// ---------------------------------------------------------------- block phases

/// (execute ms, merkle ms) of each block the app executed, read from its debug event
/// "executed block" (`App::execute_block`, in `exec::block`).
static PHASES: Mutex<Vec<(u64, u64)>> = Mutex::new(Vec::new());

struct PhaseCapture;

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for PhaseCapture {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        #[derive(Default)]
        struct Fields(Option<u64>, Option<u64>);
        impl tracing::field::Visit for Fields {
            fn record_u64(&mut self, f: &tracing::field::Field, v: u64) {
                match f.name() {
                    "execute_ms" => self.0 = Some(v),
                    "merkle_ms" => self.1 = Some(v),
                    _ => {}
                }
            }
            fn record_debug(&mut self, _: &tracing::field::Field, _: &dyn std::fmt::Debug) {}
        }
        let mut f = Fields::default();
        event.record(&mut f);
        if let (Some(e), Some(m)) = (f.0, f.1) {
            PHASES.lock().expect("phases").push((e, m));
        }
    }
}

/// Logs to stderr at `OPENLEDGER_LOG` (default warn); the app's block phases captured.
fn init_tracing() {
    use tracing_subscriber::prelude::*;
    let filter = tracing_subscriber::EnvFilter::new(std::env::var("OPENLEDGER_LOG").unwrap_or_else(|_| "warn".into()));
    tracing_subscriber::registry()
        .with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr).with_filter(filter))
        .with(
            PhaseCapture
                .with_filter(tracing_subscriber::filter::Targets::new().with_target("openledger_app::exec::block", tracing::Level::DEBUG)),
        )
        .init();
}

/// One timed block.
#[derive(Clone, Copy, Default)]
struct Blk {
    /// Inferences paid, reported or settled, or claims.
    items: usize,
    finalize: f64,
    commit: f64,
    /// From the app's debug log, ms.
    execute_ms: u64,
    merkle_ms: u64,
    gas: u64,
    /// Ceiling, sig/s: measured right before the block, then (`bracket`) the harmonic
    /// mean with one measured right after it, so a VM drifting within seconds hits the
    /// block and its ceiling alike.
    ceiling: f64,
}

impl Blk {
    fn secs(&self) -> f64 {
        self.finalize + self.commit
    }

    fn bracket(&mut self, after: f64) {
        self.ceiling = 2.0 / (1.0 / self.ceiling + 1.0 / after);
    }
}

/// FinalizeBlock then Commit, timed separately; every tx must succeed.
fn run_block(node: &mut TestNode, txs: Vec<Vec<u8>>, ceiling: f64) -> (Blk, ResponseFinalizeBlock) {
    PHASES.lock().expect("phases").clear();
    let t0 = Instant::now();
    let resp = node.finalize_only(txs);
    let t1 = Instant::now();
    node.commit();
    let t2 = Instant::now();
    if let Some((i, r)) = resp.tx_results.iter().enumerate().find(|(_, r)| r.code != 0) {
        panic!("tx {i} of block {} failed: code {} {}", node.height, r.code, r.log);
    }
    let (execute_ms, merkle_ms) = PHASES.lock().expect("phases").last().copied().unwrap_or_default();
    let gas = resp.tx_results.iter().map(|r| r.gas_used as u64).sum();
    (Blk { items: 0, finalize: (t1 - t0).as_secs_f64(), commit: (t2 - t1).as_secs_f64(), execute_ms, merkle_ms, gas, ceiling }, resp)
}

/// The first message response of tx `i` of a block.
fn response<R: Message + Default>(resp: &ResponseFinalizeBlock, i: usize) -> R {
    let data = cosmos_sdk_proto::cosmos::base::abci::v1beta1::TxMsgData::decode(resp.tx_results[i].data.as_ref()).expect("tx data");
    R::decode(data.msg_responses[0].value.as_slice()).expect("msg response")
}

// ---------------------------------------------------------------- messages

fn uopen(n: u128) -> Option<Coin> {
    Some(Coin { denom: "uopen".into(), amount: n.to_string() })
}

fn any<M: Message>(pkg: &str, name: &str, m: &M) -> Any {
    Any { type_url: format!("/openledger.{pkg}.v1.{name}"), value: m.encode_to_vec() }
}

fn content_hash(i: usize) -> Vec<u8> {
    Sha256::digest(format!("openledger attribution bench contribution {i}")).to_vec()
}

/// `k` distinct hashes divisible by the default modulus (16), sorted (the shape
/// `fingerprint::compute` gives), synthesised from `i`.
fn fingerprint(i: usize, k: usize) -> Vec<u64> {
    let mut set = std::collections::BTreeSet::new();
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

/// Boilerplate: hash `g` (one per contribution) is shared by the window of WINDOW
/// contributions g..g+WINDOW (the default `max_fingerprint_sharing`: the most a hash can
/// be shared and still count), so contribution `i` carries the WINDOW hashes of the
/// windows it is in. Hash `g`'s first holder is contribution `g`: a receipt of distinct
/// boilerplate hashes has as many distinct candidates as hashes, at every size — the
/// most candidates a receipt can make, each from the longest list the index keeps.
const WINDOW: usize = 32;

/// Boilerplate hash `g`.
fn boiler(g: usize) -> u64 {
    let d = Sha256::digest(format!("boilerplate {g}"));
    u64::from_be_bytes(d[..8].try_into().expect("8 bytes")) & !(openledger_datanet::fingerprint::DEFAULT_MODULUS - 1)
}

/// The fingerprint of contribution `i`: its own hashes, and the boilerplate of every
/// window it is in.
fn contribution_fingerprint(cfg: &Cfg, i: usize) -> Vec<u64> {
    let mut fp = fingerprint(i, cfg.fp_hashes);
    if cfg.boilerplate {
        fp.extend((i.saturating_sub(WINDOW - 1)..=i).map(boiler));
        fp.sort_unstable();
        fp.dedup();
    }
    fp
}

/// Fill an output fingerprint up to the receipt size: boilerplate of random full
/// windows (first holders all distinct), or hashes no contribution has.
fn fill_output(cfg: &Cfg, out: &mut Vec<u64>, n: usize, seed: u64) {
    // Hashes of new text: one synthesised set per receipt, taken in order.
    let fresh = if cfg.boilerplate { vec![] } else { fingerprint(usize::MAX - seed as usize, cfg.output_hashes) };
    // Windows wholly inside the datanet: each lists WINDOW contributions.
    let windows = n.saturating_sub(WINDOW - 1).max(1);
    let mut j = 0usize;
    while out.len() < cfg.output_hashes {
        let h = if cfg.boilerplate {
            let d = Sha256::digest(format!("window pick {seed} {j}"));
            boiler(u64::from_be_bytes(d[..8].try_into().expect("8 bytes")) as usize % windows)
        } else if let Some(&h) = fresh.get(j) {
            h
        } else {
            // Every fresh hash was already in the output: more new text.
            fingerprint(usize::MAX - seed as usize, j + 1)[j]
        };
        if let Err(at) = out.binary_search(&h) {
            out.insert(at, h);
        }
        j += 1;
    }
}

fn pay_msg(consumer: &Address) -> at::MsgPayInference {
    at::MsgPayInference { consumer: consumer.to_string(), model_id: MODEL, units: UNITS, max_fee: uopen(PRICE * u128::from(UNITS)) }
}

/// K random contributions among the first `span` (the whole datanet, or the hot set),
/// fingerprinted ones if `verifiable`: the entries of one report (handlers alone).
fn random_entries(cfg: &Cfg, span: usize, verifiable: bool, rng: &mut rand::rngs::StdRng) -> Vec<usize> {
    if verifiable {
        let slots = span.div_ceil(cfg.fp_every);
        rand::seq::index::sample(rng, slots, cfg.k).into_vec().into_iter().map(|s| s * cfg.fp_every).collect()
    } else {
        rand::seq::index::sample(rng, span, cfg.k).into_vec()
    }
}

/// An operator's delivery of the consumer's signed receipt for `inference_id`.
/// `verifiable`: the output shares `j + 1` hashes with the fingerprint of the
/// contribution at index `idx[j]` (id idx + 1), so the chain finds those K and scores
/// them apart; otherwise the output touches no contribution (everything goes to the
/// pools), which measures the receipt's fixed cost.
#[allow(clippy::too_many_arguments)]
fn report_msg(
    cfg: &Cfg,
    n: usize,
    idx: &[usize],
    operator: &Address,
    consumer: &SignerKey,
    inference_id: u64,
    verifiable: bool,
) -> at::MsgSubmitAttribution {
    let mut output: Vec<u64> = if verifiable {
        idx.iter().enumerate().flat_map(|(j, &i)| fingerprint(i, cfg.fp_hashes).into_iter().take(j + 1)).collect()
    } else {
        vec![]
    };
    output.sort_unstable();
    output.dedup();
    fill_output(cfg, &mut output, n, inference_id);
    let receipt = at::Receipt {
        chain_id: openledger_test_driver::TEST_CHAIN_ID.into(),
        inference_id,
        output_hash: Sha256::digest(inference_id.to_be_bytes()).to_vec(),
        output_fingerprint: output,
        operator: operator.to_string(),
    };
    let receipt_signature = consumer.sign(&openledger_types::receipt::sign_bytes(&receipt));
    at::MsgSubmitAttribution { operator: operator.to_string(), inference_id, receipt: Some(receipt), receipt_signature }
}

fn claim_msg(contributor: &Address) -> at::MsgClaimRewards {
    at::MsgClaimRewards { contributor: contributor.to_string(), contribution_ids: vec![], start_after: 0 }
}

// ---------------------------------------------------------------- the datanet

/// A datanet of N accepted contributions in version 1, as records.
struct Fixture {
    /// Genesis of every module, the contributions and the version included.
    state: AppState,
}

/// The genesis of size `n`: funded accounts, one datanet of `n` accepted contributions
/// in published version 1 (stakes refunded), attribution params for the bench.
fn fixture(cfg: &Cfg, n: usize, addrs: &[Address], builder: &openledger_test_driver::TestNodeBuilder) -> Fixture {
    let mut state = builder.app_state();
    // Who owns each contribution: the claimants' contributions evenly spaced over the
    // datanet, the rest shared by n/10 unfunded contributors.
    let total = cfg.claimed_total();
    let mut owner = vec![u32::MAX; n];
    let mut slot = 0;
    for (class, &c) in cfg.claim_cs.iter().enumerate() {
        for m in 0..cfg.claimants {
            for _ in 0..c {
                owner[slot * n / total] = cfg.claimant(class, m) as u32;
                slot += 1;
            }
        }
    }
    let others: Vec<(Address, String)> = (0..(n / 10).max(1))
        .map(|j| {
            let a = Address::from_slice(&Sha256::digest(format!("attribution bench contributor {j}"))[..20]).expect("20 bytes");
            (a, a.to_string())
        })
        .collect();
    let funded: Vec<String> = addrs.iter().map(|a| a.to_string()).collect();
    let terms = dn::ContributionTerms { reject_slash_bps: 2_000, challenge_reward_bps: 5_000 };
    let mut leaves = Vec::with_capacity(n);
    let mut total_weight: u128 = 0;
    let contributions: Vec<dn::Contribution> = (0..n)
        .map(|i| {
            let id = i as u64 + 1;
            let quality = 5_000 + (id * 37 % 5_001) as u32;
            let size = 2_048 + (i as u64 * 7_919) % 1_000_000;
            // A stand-in for the hashes it brought (its weight's second factor).
            let weight = openledger_datanet::reward_weight(quality, 1 + size % 512);
            let hash = content_hash(i);
            leaves.push(merkle::leaf_hash(id, &hash, weight));
            total_weight += weight;
            let contributor = if owner[i] == u32::MAX { others[i % others.len()].1.clone() } else { funded[owner[i] as usize].clone() };
            dn::Contribution {
                id,
                datanet_id: DATANET,
                contributor,
                content_hash: hash,
                size,
                uri: format!("ipfs://bafkrei{i:052x}"),
                fingerprint: if cfg.fingerprinted(i) { contribution_fingerprint(cfg, i) } else { vec![] },
                stake: uopen(STAKE),
                status: dn::ContributionStatus::Accepted as i32,
                quality_bps: quality,
                weight: weight.to_string(),
                submitted_height: 0,
                claim_height: 0,
                reviewed_height: 0,
                reviewer: funded[CURATOR].clone(),
                reject_reason: String::new(),
                terms: Some(terms),
                // Refunded: the stake is back with its contributor.
                stake_release_height: 0,
                position: i as u64,
                first_version: 1,
                open_challenge_id: 0,
                invalidated_version: 0,
            }
        })
        .collect();
    state.datanet.params = Some(openledger_datanet::component::default_params());
    state.datanet.datanets = vec![dn::Datanet {
        id: DATANET,
        owner: funded[OWNER].clone(),
        name: "Attribution scale benchmark".into(),
        description: "The training datanet of the benchmark's model".into(),
        tags: vec!["bench".into()],
        metadata_uri: "ipfs://bench".into(),
        curators: vec![funded[CURATOR].clone()],
        policy: dn::ContributionPolicy::Open as i32,
        allow_list: vec![],
        min_stake: uopen(STAKE),
        terms: Some(terms),
        fingerprint: Some(dn::FingerprintParams { modulus: 16, max_hashes: 512, near_duplicate_bps: 0 }),
        treasury: openledger_datanet::treasury(DATANET).to_string(),
        created_height: 0,
        latest_version: 1,
        contribution_count: n as u64,
        accepted_count: n as u64,
        accepted_weight: total_weight.to_string(),
        tree_size: n as u64,
        model_terms: None,
        curators_bps: 0,
    }];
    state.datanet.contributions = contributions;
    state.datanet.versions = vec![dn::Version {
        datanet_id: DATANET,
        version: 1,
        contribution_count: n as u64,
        total_weight: total_weight.to_string(),
        merkle_root: merkle::root_of(&leaves).to_vec(),
        height: 0,
        publisher: funded[OWNER].clone(),
    }];
    state.datanet.next_datanet_id = 2;
    state.datanet.next_contribution_id = n as u64 + 1;
    state.model.params = Some(openledger_model::component::default_params());
    let mut ap = openledger_attribution::component::default_params();
    ap.report_window_blocks = 1;
    ap.max_default_settlements_per_block = cfg.per_block as u32;
    // The chain credits exactly the K entries a report touches: with more slots, a
    // boilerplate receipt fills the rest with its lowest-id candidates, the same few at
    // 1,000 contributions and different ones at 1,000,000 (see `verifiable_report`).
    ap.max_entries = cfg.k as u32;
    state.attribution.params = Some(ap);
    Fixture { state }
}

// ---------------------------------------------------------------- measuring helpers

/// Median µs of an attribution handler run alone, in process, on a fresh overlay of the
/// latest committed state (nothing is committed); one prepared message per run.
fn time_handler(node: &TestNode, msgs: &[AttributionMsg]) -> f64 {
    let storage = node.app.storage().clone();
    let height = node.height + 1;
    node.rt().block_on(async {
        let mut times = Vec::with_capacity(msgs.len());
        for msg in msgs {
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

/// Median µs of `settle::settle` with no credits (a default settlement's core) of the
/// given pending inferences, each on a fresh overlay.
fn time_settle(node: &TestNode, ids: &[u64]) -> f64 {
    let storage = node.app.storage().clone();
    let height = node.height + 1;
    node.rt().block_on(async {
        let mut times = Vec::with_capacity(ids.len());
        for id in ids {
            let mut delta = StateDelta::new(storage.latest_snapshot());
            let inf = delta.inference(*id).await.expect("read").expect("inference");
            let t = Instant::now();
            openledger_attribution::settle::settle(&mut delta, &inf, Default::default(), height, None).await.expect("settle");
            times.push(t.elapsed().as_secs_f64() * 1e6);
        }
        median(&times)
    })
}

/// Median µs of the attribution end-block at the next height, `reps` runs on fresh
/// overlays, and the number of inferences it settled.
fn time_end_block(node: &TestNode, reps: usize) -> (f64, usize) {
    let storage = node.app.storage().clone();
    let height = node.height + 1;
    node.rt().block_on(async {
        let mut times = Vec::with_capacity(reps);
        let mut settled = 0;
        for _ in 0..reps {
            let mut delta = StateDelta::new(storage.latest_snapshot());
            let mut end = StateDelta::new(&mut delta);
            let t = Instant::now();
            let ctx = openledger_framework::BlockCtx { height, time_seconds: 0, votes: &[] };
            <openledger_attribution::AttributionModule as openledger_framework::Module>::end_block(&mut end, &ctx)
                .await
                .expect("end block");
            times.push(t.elapsed().as_secs_f64() * 1e6);
            let (_, events) = end.apply();
            settled = events.iter().filter(|e| e.kind == SETTLED).count();
        }
        (median(&times), settled)
    })
}

/// Median µs of iterating the verifiable prefix `prefix` of the latest committed state
/// (`reps` times), and the number of live entries it holds.
fn time_scan(node: &TestNode, prefix: &str, reps: usize) -> (f64, usize) {
    let storage = node.app.storage().clone();
    node.rt().block_on(async {
        let mut times = Vec::with_capacity(reps);
        let mut live = 0;
        for _ in 0..reps {
            let snap = storage.latest_snapshot();
            let t = Instant::now();
            let mut stream = std::pin::pin!(snap.prefix_raw(prefix));
            live = 0;
            while let Some(item) = stream.next().await {
                item.expect("read");
                live += 1;
            }
            times.push(t.elapsed().as_secs_f64() * 1e6);
        }
        (median(&times), live)
    })
}

/// Process CPU time (user + system), seconds.
fn cpu_seconds() -> f64 {
    use openledger_loadgen::cpu;
    cpu::process_ticks("/proc/self/stat").unwrap_or(0) as f64 / cpu::TICKS
}

/// Wait (at most `max`) until the process (RocksDB's background compaction included)
/// uses under 5% of a core for two seconds in a row; returns the seconds waited.
fn wait_quiet(max: Duration) -> f64 {
    let start = Instant::now();
    let mut quiet = 0;
    let mut last = cpu_seconds();
    while quiet < 2 && start.elapsed() < max {
        std::thread::sleep(Duration::from_secs(1));
        let now = cpu_seconds();
        quiet = if now - last < 0.05 { quiet + 1 } else { 0 };
        last = now;
    }
    start.elapsed().as_secs_f64()
}

/// Peak resident memory since the last reset, MB (`VmHWM`).
fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1e3)
}

fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// Bytes of the files under `dir`, RocksDB's info logs left out.
fn dir_size(dir: &Path) -> u64 {
    let mut all = 0;
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let Ok(md) = e.metadata() else { continue };
            if md.is_dir() {
                all += dir_size(&e.path());
            } else if !e.file_name().to_string_lossy().starts_with("LOG") {
                all += md.len();
            }
        }
    }
    all
}

// ---------------------------------------------------------------- one chain

#[derive(Default)]
struct Out {
    n: usize,
    build_s: f64,
    setup_s: f64,
    setup_rss_mb: f64,
    disk_mb: f64,
    pay: Vec<Blk>,
    report: Vec<Blk>,
    /// Report blocks naming contributions of the hot set only.
    hot: Vec<Blk>,
    empty: Vec<Blk>,
    default: Vec<Blk>,
    /// (c, claims block) per class.
    claims: Vec<(usize, Blk)>,
    gas_pay: Vec<f64>,
    gas_plain: Vec<f64>,
    gas_verifiable: Vec<f64>,
    /// Gas per claim, per class.
    gas_claim: Vec<f64>,
    h_pay: f64,
    h_plain: f64,
    h_verifiable: f64,
    h_hot_plain: f64,
    h_hot_verifiable: f64,
    h_settle: f64,
    h_end_block: f64,
    h_claim: Vec<f64>,
    /// Store reads alone, µs: a random contribution record, an absent key, a random
    /// non-verifiable list entry.
    reads: [f64; 3],
    /// (inferences settled so far, attribution end-block with nothing due µs, scan of
    /// the empty due queue alone µs).
    idle: Vec<(u64, f64, f64)>,
}

/// One chain of size N and its measurements.
struct Chain<'a> {
    cfg: &'a Cfg,
    keys: &'a [SignerKey],
    addrs: &'a [Address],
    threads: usize,
    n: usize,
    node: TestNode,
    seqs: Vec<u64>,
    rng: rand::rngs::StdRng,
    /// Ceiling sample for blocks without txs, and where the next sample starts.
    pool: Vec<SigItem>,
    sample_at: usize,
    paid: u64,
    reported: u64,
    defaulted: u64,
    out: Out,
}

impl<'a> Chain<'a> {
    fn setup(cfg: &'a Cfg, n: usize, keys: &'a [SignerKey], addrs: &'a [Address], threads: usize) -> Chain<'a> {
        let mut out = Out { n, ..Default::default() };
        reset_peak_rss();
        eprintln!("[{n}] setup: building {n} contributions…");
        let t = Instant::now();
        let builder = || TestNode::builder().funded_accounts(keys.len() as u64, FUND);
        let f = fixture(cfg, n, addrs, &builder());
        out.build_s = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let node = builder().with_app_state(f.state).build();
        // Reopen: RocksDB flushes the state to SST files, so every size starts from a
        // state at rest on disk (a small one would otherwise be read from the memtable).
        let node = node.restart();
        out.setup_s = t.elapsed().as_secs_f64();
        out.setup_rss_mb = peak_rss_mb();
        out.disk_mb = dir_size(&node.dir.join("state")) as f64 / 1e6;
        eprintln!(
            "[{n}] setup took {:.1} s (+{:.1} s building the records), peak RSS {:.0} MB",
            out.setup_s, out.build_s, out.setup_rss_mb
        );
        {
            let snap = node.app.storage().latest_snapshot();
            let d = node.rt().block_on(snap.datanet(DATANET)).expect("read").expect("datanet");
            assert_eq!((d.accepted_count, d.latest_version), (n as u64, 1));
        }
        Chain {
            cfg,
            keys,
            addrs,
            threads,
            n,
            node,
            seqs: vec![0; keys.len()],
            rng: rand::rngs::StdRng::seed_from_u64(n as u64),
            pool: Vec::new(),
            sample_at: 0,
            paid: 0,
            reported: 0,
            defaulted: 0,
            out,
        }
    }

    /// Sign one tx per job (signer, messages, gas) with the next sequences; returns the
    /// txs and their ceiling items.
    fn sign(&mut self, jobs: Vec<(usize, Vec<Any>, u64)>) -> (Vec<Vec<u8>>, Vec<SigItem>) {
        let keys = self.keys;
        let jobs: Vec<(TxSpec, &SignerKey, u64, u64)> = jobs
            .into_iter()
            .map(|(who, msgs, gas)| {
                let s = self.seqs[who];
                self.seqs[who] += 1;
                (TxSpec::new(msgs, FEE, gas), &keys[who], who as u64, s)
            })
            .collect();
        let (txs, items): (Vec<Vec<u8>>, Vec<Option<SigItem>>) = common::sign_all(&jobs, self.threads).into_iter().unzip();
        (txs, items.into_iter().flatten().collect())
    }

    /// A ceiling for a block without txs: a fixed-size sample of the pool, rotating.
    fn pooled_ceiling(&mut self) -> f64 {
        let pool = &self.pool;
        let sample: Vec<SigItem> = (0..CEILING_SAMPLE.min(pool.len())).map(|k| pool[(self.sample_at + k) % pool.len()].clone()).collect();
        self.sample_at += 997;
        verification_rate(&sample, self.threads)
    }

    /// Block 1: the model, trained on version 1 of the datanet.
    fn register_model(&mut self) {
        let a = self.addrs;
        let register = md::MsgRegisterModel {
            owner: a[MODEL_OWNER].to_string(),
            name: "attribution bench model".into(),
            base_model: String::new(),
            artifact_hash: vec![1; 32],
            artifact_uri: "ipfs://model".into(),
            training_set: vec![md::TrainingEntry { datanet_id: DATANET, version: 1, weight_bps: 10_000 }],
            operators: (0..OPERATORS).map(|o| a[OPERATOR0 + o].to_string()).collect(),
            price_per_unit: uopen(PRICE),
            fee_split: Some(md::FeeSplit {
                owner_bps: 4_000,
                contributors_bps: 4_000,
                datanet_owners_bps: 1_000,
                protocol_bps: 1_000,
                operator_bps: 0,
            }),
            bond: uopen(BOND),
        };
        let (txs, _) = self.sign(vec![(MODEL_OWNER, vec![any("model", "MsgRegisterModel", &register)], TX_GAS)]);
        let (_, resp) = run_block(&mut self.node, txs, f64::NAN);
        assert_eq!(response::<md::MsgRegisterModelResponse>(&resp, 0).model_id, MODEL);
    }

    /// The attribution end-block with nothing due, and the due-queue scan alone.
    fn idle(&mut self) {
        let (end_block, settled) = time_end_block(&self.node, self.cfg.reps);
        assert_eq!(settled, 0);
        let (scan, live) = time_scan(&self.node, openledger_attribution::state_key::DUE, self.cfg.reps);
        assert_eq!(live, 0, "the due queue is empty");
        self.out.idle.push((self.reported + self.defaulted, end_block, scan));
    }

    /// Store reads alone on the committed state, each of a different random key.
    fn read_costs(&mut self) {
        let (n, reps) = (self.n as u64, self.cfg.reps.max(1000));
        let ids: Vec<u64> = rand::seq::index::sample(&mut self.rng, self.n, reps.min(self.n)).into_iter().map(|i| i as u64 + 1).collect();
        let snap = self.node.app.storage().latest_snapshot();
        let reads = self.node.rt().block_on(async move {
            let mut t = [Vec::new(), Vec::new(), Vec::new()];
            for id in ids {
                let t0 = Instant::now();
                assert!(snap.get_raw(&dsk::contribution(id)).await.expect("read").is_some());
                let t1 = Instant::now();
                assert!(snap.get_raw(&openledger_attribution::state_key::rewards(id)).await.expect("read").is_none());
                let t2 = Instant::now();
                let key = [dsk::ix_datanet_contributions(DATANET).as_slice(), &be(id)].concat();
                assert!(snap.nonverifiable_get_raw(&key).await.expect("read").is_some());
                let t3 = Instant::now();
                for (v, d) in t.iter_mut().zip([t1 - t0, t2 - t1, t3 - t2]) {
                    v.push(d.as_secs_f64() * 1e6);
                }
            }
            t.map(|v| median(&v))
        });
        eprintln!("[{n}] store reads alone: contribution {:.1} µs, absent key {:.1} µs, list entry {:.1} µs", reads[0], reads[1], reads[2]);
        self.out.reads = reads;
    }

    /// A block of B payments (one per consumer); returns it and the inference ids.
    fn pay_block(&mut self, b: usize) -> (Blk, Vec<u64>) {
        let (cfg, a) = (self.cfg, self.addrs);
        let (txs, items) = self.sign(
            (0..b).map(|j| (cfg.consumer(j), vec![any("attribution", "MsgPayInference", &pay_msg(&a[cfg.consumer(j)]))], TX_GAS)).collect(),
        );
        let ceiling = verification_rate(&items, self.threads);
        if self.pool.len() < CEILING_SAMPLE {
            let room = CEILING_SAMPLE - self.pool.len();
            self.pool.extend(items.iter().take(room).cloned());
        }
        let (mut blk, resp) = run_block(&mut self.node, txs, ceiling);
        blk.bracket(verification_rate(&items, self.threads));
        blk.items = b;
        let ids: Vec<u64> = (0..b).map(|i| response::<at::MsgPayInferenceResponse>(&resp, i).inference_id).collect();
        self.out.gas_pay.extend(resp.tx_results.iter().map(|r| r.gas_used as f64));
        self.paid += b as u64;
        (blk, ids)
    }

    /// The report handler alone (µs, median of REPS), plain then verifiable, each run
    /// with K fresh entries among the first `span` on one of the inferences `ids`.
    fn time_reports(&mut self, span: usize, ids: &[u64]) -> (f64, f64) {
        let (cfg, a, keys) = (self.cfg, self.addrs, self.keys);
        let mut time = |verifiable: bool| {
            let msgs: Vec<AttributionMsg> = (0..cfg.reps)
                .map(|r| {
                    let op = a[OPERATOR0 + r % OPERATORS];
                    let (id, consumer) = (ids[r % ids.len()], &keys[cfg.consumer(r % ids.len())]);
                    checked(&report_msg(cfg, self.n, &random_entries(cfg, span, verifiable, &mut self.rng), &op, consumer, id, verifiable))
                })
                .collect();
            time_handler(&self.node, &msgs)
        };
        (time(false), time(true))
    }

    /// A pay block, then a block of B reports on those inferences (naming contributions
    /// of the whole datanet, or of the hot set); at pair 1, the handlers alone between
    /// the two.
    fn pair(&mut self, pair: usize, hot: bool) {
        let (cfg, a, b, n, keys) = (self.cfg, self.addrs, self.cfg.report_block, self.n, self.keys);
        let span = if hot { cfg.hot.min(n) } else { n };
        let (pay, ids) = self.pay_block(b);
        if pair == 1 && !hot {
            let pays: Vec<AttributionMsg> = (0..cfg.reps).map(|r| checked(&pay_msg(&a[cfg.consumer(r % b)]))).collect();
            self.out.h_pay = time_handler(&self.node, &pays);
            (self.out.h_plain, self.out.h_verifiable) = self.time_reports(span, &ids);
            let sample: Vec<u64> = (0..cfg.reps).map(|r| ids[r % b]).collect();
            self.out.h_settle = time_settle(&self.node, &sample);
        }
        if pair == 1 && hot {
            (self.out.h_hot_plain, self.out.h_hot_verifiable) = self.time_reports(span, &ids);
        }
        // The block's B_r × K entries: distinct contributions of the span, K per report.
        let picks = rand::seq::index::sample(&mut self.rng, span, b * cfg.k).into_vec();
        let jobs: Vec<(usize, Vec<Any>, u64)> = ids
            .iter()
            .zip(picks.chunks(cfg.k))
            .enumerate()
            .map(|(j, (id, idx))| {
                let op = OPERATOR0 + j % OPERATORS;
                (
                    op,
                    vec![any(
                        "attribution",
                        "MsgSubmitAttribution",
                        &report_msg(
                            cfg,
                            n,
                            idx,
                            &a[op],
                            &keys[cfg.consumer(j)],
                            *id,
                            cfg.verifiable_report(j) && idx.iter().all(|&i| cfg.fingerprinted(i)),
                        ),
                    )],
                    REPORT_GAS,
                )
            })
            .collect();
        let (txs, items) = self.sign(jobs);
        let ceiling = verification_rate(&items, self.threads);
        let (mut rep, resp) = run_block(&mut self.node, txs, ceiling);
        rep.bracket(verification_rate(&items, self.threads));
        rep.items = b;
        self.reported += b as u64;
        if !hot {
            for (j, r) in resp.tx_results.iter().enumerate() {
                (if self.cfg.verifiable_report(j) { &mut self.out.gas_verifiable } else { &mut self.out.gas_plain })
                    .push(r.gas_used as f64);
            }
        }
        println!(
            "[{n:>7}] {} pair {pair}: pay {:>6.1} ms ({:>3} + {:>3} ms merkle) | report {:>6.1} ms (finalize {:>6.1}, commit {:>5.1}; execute {:>4} ms, merkle {:>4} ms) {:>6.1} µs/settled, {:>5.0} settled/s, ceiling {:>6.0} sig/s, ratio {:.3}{}",
            if hot { "hot   " } else { "random" },
            pay.secs() * 1e3,
            pay.execute_ms,
            pay.merkle_ms,
            rep.secs() * 1e3,
            rep.finalize * 1e3,
            rep.commit * 1e3,
            rep.execute_ms,
            rep.merkle_ms,
            rep.secs() * 1e6 / b as f64,
            b as f64 / rep.secs(),
            ceiling,
            b as f64 / rep.secs() / ceiling,
            if pair == 0 { "  (warm-up)" } else { "" }
        );
        if pair > 0 {
            self.out.pay.push(pay);
            (if hot { &mut self.out.hot } else { &mut self.out.report }).push(rep);
        }
    }

    /// A pay block, an empty block, and the block whose end-block settles the B.
    fn default_round(&mut self, round: usize) {
        let (b, n) = (self.cfg.per_block, self.n);
        let (pay, _) = self.pay_block(b);
        self.out.pay.push(pay);
        // Deadline = pay height + 1: nothing is due at the end of the next block.
        let ceiling = self.pooled_ceiling();
        let (mut empty, resp) = run_block(&mut self.node, vec![], ceiling);
        empty.bracket(self.pooled_ceiling());
        assert_eq!(resp.events.iter().filter(|e| e.r#type == SETTLED).count(), 0);
        empty.items = 1;
        if round == 0 {
            let (us, settled) = time_end_block(&self.node, 5);
            assert_eq!(settled, b, "the end-block on an overlay settles the B due");
            self.out.h_end_block = us / b as f64;
        }
        let ceiling = self.pooled_ceiling();
        let (mut settle, resp) = run_block(&mut self.node, vec![], ceiling);
        settle.bracket(self.pooled_ceiling());
        settle.items = b;
        assert_eq!(resp.events.iter().filter(|e| e.r#type == SETTLED).count(), b, "the end-block settles the B due inferences");
        self.defaulted += b as u64;
        println!(
            "[{n:>7}] default round {round}: empty block {:>5.1} ms | settle block {:>6.1} ms (execute {:>4} ms, merkle {:>4} ms) {:>6.1} µs/settled, {:>5.0} settled/s, ceiling {:>6.0} sig/s, ratio {:.3}",
            empty.secs() * 1e3,
            settle.secs() * 1e3,
            settle.execute_ms,
            settle.merkle_ms,
            settle.secs() * 1e6 / b as f64,
            b as f64 / settle.secs(),
            settle.ceiling,
            b as f64 / settle.secs() / settle.ceiling
        );
        self.out.empty.push(empty);
        self.out.default.push(settle);
    }

    /// The claimants owning `c` contributions each: the claim handler alone, then a
    /// block of their claims.
    fn claims(&mut self, class: usize) {
        let (cfg, a, n) = (self.cfg, self.addrs, self.n);
        let c = cfg.claim_cs[class];
        let msgs: Vec<AttributionMsg> = (0..cfg.reps)
            .map(|r| {
                let who = a[cfg.claimant(class, r % cfg.claimants)];
                checked(&claim_msg(&who))
            })
            .collect();
        let h = time_handler(&self.node, &msgs);
        self.out.h_claim.push(h);
        let (txs, items) = self.sign(
            (0..cfg.claimants)
                .map(|m| {
                    (cfg.claimant(class, m), vec![any("attribution", "MsgClaimRewards", &claim_msg(&a[cfg.claimant(class, m)]))], CLAIM_GAS)
                })
                .collect(),
        );
        let ceiling = verification_rate(&items, self.threads);
        let (mut blk, resp) = run_block(&mut self.node, txs, ceiling);
        blk.bracket(verification_rate(&items, self.threads));
        blk.items = cfg.claimants;
        for m in 0..cfg.claimants {
            let r: at::MsgClaimRewardsResponse = response(&resp, m);
            assert_eq!(r.contributions as usize, c, "a claim of all walks the claimant's {c} contributions");
            assert!(r.claimed.parse::<u128>().expect("amount") > 0, "every claimant has earned something");
        }
        let gas = blk.gas as f64 / cfg.claimants as f64;
        self.out.gas_claim.push(gas);
        println!(
            "[{n:>7}] claims, c = {c:>3}: handler alone {h:>8.1} µs ({:>5.1} µs per contribution) | block of {} claims {:>6.2} ms, gas per claim {gas:.0}",
            h / c as f64,
            cfg.claimants,
            blk.secs() * 1e3
        );
        self.out.claims.push((c, blk));
    }

    /// Every inference settled as intended; the books (at sizes up to BOOKS_MAX).
    fn check(&self) {
        let r = self.node.query(
            "/openledger.attribution.v1.Query/ModelStats",
            at::QueryModelStatsRequest { model_id: MODEL }.encode_to_vec(),
            0,
        );
        assert_eq!(r.code, 0, "{}", r.log);
        let stats = at::QueryModelStatsResponse::decode(r.value.as_ref()).expect("stats").stats.expect("stats");
        assert_eq!(
            (stats.inferences, stats.settled_reported, stats.settled_default),
            (self.paid, self.reported, self.paid - self.reported)
        );
        if self.n <= self.cfg.books_max {
            let snap = self.node.app.storage().latest_snapshot();
            let (books, dust) =
                self.node.rt().block_on(openledger_attribution::component::check_books(&snap)).expect("attribution books balance");
            eprintln!(
                "[{}] books balance: paid in {}, paid out {}, pools {}, credits {}; rounding dust {dust}",
                self.n, books.paid_in, books.paid_out, books.pools, books.credits
            );
        }
    }
}

// ---------------------------------------------------------------- main

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len().max(1) as f64
}

/// The mean gas of a kind of report, or "-" where the run has none (boilerplate
/// reports are all verifiable).
fn mean_gas(v: &[f64]) -> String {
    if v.is_empty() {
        "-".into()
    } else {
        format!("{:.0}", mean(v))
    }
}

/// Σ items / Σ seconds of a set of blocks.
fn rate(blocks: &[Blk]) -> f64 {
    blocks.iter().map(|b| b.items).sum::<usize>() as f64 / blocks.iter().map(Blk::secs).sum::<f64>()
}

/// Σ ceiling time / Σ block time, i.e. (items/s) ÷ (sig/s) with the ceiling paired per block.
fn ratio(blocks: &[Blk]) -> f64 {
    blocks.iter().map(|b| b.items as f64 / b.ceiling).sum::<f64>() / blocks.iter().map(Blk::secs).sum::<f64>()
}

/// Median over blocks of µs per item.
fn per_item_us(blocks: &[Blk]) -> f64 {
    median(&blocks.iter().map(|b| b.secs() * 1e6 / b.items.max(1) as f64).collect::<Vec<_>>())
}

/// Median over blocks of the cost per item in signature verifications: its time × the
/// block's own (bracketing) ceiling. The VM's speed cancels out, block by block.
fn per_item_sigs(blocks: &[Blk]) -> f64 {
    median(&blocks.iter().map(|b| b.secs() * b.ceiling / b.items.max(1) as f64).collect::<Vec<_>>())
}

fn mean_ms(blocks: &[Blk], f: fn(&Blk) -> u64) -> f64 {
    mean(&blocks.iter().map(|b| f(b) as f64).collect::<Vec<_>>())
}

fn main() {
    openledgerd::allocator::configure();
    init_tracing();
    let cfg = Cfg::from_env();
    let threads = common::threads();
    let keys: Vec<SignerKey> = (0..cfg.accounts() as u64).map(test_key).collect();
    let addrs: Vec<Address> = keys.iter().map(|k| k.address()).collect();
    println!(
        "attribution_scale: sizes {:?} (genesis import); blocks of {} inferences, {} measured pay + report pairs (+1 warm-up), {} default rounds, K = {} entries ({}), claimants owning {:?} contributions ({} each), {} handler runs, {threads} threads",
        cfg.sizes, cfg.per_block, cfg.blocks, cfg.default_blocks, cfg.k, cfg.which_verifiable(), cfg.claim_cs, cfg.claimants, cfg.reps
    );
    println!(
        "receipts of {} output hashes; fingerprints {} ({} own hashes per contribution{})",
        cfg.output_hashes,
        if cfg.boilerplate { "boilerplate-heavy" } else { "realistic" },
        cfg.fp_hashes,
        if cfg.boilerplate {
            format!(
                " + {WINDOW} boilerplate, each shared by a window of {WINDOW}; receipts filled with boilerplate of distinct first holders, each hash listing {WINDOW} contributions"
            )
        } else {
            "; receipts filled with hashes of new text".to_string()
        }
    );
    let start = Instant::now();
    let mut chains: Vec<Chain> = cfg.sizes.iter().map(|&n| Chain::setup(&cfg, n, &keys, &addrs, threads)).collect();
    let setup_s = start.elapsed().as_secs_f64();
    eprintln!("waiting for RocksDB's background work to finish…");
    let quiet_s = wait_quiet(Duration::from_secs(300));
    let run_start = Instant::now();
    for c in &mut chains {
        c.read_costs();
        c.register_model();
        c.idle();
    }
    eprintln!(
        "reported settlement: {} rounds of pairs (pay + report: random entries, then hot entries) per size (the first a warm-up)…",
        cfg.blocks + 1
    );
    for pair in 0..=cfg.blocks {
        for hot in [false, true] {
            for c in &mut chains {
                c.pair(pair, hot);
            }
        }
    }
    for c in &mut chains {
        c.idle();
    }
    eprintln!("default settlement: {} rounds per size…", cfg.default_blocks);
    for round in 0..cfg.default_blocks {
        for c in &mut chains {
            c.default_round(round);
        }
    }
    for c in &mut chains {
        c.idle();
    }
    eprintln!("claims…");
    for class in 0..cfg.claim_cs.len() {
        for c in &mut chains {
            c.claims(class);
        }
    }
    let run_s = run_start.elapsed().as_secs_f64();
    for c in &chains {
        c.check();
    }
    let outs: Vec<&Out> = chains.iter().map(|c| &c.out).collect();

    // ------------------------------------------------------------------ summary
    let b = cfg.per_block;
    println!();
    println!(
        "=== attribution_scale summary ({:.0} s wall: setup {setup_s:.0} s, waiting for RocksDB {quiet_s:.0} s, measured phases {run_s:.0} s; peak RSS since the last setup {:.0} MB) ===",
        start.elapsed().as_secs_f64(),
        peak_rss_mb()
    );
    println!("setup (genesis import; not part of any figure below):");
    println!("  {:>9} {:>13} {:>9} {:>14} {:>10}", "size", "records s", "setup s", "peak RSS", "RocksDB");
    for o in &outs {
        println!("  {:>9} {:>13.1} {:>9.1} {:>11.0} MB {:>7.0} MB", o.n, o.build_s, o.setup_s, o.setup_rss_mb, o.disk_mb);
    }
    println!(
        "reported settlement, blocks of {} MsgSubmitAttribution (1 per tx, K = {}; {}; a block's entries distinct), {} blocks per size and variant (random: entries from the whole datanet; hot: from the first {} only):",
        cfg.report_block, cfg.k, cfg.which_verifiable(), cfg.blocks, cfg.hot
    );
    println!(
        "  {:>9} {:>7} {:>11} {:>13} {:>11} {:>10} {:>10} {:>10} {:>9} {:>10} {:>11}",
        "size",
        "entries",
        "µs/settled",
        "(pay+report)",
        "execute ms",
        "merkle ms",
        "settled/s",
        "ceiling",
        "ratio",
        "gas plain",
        "gas verif."
    );
    for o in &outs {
        for (name, blocks) in [("random", &o.report), ("hot", &o.hot)] {
            let both: Vec<f64> =
                o.pay.iter().zip(blocks).map(|(p, r)| (p.secs() / p.items as f64 + r.secs() / r.items as f64) * 1e6).collect();
            let gas = if name == "random" { (mean_gas(&o.gas_plain), mean_gas(&o.gas_verifiable)) } else { (String::new(), String::new()) };
            println!(
                "  {:>9} {:>7} {:>11.1} {:>13.1} {:>11.1} {:>10.1} {:>10.0} {:>10.0} {:>9.3} {:>10} {:>11}",
                o.n,
                name,
                per_item_us(blocks),
                median(&both),
                mean_ms(blocks, |x| x.execute_ms),
                mean_ms(blocks, |x| x.merkle_ms),
                rate(blocks),
                mean(&blocks.iter().map(|x| x.ceiling).collect::<Vec<_>>()),
                ratio(blocks),
                gas.0,
                gas.1
            );
        }
    }
    println!("default settlement (end-block, {b} per block, no txs), {} blocks per size:", cfg.default_blocks);
    println!(
        "  {:>9} {:>11} {:>11} {:>10} {:>10} {:>15} {:>9}",
        "size", "µs/settled", "execute ms", "merkle ms", "settled/s", "empty block ms", "ratio"
    );
    for o in &outs {
        println!(
            "  {:>9} {:>11.1} {:>11.1} {:>10.1} {:>10.0} {:>15.2} {:>9.3}",
            o.n,
            per_item_us(&o.default),
            mean_ms(&o.default, |x| x.execute_ms),
            mean_ms(&o.default, |x| x.merkle_ms),
            rate(&o.default),
            median(&o.empty.iter().map(|x| x.secs() * 1e3).collect::<Vec<_>>()),
            ratio(&o.default)
        );
    }
    println!("pay blocks ({} or {b} MsgPayInference, all {} per size):", cfg.report_block, outs.first().map_or(0, |o| o.pay.len()));
    for o in &outs {
        println!(
            "  {:>9} {:>8.1} µs/inference (execute {:.1} ms, merkle {:.1} ms a block), gas {:.0}, ratio {:.3}",
            o.n,
            per_item_us(&o.pay),
            mean_ms(&o.pay, |x| x.execute_ms),
            mean_ms(&o.pay, |x| x.merkle_ms),
            mean(&o.gas_pay),
            ratio(&o.pay)
        );
    }
    println!("handlers alone (median of {} runs on an overlay of the committed state), µs:", cfg.reps);
    println!(
        "  {:>9} {:>8} {:>13} {:>14} {:>10} {:>11} {:>15} {:>18}",
        "size", "pay", "report plain", "report verif.", "hot plain", "hot verif.", "settle default", "end-block per inf"
    );
    for o in &outs {
        println!(
            "  {:>9} {:>8.1} {:>13.1} {:>14.1} {:>10.1} {:>11.1} {:>15.1} {:>18.1}",
            o.n, o.h_pay, o.h_plain, o.h_verifiable, o.h_hot_plain, o.h_hot_verifiable, o.h_settle, o.h_end_block
        );
    }
    println!("store reads alone (median over random keys of the committed state, through cnidarium), µs:");
    println!("  {:>9} {:>20} {:>12} {:>22}", "size", "contribution record", "absent key", "list entry (non-verif.)");
    for o in &outs {
        println!("  {:>9} {:>20.1} {:>12.1} {:>22.1}", o.n, o.reads[0], o.reads[1], o.reads[2]);
    }
    println!("attribution end-block with nothing due, and the scan of the (empty) due queue alone, µs, as inferences settle:");
    for o in &outs {
        let cells: Vec<String> =
            o.idle.iter().map(|(settled, e, sc)| format!("after {settled:>6} settled: {e:>7.1} | {sc:>7.1}")).collect();
        println!("  {:>9}  {}", o.n, cells.join("    "));
    }
    println!("claims (claim all: the claimant's own list), handler alone µs | µs per contribution | block ms per claim | gas per claim:");
    for o in &outs {
        let cells: Vec<String> = o
            .claims
            .iter()
            .zip(&o.h_claim)
            .zip(&o.gas_claim)
            .map(|(((c, blk), h), g)| format!("c={c}: {h:.0} | {:.1} | {:.2} | {g:.0}", h / *c as f64, blk.secs() * 1e3 / blk.items as f64))
            .collect();
        println!("  {:>9}  {}", o.n, cells.join("   "));
    }
    for (k, last) in outs.iter().enumerate() {
        for first in &outs[..k] {
            ratios(&cfg, first, last);
        }
    }
}

/// The figures of size `last` over those of size `first`.
fn ratios(cfg: &Cfg, first: &Out, last: &Out) {
    {
        println!("ratios, size {} / size {} (goal for time per settled inference: ≤ 1.2):", last.n, first.n);
        let r = |f: &dyn Fn(&Out) -> f64| f(last) / f(first);
        println!(
            "  reported, block µs/settled          {:.2} (hot entries: {:.2})",
            r(&|o| per_item_us(&o.report)),
            r(&|o| per_item_us(&o.hot))
        );
        println!(
            "    in signature verifications        {:.2} (hot entries: {:.2})",
            r(&|o| per_item_sigs(&o.report)),
            r(&|o| per_item_sigs(&o.hot))
        );
        println!(
            "    execute / merkle ms per block     {:.2} / {:.2} (hot entries: {:.2} / {:.2})",
            r(&|o| mean_ms(&o.report, |x| x.execute_ms)),
            r(&|o| mean_ms(&o.report, |x| x.merkle_ms)),
            r(&|o| mean_ms(&o.hot, |x| x.execute_ms)),
            r(&|o| mean_ms(&o.hot, |x| x.merkle_ms))
        );
        println!("  default, block µs/settled           {:.2}", r(&|o| per_item_us(&o.default)));
        println!("    in signature verifications        {:.2}", r(&|o| per_item_sigs(&o.default)));
        println!(
            "    execute / merkle ms per block     {:.2} / {:.2}",
            r(&|o| mean_ms(&o.default, |x| x.execute_ms)),
            r(&|o| mean_ms(&o.default, |x| x.merkle_ms))
        );
        println!(
            "  report handler plain / verif.       {:.2} / {:.2} (hot entries: {:.2} / {:.2})",
            r(&|o| o.h_plain),
            r(&|o| o.h_verifiable),
            r(&|o| o.h_hot_plain),
            r(&|o| o.h_hot_verifiable)
        );
        println!("  settle (default) handler            {:.2}", r(&|o| o.h_settle));
        println!("  end-block per settled inference     {:.2}", r(&|o| o.h_end_block));
        println!("  store reads: record / absent / list {:.2} / {:.2} / {:.2}", r(&|o| o.reads[0]), r(&|o| o.reads[1]), r(&|o| o.reads[2]));
        let plain = if first.gas_plain.is_empty() { "-".to_string() } else { format!("{:.4}", r(&|o| mean(&o.gas_plain))) };
        println!("  gas per report plain / verif.       {plain} / {:.4}", r(&|o| mean(&o.gas_verifiable)));
        println!("  gas per pay                         {:.4}", r(&|o| mean(&o.gas_pay)));
        let claims: Vec<String> =
            cfg.claim_cs.iter().enumerate().map(|(i, c)| format!("c={c} {:.2}", last.h_claim[i] / first.h_claim[i])).collect();
        println!("  claim handler                       {}", claims.join(", "));
        let gas: Vec<String> =
            cfg.claim_cs.iter().enumerate().map(|(i, c)| format!("c={c} {:.3}", last.gas_claim[i] / first.gas_claim[i])).collect();
        println!("  gas per claim                       {}", gas.join(", "));
    }
}
