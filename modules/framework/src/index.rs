//! Secondary indexes and paginated lists, in the non-verifiable store.
//!
//! Records live in the verifiable store (in the app hash). Lists — "contributions of
//! this datanet", "models of this owner" — are served from index entries in the
//! non-verifiable store, which cnidarium can seek into: a page starting at any key
//! costs O(log n + page), never O(position). Index entries are written by the same
//! deterministic block execution as the records and committed atomically with them;
//! they are derived data (genesis import rebuilds them) and never decide a consensus
//! outcome. Each index keeps a counter, so `count_total` is O(1), and a lower bound
//! of its live entries (the "hint"): a removed entry leaves a tombstone in RocksDB
//! until compaction, and a list whose head was removed many times (a datanet's pending
//! contributions, after every review) would otherwise step over all of them to reach
//! its first live entry. Removing the head moves the hint to the next live entry, so
//! each tombstone is stepped over once, when it is made, and a first page seeks past
//! all of them.
use std::collections::BTreeMap;

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

/// Where the list's lower bound of live suffixes is kept (absent: the list's start).
fn hint_key(prefix: &[u8]) -> Vec<u8> {
    let mut k = b"hint/".to_vec();
    k.extend_from_slice(prefix);
    k
}

/// Index writes. `prefix` names the list (it must end with a separator so no list's
/// prefix is a prefix of another's); `suffix` orders the entry within it.
pub trait IndexWrite: StateWrite {
    /// Add an entry; its value is what a page returns for it (usually an id).
    fn index_insert(
        &mut self,
        prefix: &[u8],
        suffix: &[u8],
        value: Vec<u8>,
    ) -> impl std::future::Future<Output = Result<(), ChainError>> + Send
    where
        Self: Sized + Send,
    {
        let mut key = prefix.to_vec();
        key.extend_from_slice(suffix);
        let prefix = prefix.to_vec();
        let suffix = suffix.to_vec();
        async move {
            if self.nonverifiable_get_raw(&key).await?.is_none() {
                let n = self.index_count(&prefix).await?;
                self.nonverifiable_put_raw(count_key(&prefix), (n + 1).to_be_bytes().to_vec());
                // Keep the hint a lower bound of every live suffix.
                if self.nonverifiable_get_raw(&hint_key(&prefix)).await?.is_some_and(|h| suffix < h) {
                    self.nonverifiable_put_raw(hint_key(&prefix), suffix);
                }
            }
            self.nonverifiable_put_raw(key, value);
            Ok(())
        }
    }

    /// Append entry `seq` to an append-only list whose caller keeps its length (`seq` is
    /// that length): the entry and the count are written without a read. Such a list
    /// never has entries removed, so it has no hint.
    fn index_append(&mut self, prefix: &[u8], seq: u64, value: Vec<u8>)
    where
        Self: Sized,
    {
        self.nonverifiable_put_raw([prefix, &be(seq)].concat(), value);
        self.nonverifiable_put_raw(count_key(prefix), (seq + 1).to_be_bytes().to_vec());
    }

    fn index_remove(&mut self, prefix: &[u8], suffix: &[u8]) -> impl std::future::Future<Output = Result<(), ChainError>> + Send
    where
        Self: Sized + Send,
    {
        let mut key = prefix.to_vec();
        key.extend_from_slice(suffix);
        let prefix = prefix.to_vec();
        let suffix = suffix.to_vec();
        async move {
            if self.nonverifiable_get_raw(&key).await?.is_some() {
                let n = self.index_count(&prefix).await?;
                self.nonverifiable_put_raw(count_key(&prefix), n.saturating_sub(1).to_be_bytes().to_vec());
                self.nonverifiable_delete(key);
                // Removing the head (or the first removal ever): the hint moves to the
                // next live entry, or just past the removed one when none is left.
                let hint = self.nonverifiable_get_raw(&hint_key(&prefix)).await?;
                if hint.as_ref().is_none_or(|h| *h == suffix) {
                    let from = hint.unwrap_or_default();
                    let next = {
                        let stream = self.nonverifiable_range_raw(Some(&prefix), from..)?;
                        let mut stream = std::pin::pin!(stream);
                        match stream.next().await {
                            Some(item) => item?.0.get(prefix.len()..).map(<[u8]>::to_vec),
                            None => None,
                        }
                    };
                    let past_removed = [suffix.as_slice(), &[0]].concat();
                    self.nonverifiable_put_raw(hint_key(&prefix), next.unwrap_or(past_removed));
                }
            }
            Ok(())
        }
    }
}

impl<S: StateWrite> IndexWrite for S {}

/// Lists filled in one pass by a genesis import: each entry is written as it comes and
/// each list's count once at the end, with no store read per entry (`index_insert` reads
/// the entry and the count, which at a million entries is a million RocksDB reads).
/// Only for lists that do not exist yet, each entry added once — as in a module's
/// `init_genesis` on an empty store, where nothing else writes the module's lists.
#[derive(Default)]
pub struct IndexImport {
    counts: BTreeMap<Vec<u8>, u64>,
}

impl IndexImport {
    pub fn insert<S: StateWrite + ?Sized>(&mut self, state: &mut S, prefix: &[u8], suffix: &[u8], value: Vec<u8>) {
        state.nonverifiable_put_raw([prefix, suffix].concat(), value);
        *self.counts.entry(prefix.to_vec()).or_default() += 1;
    }

