//! Reading a block's state ahead of executing it. Before the sequential execution of a
//! block, the keys its transactions will read (signers' accounts and balances, message
//! targets) are fetched from the committed snapshot concurrently. Execution then reads
//! through `Prefetched`, which answers those keys from memory and remembers every
//! other key it reads, so a key read by many transactions (params, module accounts)
//! costs one storage read per block.
//!
//! Why this is consensus-safe: the snapshot is immutable, so a cached value is exactly
//! what a direct read would return; the block's own writes sit in the `StateDelta`
//! above and shadow it as usual. What is cached affects only speed, never a result.
use std::any::Any;
use std::collections::{BTreeMap, BTreeSet};
use std::ops::RangeBounds;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use cnidarium::StateRead;
use futures::future::{ready, BoxFuture, Either, FutureExt, Ready};
use futures::StreamExt;

use super::replica::Replica;

pub type PrefetchMap = Arc<BTreeMap<String, Option<Vec<u8>>>>;

pub struct Prefetched<S> {
    inner: S,
    prefetched: PrefetchMap,
    read_cache: Arc<Mutex<BTreeMap<String, Option<Vec<u8>>>>>,
    /// The node's in-memory copy of some prefixes, and the version `inner` is at.
    replica: Option<(Arc<Replica>, u64)>,
    stats: Arc<ReadStats>,
    /// Every read fails as an I/O error would: the `finalize` failpoint at this height.
    injected_failure: Option<u64>,
    /// Remember what is read (off: every read goes to `inner`).
    remember_reads: bool,
}

/// Where a `Prefetched`'s reads were answered from (for the block's debug log).
#[derive(Default)]
pub struct ReadStats {
    pub prefetched: AtomicU64,
    pub replica: AtomicU64,
    pub cached: AtomicU64,
    pub storage: AtomicU64,
}

impl ReadStats {
    /// (prefetched, replica, cached, storage).
    pub fn counts(&self) -> (u64, u64, u64, u64) {
        let l = |a: &AtomicU64| a.load(Ordering::Relaxed);
        (l(&self.prefetched), l(&self.replica), l(&self.cached), l(&self.storage))
    }
}

impl<S> Prefetched<S> {
    pub fn new(inner: S, prefetched: PrefetchMap) -> Self {
        Prefetched {
            inner,
            prefetched,
            read_cache: Arc::default(),
            replica: None,
            stats: Arc::default(),
            injected_failure: None,
            remember_reads: true,
        }
    }

    /// Read everything from `inner` each time (`NodeSettings::no_caches`).
    pub fn without_read_cache(mut self) -> Self {
        self.remember_reads = false;
        self
    }

    /// Fail every read (the `finalize` failpoint, armed for `height`).
    pub fn failing_reads(mut self, height: u64) -> Self {
        self.injected_failure = Some(height);
        self
    }

    /// Answer reads under the replica's prefixes from it while it is at `version`, the
    /// version of `inner` (see replica.rs).
    pub fn with_replica(mut self, replica: Arc<Replica>, version: u64) -> Self {
        self.replica = Some((replica, version));
        self
    }

    pub fn into_inner(self) -> S {
        self.inner
    }

    pub fn stats(&self) -> &ReadStats {
        &self.stats
    }
}

/// Committed values of keys that earlier blocks' hints named, kept across blocks so a
/// block reads from storage only the keys no recent block touched (on a busy chain the
/// same accounts sign block after block).
///
/// Why this is consensus-safe: every entry is the value of its key at `version`, the
/// last committed height. A block executed on the snapshot of that version takes
/// entries from here; the block's writes to cached keys are recorded while it runs and
/// applied when it commits, moving the cache to the new version. Any other version
/// (a replayed or re-executed height, a commit outside `App::commit`) finds the cache
/// at the wrong version and reads storage, exactly as without the cache.
#[derive(Default)]
pub struct HotCache(Mutex<HotState>);

#[derive(Default)]
struct HotState {
    version: Option<u64>,
    entries: BTreeMap<String, Option<Vec<u8>>>,
}

/// Entries the cache keeps at most (≈ 200 bytes each); past it, it starts empty again.
const HOT_CACHE_MAX: usize = 250_000;

/// The block's writes to cached keys, to be applied when the block commits.
pub struct HotUpdates {
    from: u64,
    writes: Vec<(String, Option<Vec<u8>>)>,
}

impl HotCache {
    /// Remove from `keys` the ones cached at `version` and return their entries.
    pub fn take_known(&self, version: u64, keys: &mut BTreeSet<String>) -> Vec<(String, Option<Vec<u8>>)> {
        let Ok(c) = self.0.lock() else { return vec![] };
        if c.version != Some(version) {
            return vec![];
        }
        let mut found = Vec::with_capacity(keys.len());
        keys.retain(|k| match c.entries.get(k) {
            Some(v) => {
                found.push((k.clone(), v.clone()));
                false
            }
            None => true,
        });
        found
    }

