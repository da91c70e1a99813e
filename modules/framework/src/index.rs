//! Secondary indexes and paginated lists, in the non-verifiable store.
//!
//! Records live in the verifiable store (in the app hash). Lists — "contributions of
//! this datanet", "models of this owner" — are served from index entries in the
//! non-verifiable store, which cnidarium can seek into: a page starting at any key
//! costs O(log n + page), never O(position). Index entries are written by the same
//! deterministic block execution as the records and committed atomically with them;
//! they are derived data (genesis import rebuilds them) and never decide a consensus
//! outcome. Each index keeps a counter, so `count_total` is O(1).
use futures::StreamExt;
use openledger_proto::cosmos::base::query::v1beta1::{PageRequest, PageResponse};

use cnidarium::{StateRead, StateWrite};

use crate::error::{ChainError, QueryError};

pub const DEFAULT_PAGE_LIMIT: u64 = 100;
pub const MAX_PAGE_LIMIT: u64 = 1000;
/// Offset paging walks the skipped entries; beyond this, page with `key` instead.
pub const MAX_PAGE_OFFSET: u64 = 100_000;

/// Big-endian u64: index keys sort numerically.
pub fn be(n: u64) -> [u8; 8] {
    n.to_be_bytes()
}

fn count_key(prefix: &[u8]) -> Vec<u8> {
    let mut k = b"count/".to_vec();
    k.extend_from_slice(prefix);
    k
}

/// Index writes. `prefix` names the list (it must end with a separator so no list's
/// prefix is a prefix of another's); `suffix` orders the entry within it.
pub trait IndexWrite: StateWrite {
    /// Add an entry; its value is what a page returns for it (usually an id).
    fn index_insert(&mut self, prefix: &[u8], suffix: &[u8], value: Vec<u8>) -> impl std::future::Future<Output = Result<(), ChainError>> + Send
    where
        Self: Sized + Send,
    {
        let mut key = prefix.to_vec();
        key.extend_from_slice(suffix);
        let prefix = prefix.to_vec();
        async move {
            if self.nonverifiable_get_raw(&key).await?.is_none() {
                let n = self.index_count(&prefix).await?;
                self.nonverifiable_put_raw(count_key(&prefix), (n + 1).to_be_bytes().to_vec());
            }
            self.nonverifiable_put_raw(key, value);
            Ok(())
        }
    }

    fn index_remove(&mut self, prefix: &[u8], suffix: &[u8]) -> impl std::future::Future<Output = Result<(), ChainError>> + Send
    where
        Self: Sized + Send,
    {
        let mut key = prefix.to_vec();
        key.extend_from_slice(suffix);
        let prefix = prefix.to_vec();
        async move {
            if self.nonverifiable_get_raw(&key).await?.is_some() {
                let n = self.index_count(&prefix).await?;
                self.nonverifiable_put_raw(count_key(&prefix), n.saturating_sub(1).to_be_bytes().to_vec());
                self.nonverifiable_delete(key);
            }
            Ok(())
        }
    }
}

impl<S: StateWrite> IndexWrite for S {}

pub trait IndexRead: StateRead {
    /// Entries in the list `prefix`.
    fn index_count(&self, prefix: &[u8]) -> impl std::future::Future<Output = Result<u64, ChainError>> + Send {
        let fut = self.nonverifiable_get_raw(&count_key(prefix));
        async move {
            Ok(match fut.await? {
                Some(b) => <[u8; 8]>::try_from(b.as_slice()).map(u64::from_be_bytes).unwrap_or(0),
                None => 0,
            })
        }
    }
}

impl<S: StateRead + ?Sized> IndexRead for S {}

/// One page of the list `prefix`: the entries' values in suffix order, and the Cosmos
/// `PageResponse` (`next_key` = the suffix the next page starts at).
pub async fn page<S: StateRead>(state: &S, prefix: &[u8], req: Option<&PageRequest>) -> Result<(Vec<Vec<u8>>, PageResponse), QueryError> {
    let default = PageRequest::default();
    let req = req.unwrap_or(&default);
    if req.reverse {
        return Err(QueryError::invalid_argument("reverse pagination is not supported; lists are in ascending id order"));
    }
    if !req.key.is_empty() && req.offset > 0 {
        return Err(QueryError::invalid_argument("paginate with either key or offset, not both"));
    }
    if req.offset > MAX_PAGE_OFFSET {
        return Err(QueryError::invalid_argument(format!(
            "offset {} exceeds {MAX_PAGE_OFFSET}; page with pagination.key (next_key) instead",
            req.offset
        )));
    }
    let limit = match req.limit {
        0 => DEFAULT_PAGE_LIMIT,
        l if l > MAX_PAGE_LIMIT => {
            return Err(QueryError::invalid_argument(format!("page limit {l} exceeds the maximum of {MAX_PAGE_LIMIT}")))
        }
        l => l,
    };
    let stream = state
        .nonverifiable_range_raw(Some(prefix), req.key.clone()..)
        .map_err(|e| QueryError::internal(format!("index scan: {e}")))?;
    let mut stream = std::pin::pin!(stream);
    let mut skipped = 0u64;
    let mut values = Vec::new();
    let mut next_key = Vec::new();
    while let Some(item) = stream.next().await {
        let (key, value) = item.map_err(|e| QueryError::internal(format!("index scan: {e}")))?;
        if skipped < req.offset {
            skipped += 1;
            continue;
        }
        if values.len() as u64 == limit {
            next_key = key.strip_prefix(prefix).unwrap_or_default().to_vec();
            break;
        }
        values.push(value);
    }
    let total = if req.count_total { state.index_count(prefix).await.map_err(|e| QueryError::internal(e.message))? } else { 0 };
    Ok((values, PageResponse { next_key, total }))
}

/// One page of a list whose entries' values are big-endian ids (the usual case).
pub async fn page_ids<S: StateRead>(state: &S, prefix: &[u8], req: Option<&PageRequest>) -> Result<(Vec<u64>, PageResponse), QueryError> {
    let (values, resp) = page(state, prefix, req).await?;
    let ids = values
        .iter()
        .map(|v| <[u8; 8]>::try_from(v.as_slice()).map(u64::from_be_bytes).map_err(|_| QueryError::internal("corrupt index entry")))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((ids, resp))
}
