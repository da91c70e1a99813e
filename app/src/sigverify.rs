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
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;


use crate::ante::Preverified;
use crate::prefetch::PrefetchMap;
use crate::tx::{verify_signature, DecodedTx, PubKey};
use openledger_framework::ChainError;

pub struct Job {
    tx: usize,
    signer: usize,
    key: PubKey,
    account_number: u64,
    sign_bytes: Vec<u8>,
    signature: Vec<u8>,
}

/// One verification job per signer whose account was prefetched (its account number
/// and recorded key are then known before execution).
pub fn jobs(prefetched: &PrefetchMap, txs: &[Result<DecodedTx, ChainError>], chain_id: &str) -> Vec<Job> {
    let mut jobs = Vec::new();
    for (i, t) in txs.iter().enumerate() {
        let Ok(t) = t else { continue };
        for (j, s) in t.signers.iter().enumerate() {
            let Some(Some(bytes)) = prefetched.get(&openledger_token::state_key::account(&s.address)) else { continue };
            let Some(acct) = openledger_token::state_ext::decode_account_state(bytes) else { continue };
            let recorded = acct.pub_key.as_ref().and_then(|k| {
                PubKey::from_recorded(k).ok()
            });
            let Some(key) = recorded.or_else(|| s.pubkey.clone()) else { continue };
            jobs.push(Job {
                tx: i,
                signer: j,
                key,
                account_number: acct.account_number,
                sign_bytes: t.sign_bytes(chain_id, acct.account_number),
                signature: s.signature.clone(),
            });
        }
    }
    jobs
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

pub struct Verifier {
    shared: Arc<Shared>,
    workers: Vec<std::thread::JoinHandle<()>>,
    shape: Vec<usize>,
}

impl Verifier {
    /// Start verifying `jobs` on `threads` background threads. `shape[i]` is the
    /// number of signers of tx i.
    pub fn start(jobs: Vec<Job>, threads: usize, shape: Vec<usize>) -> Verifier {
        let results = (0..jobs.len()).map(|_| AtomicU8::new(PENDING)).collect();
        let shared = Arc::new(Shared { jobs, next: AtomicUsize::new(0), results });
        let workers = (0..threads)
            .filter_map(|n| {
                let s = shared.clone();
                std::thread::Builder::new().name(format!("sigverify-{n}")).spawn(move || s.work()).ok()
            })
            .collect();
        Verifier { shared, workers, shape }
    }

    fn table(&self, include: impl Fn(usize) -> bool) -> Vec<Vec<Option<Preverified>>> {
        let mut out: Vec<Vec<Option<Preverified>>> = self.shape.iter().map(|n| vec![None; *n]).collect();
        for (i, job) in self.shared.jobs.iter().enumerate() {
            if include(i) {
                out[job.tx][job.signer] = Some(Preverified { account_number: job.account_number, pubkey: job.key.clone() });
            }
        }
        out
    }

    /// Every job assumed valid: the table speculative execution runs with.
    pub fn assumed(&self) -> Vec<Vec<Option<Preverified>>> {
        self.table(|_| true)
    }

    /// Help verify what is left, wait for the workers, and return the real table and
    /// whether every job verified.
    pub fn finish(mut self) -> (Vec<Vec<Option<Preverified>>>, bool) {
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
        let all_valid = self.shared.results.iter().all(|r| r.load(Ordering::Acquire) == VALID);
        let table = self.table(|i| self.shared.results[i].load(Ordering::Acquire) == VALID);
        (table, all_valid)
    }
}
