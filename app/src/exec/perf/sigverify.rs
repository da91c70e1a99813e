//! Signature verification off the sequential path.
//!
//! A block's signatures are verified on background threads while the main thread
//! executes the block *speculatively*, assuming every signature whose inputs (account
//! number, key) it knows is valid. When the verifiers finish — the main thread joins
//! them after executing — a block whose signatures all verified keeps its speculative
//! result; otherwise the block is executed again with the real results. Both paths
//! produce exactly what a strictly sequential verify-then-execute would: verification
//! is a pure function of (key, sign bytes, signature), and the ante step re-verifies
//! inline whenever execution sees an account number or key other than the one assumed.
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;

use crate::exec::ante::Preverified;
use crate::exec::perf::prefetch::PrefetchMap;
use crate::exec::tx::{verify_signature, DecodedTx, PubKey};
use openledger_framework::{Address, ChainError};

pub struct Job {
    tx: usize,
    signer: usize,
    key: PubKey,
    account_number: u64,
    sign_bytes: Vec<u8>,
    signature: Vec<u8>,
}

/// Account numbers of signers seen in earlier blocks. A number never changes once an
/// account has it (accounts are never deleted), so verification for a known signer can
/// start before the block's reads finish; and should an entry ever be wrong, the ante
/// step sees a different number than the one assumed and verifies inline. Node-local,
/// bounded (starts over when full), and never part of consensus state.
#[derive(Default)]
pub struct KnownSigners(std::sync::Mutex<BTreeMap<Address, u64>>);

const KNOWN_SIGNERS_MAX: usize = 1_000_000;

impl KnownSigners {
    fn get(&self, a: &Address) -> Option<u64> {
        self.0.lock().ok().and_then(|m| m.get(a).copied())
    }

    fn remember(&self, seen: Vec<(Address, u64)>) {
        if let Ok(mut m) = self.0.lock() {
            if m.len().saturating_add(seen.len()) > KNOWN_SIGNERS_MAX {
                m.clear();
            }
            m.extend(seen);
        }
    }
}

fn job(t: &DecodedTx, tx: usize, signer: usize, key: PubKey, account_number: u64, chain_id: &str) -> Job {
    Job {
        tx,
        signer,
        key,
        account_number,
        sign_bytes: t.sign_bytes(chain_id, account_number),
        signature: t.signers()[signer].signature.clone(),
    }
}

/// Jobs that can start right after decoding: signers that carry their key in the tx
/// and whose account number is known from earlier blocks.
pub fn early_jobs(
    known: &KnownSigners,
    txs: &[Result<DecodedTx, ChainError>],
    chain_id: &str,
    verified: &BTreeSet<(usize, usize)>,
) -> Vec<Job> {
    let mut jobs = Vec::new();
    for (i, t) in txs.iter().enumerate() {
        let Ok(t) = t else { continue };
        for (j, s) in t.signers().iter().enumerate() {
            if verified.contains(&(i, j)) {
                continue;
            }
            if let (Some(key), Some(number)) = (&s.pubkey, known.get(&s.address)) {
                jobs.push(job(t, i, j, key.clone(), number, chain_id));
            }
        }
    }
    jobs
}

/// One job per signer not already in `started` whose account was prefetched (its
/// account number and recorded key are then known before execution). Remembers every
/// prefetched signer's account number for the blocks that follow.
pub fn jobs(
    prefetched: &PrefetchMap,
    txs: &[Result<DecodedTx, ChainError>],
    chain_id: &str,
    started: &BTreeSet<(usize, usize)>,
    known: &KnownSigners,
) -> Vec<Job> {
    let mut jobs = Vec::new();
    let mut seen = Vec::new();
    for (i, t) in txs.iter().enumerate() {
        let Ok(t) = t else { continue };
        for (j, s) in t.signers().iter().enumerate() {
            let Some(Some(bytes)) = prefetched.get(&openledger_token::state_key::account(&s.address)) else { continue };
            let Some(acct) = openledger_token::state_ext::decode_account_state(bytes) else { continue };
            seen.push((s.address, acct.account_number));
            if started.contains(&(i, j)) {
                continue;
            }
            // The common case (the tx repeats the recorded key) parses no key here.
            let Some(Ok(key)) = PubKey::for_signer(acct.pub_key.as_ref(), s.pubkey.as_ref()) else { continue };
            jobs.push(job(t, i, j, key, acct.account_number, chain_id));
        }
    }
    known.remember(seen);
    jobs
}

/// Signatures this node's CheckTx verified, by tx hash: for each signer the account
/// number and key the signature verified under. A block that includes such a tx does
/// not verify it again, and neither does the mempool's recheck after each commit.
///
/// Why this is consensus-safe: a signature's validity is a pure function of the key,
/// the signature and the sign bytes, and the sign bytes are fixed by the tx bytes (hashed
/// with SHA-256), the chain id and the account number. An entry is used only where
/// execution sees the same account number and key (the ante step compares them and
/// verifies inline otherwise), so the result is the one verifying again would give.
/// Node-local, bounded (starts over when full), and never part of consensus state.
#[derive(Default)]
pub struct CheckedTxs(std::sync::Mutex<BTreeMap<[u8; 32], Vec<Preverified>>>);

const CHECKED_TXS_MAX: usize = 200_000;

pub fn tx_hash(bytes: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).into()
}

