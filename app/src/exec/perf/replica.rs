//! A node-local copy, in memory, of every committed entry under the key prefixes the
//! modules name (`Module::MEMORY_PREFIXES`): today the datanet fingerprint index, which
//! a receipt reads up to a thousand times, mostly for hashes nobody holds. Answered
//! from here, such a read is a lookup in memory instead of a trip through the storage
//! thread pool and RocksDB's levels, whose cost grows with the store (an absent key
//! measured 18 µs in a store of 1,000 contributions, 44 µs at 100,000 and more).
//!
//! Why this is consensus-safe: the copy is exact at one version. It is loaded by a
//! scan of the prefixes in the committed snapshot at that version, and moves to the
//! next version only by the writes of the block committed on top of it, the same
//! writes storage commits (`advance`). It answers only a read of a block executed on
//! the snapshot of exactly its version (`Prefetched` checks it) and only for keys
//! under its prefixes, where it holds every entry: a key it lacks is absent from that
//! snapshot too. Any other case — a commit it did not see, a version it is not at, a
//! copy over its size limit — leaves it stale, and reads go to storage as without it,
//! until the next block reloads it. Gas is charged above this layer (`Metered`), so
//! where a value comes from never changes what a tx costs.
//!
//! The entries are in a hash table (`Table`), the app's one: a lookup in it costs the
//! same at four thousand entries as at four million, where a `BTreeMap` of string keys
//! walks twenty-odd comparisons, each a cache miss, and measured 1.5× slower per
//! settled receipt at a million contributions than at a thousand. It is looked up,
//! never iterated — `Table` has no way to iterate — so its order cannot reach a result.
use std::collections::BTreeMap;
use std::sync::RwLock;

use cnidarium::{Snapshot, StateRead};
use futures::StreamExt;

/// Entries the copy holds at most (≈ 130 bytes each in memory); a larger index is read
/// from storage.
pub const REPLICA_MAX_ENTRIES: usize = 8_000_000;

pub struct Replica {
    prefixes: &'static [&'static str],
    max_entries: usize,
    state: RwLock<State>,
}

#[derive(Default)]
struct State {
    /// The version the entries are exact at; `None`: stale (not loaded, or a commit was missed).
    version: Option<u64>,
    entries: Table,
}

/// Key to value, for lookups only. Its hasher is keyed per process, so nobody can
/// choose index keys (they follow from fingerprint hashes, which contributors choose)
/// that collide on every node; since nothing iterates the table, the keys' order,
/// which that changes, is never observed.
#[derive(Default)]
struct Table {
    #[allow(clippy::disallowed_types)]
    map: std::collections::HashMap<Box<str>, Box<[u8]>>,
}

impl Table {
    fn get(&self, key: &str) -> Option<&[u8]> {
        self.map.get(key).map(|v| &**v)
    }

    fn insert(&mut self, key: String, value: Vec<u8>) {
        self.map.insert(key.into_boxed_str(), value.into_boxed_slice());
    }

    fn remove(&mut self, key: &str) {
        self.map.remove(key);
    }

    fn len(&self) -> usize {
        self.map.len()
    }
}

/// The writes of one block under the replicated prefixes, and the version it ran on.
#[derive(Default)]
pub struct ReplicaUpdates {
    from: u64,
    writes: Vec<(String, Option<Vec<u8>>)>,
}

