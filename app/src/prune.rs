//! Offline pruning of old state versions (`openledgerd prune`, and `openledgerd start`
//! before it opens the store unless `[pruning] keep_blocks = 0`).
//!
//! cnidarium keeps every version of every Jellyfish Merkle tree on disk, yet a node only
//! ever reads the latest one and the few after it that it commits while running:
//! `Storage::snapshot(v)` answers from an in-memory cache that a restart leaves holding
//! the latest version alone. Everything older is disk that nothing can read. This pass
//! runs on a closed store and, for each tree (the main store and every substore):
//!
//! - keeps the tree nodes reachable from the root of the tree's latest version (a JMT is
//!   persistent: a node reachable from a later root is reachable from every root between
//!   its own version and that one, so the latest root reaches all a future read needs),
//!   plus every node written at that version;
//! - keeps, for each key hash, only its newest value, and drops it too if that is a
//!   deletion marker (a read then finds no value, as it did);
//! - deletes the rest in bounded batches, and compacts a column family that lost a
//!   tenth or more of its entries, so the disk space is returned at once.
//!
//! Non-verifiable data (indexes, the block stream) is not touched: its own retention
//! rules apply. Every deleted entry is unreadable already, so the pass is safe to
//! interrupt and to run again; the app hash, every value and every proof of the latest
//! version are unchanged (the simulation test prunes a node and compares its next
//! blocks with a twin's).
use std::collections::BTreeSet;
use std::path::Path;

use anyhow::{bail, Context, Result};
use borsh::BorshDeserialize;
use jmt::storage::{NibblePath, Node, NodeKey};

/// Deletions per write batch.
const BATCH: usize = 50_000;

/// What a pass found and removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PruneReport {
    /// Tree nodes kept and deleted.
    pub nodes_kept: u64,
    pub nodes_deleted: u64,
    /// Versioned values kept and deleted.
    pub values_kept: u64,
    pub values_deleted: u64,
}

impl PruneReport {
    fn add(&mut self, o: &PruneReport) {
        self.nodes_kept += o.nodes_kept;
        self.nodes_deleted += o.nodes_deleted;
        self.values_kept += o.values_kept;
        self.values_deleted += o.values_deleted;
    }
}

/// The key cnidarium stores a tree node under: the version, big-endian, then the node
/// key's borsh encoding (so the keys sort by version).
fn db_node_key(key: &NodeKey) -> Result<Vec<u8>> {
    let mut out = key.version().to_be_bytes().to_vec();
    out.extend_from_slice(&borsh::to_vec(key)?);
    Ok(out)
}

/// Prune the closed state store at `state` (the node must be stopped: RocksDB allows one
/// process per store).
pub fn prune_state_versions(state: &Path) -> Result<PruneReport> {
    if !state.join("CURRENT").is_file() {
        bail!("{} holds no state store", state.display());
    }
    let opts = rocksdb::Options::default();
    let cfs = rocksdb::DB::list_cf(&opts, state).with_context(|| format!("listing the column families of {}", state.display()))?;
    let db = rocksdb::DB::open_cf(&opts, state, &cfs)
        .with_context(|| format!("opening {} (is the node still running? prune works on a stopped node's store)", state.display()))?;
    let mut report = PruneReport::default();
    for tree in cfs.iter().filter(|c| c.starts_with("substore-") && c.ends_with("-jmt")) {
        let nodes = db.cf_handle(tree).with_context(|| format!("column family {tree}"))?;
        let values_cf = format!("{tree}-values");
        let values = db.cf_handle(&values_cf).with_context(|| format!("column family {values_cf}"))?;
        let mut this = PruneReport::default();
        prune_nodes(&db, nodes, &mut this).with_context(|| format!("pruning {tree}"))?;
        prune_values(&db, values, &mut this).with_context(|| format!("pruning {values_cf}"))?;
        // Compaction rewrites a column family to drop what was deleted: worth it when a
        // good part was (RocksDB's own compactions reclaim a little over time).
        if this.nodes_deleted * 10 >= this.nodes_kept {
            db.compact_range_cf(nodes, None::<&[u8]>, None::<&[u8]>);
        }
        if this.values_deleted * 10 >= this.values_kept {
            db.compact_range_cf(values, None::<&[u8]>, None::<&[u8]>);
        }
        report.add(&this);
    }
    db.flush().context("flushing the store")?;
    Ok(report)
}