impl CheckedTxs {
    pub fn len(&self) -> usize {
        self.0.lock().map_or(0, |m| m.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn get(&self, hash: &[u8; 32]) -> Option<Vec<Preverified>> {
        self.0.lock().ok()?.get(hash).cloned()
    }

    pub fn insert(&self, hash: [u8; 32], signers: Vec<Preverified>) {
        if let Ok(mut m) = self.0.lock() {
            if m.len() >= CHECKED_TXS_MAX {
                m.clear();
            }
            m.insert(hash, signers);
        }
    }

    /// The block's txs that CheckTx verified, as (tx, signer, result); those entries
    /// leave the cache (an included tx is never checked again).
    pub fn take_block(&self, tx_hashes: &[[u8; 32]], decoded: &[Result<DecodedTx, ChainError>]) -> Vec<(usize, usize, Preverified)> {
        let Ok(mut m) = self.0.lock() else { return vec![] };
        if m.is_empty() {
            return vec![];
        }
        let mut out = Vec::new();
        for (i, (hash, t)) in tx_hashes.iter().zip(decoded).enumerate() {
            let Some(signers) = m.remove(hash) else { continue };
            if matches!(t, Ok(t) if t.signers().len() == signers.len()) {
                out.extend(signers.into_iter().enumerate().map(|(j, p)| (i, j, p)));
            }
        }
        out
    }
}

const PENDING: u8 = 0;
const VALID: u8 = 1;
const INVALID: u8 = 2;

struct Shared {
    jobs: Vec<Job>,
    next: AtomicUsize,
    results: Vec<AtomicU8>,
}

impl Shared {
    /// Take and verify jobs until none are left.
    fn work(&self) {
        loop {
            let i = self.next.fetch_add(1, Ordering::Relaxed);
            let Some(job) = self.jobs.get(i) else { return };
            let ok = verify_signature(&job.key, &job.sign_bytes, &job.signature);
            self.results[i].store(if ok { VALID } else { INVALID }, Ordering::Release);
        }
    }
}

struct Batch {
    shared: Arc<Shared>,
    workers: Vec<std::thread::JoinHandle<()>>,
}

impl Batch {
    fn start(jobs: Vec<Job>, threads: usize) -> Batch {
        let results = (0..jobs.len()).map(|_| AtomicU8::new(PENDING)).collect();
        let shared = Arc::new(Shared { jobs, next: AtomicUsize::new(0), results });
        let workers = if shared.jobs.is_empty() { 0 } else { threads };
        let workers = (0..workers)
            .filter_map(|n| {
                let s = shared.clone();
                std::thread::Builder::new().name(format!("sigverify-{n}")).spawn(move || s.work()).ok()
            })
            .collect();
        Batch { shared, workers }
    }

    /// Help verify what is left and wait for the workers.
    fn finish(&mut self) {
        self.shared.work();
        for w in std::mem::take(&mut self.workers) {
            let _ = w.join();
        }
        // A worker that died leaves its job PENDING: verify those here.
        for (i, r) in self.shared.results.iter().enumerate() {
            if r.load(Ordering::Acquire) == PENDING {
                let job = &self.shared.jobs[i];
                let ok = verify_signature(&job.key, &job.sign_bytes, &job.signature);
                r.store(if ok { VALID } else { INVALID }, Ordering::Release);
            }
        }
    }
}

/// A block's verification: jobs started in batches (those startable right after
/// decoding, then the rest once the block's accounts are read), each batch on its own
/// background threads.
pub struct Verifier {
    batches: Vec<Batch>,
    threads: usize,
    shape: Vec<usize>,
    /// Verified before the block (by CheckTx): (tx, signer, result).
    verified: Vec<(usize, usize, Preverified)>,
}

impl Verifier {
    /// Start verifying `jobs` on `threads` background threads. `shape[i]` is the
    /// number of signers of tx i; `verified` are signatures already verified.
    pub fn start(jobs: Vec<Job>, threads: usize, shape: Vec<usize>, verified: Vec<(usize, usize, Preverified)>) -> Verifier {
        Verifier { batches: vec![Batch::start(jobs, threads)], threads, shape, verified }
    }

    /// Start more jobs (for signers no earlier batch covers).
    pub fn add(&mut self, jobs: Vec<Job>) {
        if !jobs.is_empty() {
            self.batches.push(Batch::start(jobs, self.threads));
        }
    }

    /// The (tx, signer) pairs already started.
    pub fn started(&self) -> BTreeSet<(usize, usize)> {
        let verified = self.verified.iter().map(|(tx, signer, _)| (*tx, *signer));
        self.batches.iter().flat_map(|b| b.shared.jobs.iter().map(|j| (j.tx, j.signer))).chain(verified).collect()
    }

    fn table(&self, include: impl Fn(&Batch, usize) -> bool) -> Vec<Vec<Option<Preverified>>> {
        let mut out: Vec<Vec<Option<Preverified>>> = self.shape.iter().map(|n| vec![None; *n]).collect();
        for (tx, signer, p) in &self.verified {
            if let Some(slot) = out.get_mut(*tx).and_then(|t| t.get_mut(*signer)) {
                *slot = Some(p.clone());
            }
        }
        for b in &self.batches {
            for (i, job) in b.shared.jobs.iter().enumerate() {
                if include(b, i) {
                    out[job.tx][job.signer] = Some(Preverified { account_number: job.account_number, pubkey: job.key.clone() });
                }
            }
        }
        out
    }

    /// Every job assumed valid: the table speculative execution runs with.
    pub fn assumed(&self) -> Vec<Vec<Option<Preverified>>> {
        self.table(|_, _| true)
    }

    /// Help verify what is left, wait for the workers, and return the real table and
    /// whether every job verified.
    pub fn finish(mut self) -> (Vec<Vec<Option<Preverified>>>, bool) {
        for b in &mut self.batches {
            b.finish();
        }
        let valid = |b: &Batch, i: usize| b.shared.results[i].load(Ordering::Acquire) == VALID;
        let all_valid = self.batches.iter().all(|b| (0..b.shared.jobs.len()).all(|i| valid(b, i)));
        (self.table(valid), all_valid)
    }
}
