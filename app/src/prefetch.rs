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
use std::sync::{Arc, Mutex};

use cnidarium::StateRead;
use futures::future::{ready, BoxFuture, Either, FutureExt, Ready};
use futures::StreamExt;

pub type PrefetchMap = Arc<BTreeMap<String, Option<Vec<u8>>>>;

pub struct Prefetched<S> {
    inner: S,
    prefetched: PrefetchMap,
    read_cache: Arc<Mutex<BTreeMap<String, Option<Vec<u8>>>>>,
}

impl<S> Prefetched<S> {
    pub fn new(inner: S, prefetched: PrefetchMap) -> Self {
        Prefetched { inner, prefetched, read_cache: Arc::default() }
    }

    pub fn into_inner(self) -> S {
        self.inner
    }
}

/// Fetch `keys` from `state` with up to `concurrency` reads in flight.
pub async fn fetch<S: StateRead>(state: &S, keys: BTreeSet<String>, concurrency: usize) -> PrefetchMap {
    let entries: Vec<(String, Option<Vec<u8>>)> = futures::stream::iter(keys.into_iter().map(|k| {
        let fut = state.get_raw(&k);
        async move { fut.await.ok().map(|v| (k, v)) }
    }))
    .buffer_unordered(concurrency.max(1))
    .filter_map(|x| async move { x })
    .collect()
    .await;
    Arc::new(entries.into_iter().collect())
}

impl<S: StateRead> StateRead for Prefetched<S> {
    type GetRawFut = Either<Ready<anyhow::Result<Option<Vec<u8>>>>, BoxFuture<'static, anyhow::Result<Option<Vec<u8>>>>>;
    type PrefixRawStream = S::PrefixRawStream;
    type PrefixKeysStream = S::PrefixKeysStream;
    type NonconsensusPrefixRawStream = S::NonconsensusPrefixRawStream;
    type NonconsensusRangeRawStream = S::NonconsensusRangeRawStream;

    fn get_raw(&self, key: &str) -> Self::GetRawFut {
        if let Some(v) = self.prefetched.get(key) {
            return Either::Left(ready(Ok(v.clone())));
        }
        if let Some(v) = self.read_cache.lock().ok().and_then(|c| c.get(key).cloned()) {
            return Either::Left(ready(Ok(v)));
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