/// Delete the nodes the latest root does not reach (except those of the latest version).
fn prune_nodes(db: &rocksdb::DB, cf: &rocksdb::ColumnFamily, report: &mut PruneReport) -> Result<()> {
    let mut last = db.raw_iterator_cf(cf);
    last.seek_to_last();
    let Some(latest_key) = last.key() else {
        return Ok(()); // an empty tree
    };
    let latest = u64::from_be_bytes(latest_key.get(..8).context("a node key shorter than its version")?.try_into()?);
    drop(last);
    // Walk down from the latest root, reading each node from the store.
    let mut live: BTreeSet<Vec<u8>> = BTreeSet::new();
    let root: NibblePath = std::iter::empty().collect();
    let mut todo = vec![NodeKey::new(latest, root)];
    while let Some(key) = todo.pop() {
        let k = db_node_key(&key)?;
        let bytes = db.get_cf(cf, &k)?.with_context(|| format!("tree node {key:?} reachable from the latest root is missing"))?;
        if let Node::Internal(internal) = Node::try_from_slice(&bytes)? {
            for (nibble, child) in internal.children_sorted() {
                let path: NibblePath = key.nibble_path().nibbles().chain(std::iter::once(nibble)).collect();
                todo.push(NodeKey::new(child.version, path));
            }
        }
        live.insert(k);
    }
    let latest_prefix = latest.to_be_bytes();
    let mut batch = Deletions { db, cf, batch: rocksdb::WriteBatch::default() };
    for entry in db.iterator_cf(cf, rocksdb::IteratorMode::Start) {
        let (k, _) = entry?;
        if live.contains(k.as_ref()) || k.starts_with(&latest_prefix) {
            report.nodes_kept += 1;
        } else {
            batch.delete(&k)?;
            report.nodes_deleted += 1;
        }
    }
    batch.finish()
}

/// Keep each key hash's newest value unless it is a deletion marker. Keys are the key
/// hash (32 bytes) then the version, big-endian: a key hash's versions are adjacent and
/// ascending, so an entry is superseded when the next one has the same key hash.
fn prune_values(db: &rocksdb::DB, cf: &rocksdb::ColumnFamily, report: &mut PruneReport) -> Result<()> {
    let mut batch = Deletions { db, cf, batch: rocksdb::WriteBatch::default() };
    // The entry before this one, and whether its value marks a deletion.
    let mut newest: Option<(Box<[u8]>, bool)> = None;
    for entry in db.iterator_cf(cf, rocksdb::IteratorMode::Start) {
        let (k, v) = entry?;
        if k.len() != 40 {
            bail!("a value key of {} bytes (expected a 32-byte key hash and an 8-byte version)", k.len());
        }
        if let Some((prev, deleted)) = newest.take() {
            // Superseded, or its key hash's newest and a deletion marker.
            if prev[..32] == k[..32] || deleted {
                batch.delete(&prev)?;
                report.values_deleted += 1;
            } else {
                report.values_kept += 1;
            }
        }
        // borsh Option<Vec<u8>>: 0 is None (a deletion), 1 a value.
        newest = Some((k, v.first() == Some(&0)));
    }
    if let Some((prev, deleted)) = newest {
        if deleted {
            batch.delete(&prev)?;
            report.values_deleted += 1;
        } else {
            report.values_kept += 1;
        }
    }
    batch.finish()
}

/// Deletions written in batches of `BATCH`.
struct Deletions<'a> {
    db: &'a rocksdb::DB,
    cf: &'a rocksdb::ColumnFamily,
    batch: rocksdb::WriteBatch,
}

impl Deletions<'_> {
    fn delete(&mut self, key: &[u8]) -> Result<()> {
        self.batch.delete_cf(self.cf, key);
        if self.batch.len() >= BATCH {
            self.db.write(std::mem::take(&mut self.batch))?;
        }
        Ok(())
    }

    fn finish(self) -> Result<()> {
        Ok(self.db.write(self.batch)?)
    }
}