    /// Remember values read from the snapshot at `version`.
    pub fn remember(&self, version: u64, read: &BTreeMap<String, Option<Vec<u8>>>) {
        let Ok(mut c) = self.0.lock() else { return };
        if c.version != Some(version) {
            c.entries.clear();
            c.version = Some(version);
        }
        if c.entries.len().saturating_add(read.len()) > HOT_CACHE_MAX {
            c.entries.clear();
        }
        for (k, v) in read.iter() {
            c.entries.insert(k.clone(), v.clone());
        }
    }

    /// The writes of a block executed on `version` that touch a cached key or one of
    /// the block's prefetched keys (which `remember` has just cached).
    pub fn updates(&self, version: u64, prefetched: &PrefetchMap, writes: &BTreeMap<String, Option<Vec<u8>>>) -> HotUpdates {
        let cached = self.0.lock().ok();
        let writes = writes
            .iter()
            .filter(|(k, _)| {
                prefetched.contains_key(*k) || cached.as_ref().is_some_and(|c| c.version == Some(version) && c.entries.contains_key(*k))
            })
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        HotUpdates { from: version, writes }
    }

    /// The block executed on `updates.from` committed as `to`.
    pub fn advance(&self, updates: HotUpdates, to: u64) {
        let Ok(mut c) = self.0.lock() else { return };
        if c.version != Some(updates.from) {
            // Not the version the block's writes were filtered against: what the cache
            // holds may have been overwritten unseen. Keep only what is known at `to`.
            c.entries.clear();
        }
        c.version = Some(to);
        c.entries.extend(updates.writes);
    }
}

/// Fetch `keys` from `state` with up to `concurrency` reads in flight.
pub async fn fetch<S: StateRead>(state: &S, keys: BTreeSet<String>, concurrency: usize) -> BTreeMap<String, Option<Vec<u8>>> {
    let entries: Vec<(String, Option<Vec<u8>>)> = futures::stream::iter(keys.into_iter().map(|k| {
        let fut = state.get_raw(&k);
        async move { fut.await.ok().map(|v| (k, v)) }
    }))
    .buffer_unordered(concurrency.max(1))
    .filter_map(|x| async move { x })
    .collect()
    .await;
    entries.into_iter().collect()
}

impl<S: StateRead> StateRead for Prefetched<S> {
    type GetRawFut = Either<Ready<anyhow::Result<Option<Vec<u8>>>>, BoxFuture<'static, anyhow::Result<Option<Vec<u8>>>>>;
    type PrefixRawStream = S::PrefixRawStream;
    type PrefixKeysStream = S::PrefixKeysStream;
    type NonconsensusPrefixRawStream = S::NonconsensusPrefixRawStream;
    type NonconsensusRangeRawStream = S::NonconsensusRangeRawStream;

    fn get_raw(&self, key: &str) -> Self::GetRawFut {
        if let Some(h) = self.injected_failure {
            return Either::Left(ready(Err(crate::failpoint::injected(crate::failpoint::Point::Finalize, h))));
        }
        let count = |a: &AtomicU64| a.fetch_add(1, Ordering::Relaxed);
        if let Some(v) = self.prefetched.get(key) {
            count(&self.stats.prefetched);
            return Either::Left(ready(Ok(v.clone())));
        }
        if let Some(v) = self.replica.as_ref().and_then(|(r, version)| r.get(*version, key)) {
            count(&self.stats.replica);
            return Either::Left(ready(Ok(v)));
        }
        if let Some(v) = self.read_cache.lock().ok().and_then(|c| c.get(key).cloned()) {
            count(&self.stats.cached);
            return Either::Left(ready(Ok(v)));
        }
        count(&self.stats.storage);
        if !self.remember_reads {
            return Either::Right(self.inner.get_raw(key).boxed());
        }
        let cache = self.read_cache.clone();
        let key = key.to_string();
        let fut = self.inner.get_raw(&key);
        Either::Right(
            async move {
                let v = fut.await?;
                if let Ok(mut c) = cache.lock() {
                    c.insert(key, v.clone());
                }
                Ok(v)
            }
            .boxed(),
        )
    }

    fn nonverifiable_get_raw(&self, key: &[u8]) -> Self::GetRawFut {
        Either::Right(self.inner.nonverifiable_get_raw(key).boxed())
    }

    fn object_get<T: Any + Send + Sync + Clone>(&self, key: &'static str) -> Option<T> {
        self.inner.object_get(key)
    }

    fn object_type(&self, key: &'static str) -> Option<std::any::TypeId> {
        self.inner.object_type(key)
    }

    fn prefix_raw(&self, prefix: &str) -> Self::PrefixRawStream {
        self.inner.prefix_raw(prefix)
    }

    fn prefix_keys(&self, prefix: &str) -> Self::PrefixKeysStream {
        self.inner.prefix_keys(prefix)
    }

    fn nonverifiable_prefix_raw(&self, prefix: &[u8]) -> Self::NonconsensusPrefixRawStream {
        self.inner.nonverifiable_prefix_raw(prefix)
    }

    fn nonverifiable_range_raw(
        &self,
        prefix: Option<&[u8]>,
        range: impl RangeBounds<Vec<u8>>,
    ) -> anyhow::Result<Self::NonconsensusRangeRawStream> {
        self.inner.nonverifiable_range_raw(prefix, range)
    }
}