impl Replica {
    pub fn new(prefixes: &'static [&'static str], max_entries: usize) -> Replica {
        Replica { prefixes, max_entries, state: RwLock::new(State::default()) }
    }

    fn covers(&self, key: &str) -> bool {
        self.prefixes.iter().any(|p| key.starts_with(p))
    }

    /// The version the copy is exact at, if it is.
    pub fn version(&self) -> Option<u64> {
        self.state.read().ok().and_then(|s| s.version)
    }

    /// Entries held.
    pub fn len(&self) -> usize {
        self.state.read().map_or(0, |s| s.entries.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Make the copy exact at `snap`'s version unless it already is: a scan of every
    /// prefix. Left stale if the prefixes hold more than the limit or a read fails.
    pub async fn ensure(&self, snap: &Snapshot) {
        let version = snap.version();
        if self.prefixes.is_empty() || self.max_entries == 0 || self.version() == Some(version) {
            return;
        }
        let t0 = std::time::Instant::now();
        let mut entries = Table::default();
        for p in self.prefixes {
            let mut s = std::pin::pin!(snap.prefix_raw(p));
            while let Some(item) = s.next().await {
                let Ok((k, v)) = item else {
                    tracing::warn!(prefix = p, "replica: storage read failed; reading the prefix from storage");
                    return self.set(None, Table::default());
                };
                if entries.len() >= self.max_entries {
                    tracing::info!(prefix = p, max = self.max_entries, "replica: over its size limit; reading the prefix from storage");
                    return self.set(None, Table::default());
                }
                entries.insert(k, v);
            }
        }
        tracing::info!(version, entries = entries.len(), ms = t0.elapsed().as_millis() as u64, "replica: loaded");
        self.set(Some(version), entries);
    }

    fn set(&self, version: Option<u64>, entries: Table) {
        if let Ok(mut s) = self.state.write() {
            *s = State { version, entries };
        }
    }

    /// The committed value of `key` at `version`, if the copy can tell: `Some(None)` is
    /// a key absent from that snapshot; `None`, ask storage.
    pub fn get(&self, version: u64, key: &str) -> Option<Option<Vec<u8>>> {
        if !self.covers(key) {
            return None;
        }
        let s = self.state.read().ok()?;
        if s.version != Some(version) {
            return None;
        }
        Some(s.entries.get(key).map(<[u8]>::to_vec))
    }

    /// The writes under the prefixes of a block executed on `version`.
    pub fn updates(&self, version: u64, writes: &BTreeMap<String, Option<Vec<u8>>>) -> ReplicaUpdates {
        let writes = writes.iter().filter(|(k, _)| self.covers(k)).map(|(k, v)| (k.clone(), v.clone())).collect();
        ReplicaUpdates { from: version, writes }
    }

    /// The block executed on `updates.from` committed as `to`.
    pub fn advance(&self, updates: ReplicaUpdates, to: u64) {
        let Ok(mut s) = self.state.write() else { return };
        if s.version != Some(updates.from) {
            // Not the version the block ran on: a commit went by unseen.
            *s = State::default();
            return;
        }
        for (k, v) in updates.writes {
            match v {
                Some(v) => s.entries.insert(k, v),
                None => s.entries.remove(&k),
            }
        }
        if s.entries.len() > self.max_entries {
            *s = State::default();
            return;
        }
        s.version = Some(to);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cnidarium::{StateDelta, StateWrite, TempStorage};

    async fn commit(storage: &TempStorage, writes: &[(&str, Option<&[u8]>)]) -> (u64, BTreeMap<String, Option<Vec<u8>>>) {
        let mut delta = StateDelta::new(storage.latest_snapshot());
        let mut all = BTreeMap::new();
        for (k, v) in writes {
            match v {
                Some(v) => delta.put_raw(k.to_string(), v.to_vec()),
                None => delta.delete(k.to_string()),
            }
            all.insert(k.to_string(), v.map(<[u8]>::to_vec));
        }
        storage.commit(delta).await.expect("commit");
        (storage.latest_snapshot().version(), all)
    }

    /// Every key the copy answers for, it answers as the snapshot does, absence
    /// included; it follows commits it sees, and goes stale at one it does not.
    #[tokio::test]
    async fn the_copy_answers_exactly_as_the_snapshot_at_its_version_and_no_other() {
        let storage = TempStorage::new().await.expect("storage");
        commit(&storage, &[("ix/a", Some(b"1")), ("ix/b", Some(b"2")), ("other/a", Some(b"x"))]).await;
        let r = Replica::new(&["ix/"], 10);
        let snap = storage.latest_snapshot();
        let v0 = snap.version();
        assert_eq!(r.get(v0, "ix/a"), None, "not loaded: ask storage");
        r.ensure(&snap).await;
        assert_eq!((r.version(), r.len()), (Some(v0), 2));
        for key in ["ix/a", "ix/b", "ix/c", "other/a"] {
            let stored = snap.get_raw(key).await.expect("read");
            match r.get(v0, key) {
                Some(v) => assert_eq!(v, stored, "{key}"),
                None => assert_eq!(key, "other/a", "only keys outside the prefixes go to storage"),
            }
        }
        assert_eq!(r.get(v0 + 1, "ix/a"), None, "another version: ask storage");

        // A block on v0: one write, one delete, one outside the prefix.
        let (v1, writes) = commit(&storage, &[("ix/c", Some(b"3")), ("ix/a", None), ("other/b", Some(b"y"))]).await;
        let u = r.updates(v0, &writes);
        assert_eq!(u.writes.len(), 2);
        r.advance(u, v1);
        let snap = storage.latest_snapshot();
        for key in ["ix/a", "ix/b", "ix/c"] {
            assert_eq!(r.get(v1, key), Some(snap.get_raw(key).await.expect("read")), "{key}");
        }

        // A commit it did not see, then a block's updates computed on the old version: stale.
        let (v2, _) = commit(&storage, &[("ix/d", Some(b"4"))]).await;
        let (v3, writes) = commit(&storage, &[("ix/e", Some(b"5"))]).await;
        r.advance(r.updates(v2, &writes), v3);
        assert_eq!((r.version(), r.get(v3, "ix/d")), (None, None), "stale: every read goes to storage");
        r.ensure(&storage.latest_snapshot()).await;
        assert_eq!((r.version(), r.get(v3, "ix/d"), r.get(v3, "ix/a")), (Some(v3), Some(Some(b"4".to_vec())), Some(None)));
    }

    #[tokio::test]
    async fn a_copy_over_its_limit_stays_stale() {
        let storage = TempStorage::new().await.expect("storage");
        commit(&storage, &[("ix/a", Some(b"1")), ("ix/b", Some(b"2")), ("ix/c", Some(b"3"))]).await;
        let r = Replica::new(&["ix/"], 2);
        let snap = storage.latest_snapshot();
        r.ensure(&snap).await;
        assert_eq!((r.version(), r.get(snap.version(), "ix/a")), (None, None));
    }
}