    /// Write every list's count.
    pub fn finish<S: StateWrite + ?Sized>(self, state: &mut S) {
        for (prefix, n) in self.counts {
            state.nonverifiable_put_raw(count_key(&prefix), n.to_be_bytes().to_vec());
        }
    }
}

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
    // Start at the requested key, or at the list's hint if that is further on (nothing
    // live lies before it).
    let hint = state.nonverifiable_get_raw(&hint_key(prefix)).await.map_err(|e| QueryError::internal(format!("index hint: {e}")))?;
    let start = match hint {
        Some(h) if h > req.key => h,
        _ => req.key.clone(),
    };
    let stream = state.nonverifiable_range_raw(Some(prefix), start..).map_err(|e| QueryError::internal(format!("index scan: {e}")))?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use cnidarium::{StateDelta, TempStorage};

    async fn hint<S: StateRead>(s: &S) -> Option<Vec<u8>> {
        s.nonverifiable_get_raw(&hint_key(b"list/")).await.unwrap()
    }

    async fn ids<S: StateRead>(state: &S, prefix: &[u8], req: Option<&PageRequest>) -> (Vec<u64>, PageResponse) {
        page_ids(state, prefix, req).await.unwrap()
    }

    async fn nonverifiable_entries<S: StateRead>(s: &S) -> Vec<(Vec<u8>, Vec<u8>)> {
        crate::StoreRead::nonverifiable_entries(s, b"").await.unwrap()
    }

    #[tokio::test]
    async fn an_import_writes_what_inserting_each_entry_writes() {
        let storage = TempStorage::new().await.unwrap();
        let (mut inserted, mut imported) = (StateDelta::new(storage.latest_snapshot()), StateDelta::new(storage.latest_snapshot()));
        let mut import = IndexImport::default();
        // Entries of three lists, interleaved, not in suffix order.
        let entries: Vec<(&[u8], u64)> = vec![(b"a/", 5), (b"b/", 1), (b"a/", 2), (b"c/", 9), (b"a/", 7), (b"b/", 3)];
        for (p, i) in entries {
            inserted.index_insert(p, &be(i), be(i).to_vec()).await.unwrap();
            import.insert(&mut imported, p, &be(i), be(i).to_vec());
        }
        import.finish(&mut imported);
        let want = nonverifiable_entries(&inserted).await;
        assert_eq!(want.len(), 6 + 3, "six entries and three counts");
        assert_eq!(nonverifiable_entries(&imported).await, want);
        assert_eq!(imported.index_count(b"a/").await.unwrap(), 3);
        assert_eq!(ids(&imported, b"a/", None).await.0, vec![2, 5, 7]);
    }

    #[tokio::test]
    async fn removing_the_head_moves_the_hint_and_pages_skip_the_removed() {
        let storage = TempStorage::new().await.unwrap();
        let mut s = StateDelta::new(storage.latest_snapshot());
        let p = b"list/".to_vec();
        for i in 1..=6u64 {
            s.index_insert(&p, &be(i), be(i).to_vec()).await.unwrap();
        }
        assert_eq!(hint(&s).await, None);
        // Head removals (and the first removal ever) move the hint to the next live entry.
        s.index_remove(&p, &be(1)).await.unwrap();
        assert_eq!(hint(&s).await, Some(be(2).to_vec()));
        s.index_remove(&p, &be(2)).await.unwrap();
        assert_eq!(hint(&s).await, Some(be(3).to_vec()));
        // A removal behind the head leaves it.
        s.index_remove(&p, &be(5)).await.unwrap();
        assert_eq!(hint(&s).await, Some(be(3).to_vec()));
        assert_eq!(ids(&s, &p, None).await.0, vec![3, 4, 6]);
        // Pages with a key before the hint start at the hint; offsets count live entries.
        let req = PageRequest { key: be(1).to_vec(), limit: 2, ..Default::default() };
        let (page, resp) = ids(&s, &p, Some(&req)).await;
        assert_eq!((page, resp.next_key), (vec![3, 4], be(6).to_vec()));
        let req = PageRequest { offset: 1, count_total: true, ..Default::default() };
        let (page, resp) = ids(&s, &p, Some(&req)).await;
        assert_eq!((page, resp.total), (vec![4, 6], 3));
        // Emptied: the hint sits just past the last removed; a smaller insert lowers it.
        for i in [3u64, 4, 6] {
            s.index_remove(&p, &be(i)).await.unwrap();
        }
        assert_eq!(hint(&s).await, Some([be(6).as_slice(), &[0]].concat()));
        assert!(ids(&s, &p, None).await.0.is_empty());
        s.index_insert(&p, &be(2), be(2).to_vec()).await.unwrap();
        assert_eq!(hint(&s).await, Some(be(2).to_vec()));
        s.index_insert(&p, &be(9), be(9).to_vec()).await.unwrap();
        assert_eq!(ids(&s, &p, None).await.0, vec![2, 9]);
        assert_eq!(s.index_count(&p).await.unwrap(), 2);

        // The same after a commit, reading from storage rather than the delta.
        storage.commit(s).await.unwrap();
        let snap = storage.latest_snapshot();
        assert_eq!(ids(&snap, &p, None).await.0, vec![2, 9]);
    }
}
