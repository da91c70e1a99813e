//! The version tree of a datanet: a binary Merkle tree of depth 32 over positions
//! 0..2^32, kept incrementally.
//!
//! Leaf and node hashes and the offline proof check are `openledger_types::merkle`
//! (pure, shared with clients); this file keeps the tree in the store.
//!
//! Accepting a contribution appends a leaf, invalidating one rewrites its leaf with
//! weight 0: each touches only the O(log n) nodes on its path (nodes above the
//! occupied height are computed from precomputed empty-subtree hashes, never stored).
//! Publishing a version copies nothing: every node write is tagged with the *epoch*
//! it happened in (= the number of the version being built), and version N's tree is
//! the newest write of each node with epoch ≤ N. So a proof for any old version is
//! O(log n) seeks, and the whole mechanism costs O(log n) per change, whatever the
//! datanet's size. The node history lives in the non-verifiable store (like
//! Penumbra's commitment tree), for proofs against old versions; what consensus reads —
//! the siblings a change rehashes with, and the root a new version records in its
//! (verifiable) `Version` record — is each node's current value, kept in the verifiable
//! store beside it. So no consensus result depends on what a node keeps off the app
//! hash: a node whose non-verifiable store is lost computes the same roots.
use cnidarium::{StateRead, StateWrite};
use futures::StreamExt;
use openledger_framework::{sdk, ChainError};

use crate::state_key;

// The hashing and proof check are pure, shared with clients: re-exported so that
// `openledger_datanet::merkle::{leaf_hash, verify, …}` stays the one path in the chain.
pub use openledger_types::merkle::*;

/// Levels actually stored for a tree of `size` leaves: positions fit in this many bits.
fn stored_height(size: u64) -> usize {
    (64 - size.saturating_sub(1).leading_zeros()) as usize
}

/// The value of a node as of `epoch` (its newest write with epoch ≤ `epoch`).
async fn node_at<S: StateRead>(state: &S, datanet_id: u64, level: usize, index: u64, epoch: u64) -> Result<Option<Hash>, ChainError> {
    let prefix = state_key::tree_node(datanet_id, level as u8, index);
    let stream = state.nonverifiable_range_raw(Some(&prefix), (!epoch).to_be_bytes().to_vec()..)?;
    let mut stream = std::pin::pin!(stream);
    match stream.next().await {
        None => Ok(None),
        Some(item) => {
            let (_, v) = item?;
            Ok(Some(<Hash>::try_from(v.as_slice()).map_err(|_| sdk::internal("corrupt datanet tree node"))?))
        }
    }
}

/// The current value of a node (its newest write), from the verifiable store.
async fn node_now<S: StateRead>(state: &S, datanet_id: u64, level: usize, index: u64) -> Result<Option<Hash>, ChainError> {
    match state.get_raw(&state_key::tree_current(datanet_id, level as u8, index)).await? {
        None => Ok(None),
        Some(v) => Ok(Some(<Hash>::try_from(v.as_slice()).map_err(|_| sdk::internal("corrupt datanet tree node"))?)),
    }
}

/// Set the leaf at `position` in a tree that (after this) holds `size` leaves, during
/// `epoch` (the version being built: every write is at the newest epoch, so a node's
/// current value is its value as of `epoch`). Rewrites the path up to the stored height.
pub async fn set_leaf<S: StateWrite>(
    state: &mut S,
    datanet_id: u64,
    position: u64,
    size: u64,
    leaf: Hash,
    epoch: u64,
) -> Result<(), ChainError> {
    let z = empties();
    let height = stored_height(size);
    let mut acc = leaf;
    let mut index = position;
    put_node(state, datanet_id, 0, index, epoch, acc);
    for (level, zl) in z.iter().enumerate().take(height) {
        let sibling = node_now(state, datanet_id, level, index ^ 1).await?.unwrap_or(*zl);
        acc = if index & 1 == 1 { node_hash(&sibling, &acc) } else { node_hash(&acc, &sibling) };
        index >>= 1;
        put_node(state, datanet_id, level + 1, index, epoch, acc);
    }
    Ok(())
}

/// Write the tree of `leaves` at positions 0..n of an empty tree during `epoch`, level
/// by level from the leaves up: the nodes, and their values, that appending the leaves
/// one by one with `set_leaf` leaves stored (each appended leaf's path reaches the stored
/// height of the size it makes, and every node of the final stored levels lies on the
/// path of the last leaf below it). O(n) writes and no reads, where the appends cost
/// O(n log n) seeks: a genesis import's version tree.
pub fn put_fresh_tree<S: StateWrite>(state: &mut S, datanet_id: u64, leaves: &[Hash], epoch: u64) {
    let z = empties();
    let height = stored_height(leaves.len() as u64);
    let mut level: Vec<Hash> = leaves.to_vec();
    for (l, zl) in z.iter().enumerate().take(height + 1) {
        for (index, node) in level.iter().enumerate() {
            put_node(state, datanet_id, l, index as u64, epoch, *node);
        }
        if l < height {
            level = level.chunks(2).map(|p| node_hash(&p[0], p.get(1).unwrap_or(zl))).collect();
        }
    }
}

fn put_node<S: StateWrite>(state: &mut S, datanet_id: u64, level: usize, index: u64, epoch: u64, value: Hash) {
    let mut key = state_key::tree_node(datanet_id, level as u8, index);
    key.extend_from_slice(&(!epoch).to_be_bytes());
    state.nonverifiable_put_raw(key, value.to_vec());
    state.put_raw(state_key::tree_current(datanet_id, level as u8, index), value.to_vec());
}

/// The root of the tree of `size` leaves now (consensus: read from the verifiable store).
pub async fn root<S: StateRead>(state: &S, datanet_id: u64, size: u64) -> Result<Hash, ChainError> {
    let top = match size {
        0 => None,
        _ => node_now(state, datanet_id, stored_height(size), 0).await?,
    };
    Ok(root_from(size, top))
}

/// The root of the tree of `size` leaves as of `epoch` (from the node history: proofs
/// and audits of old versions).
pub async fn root_at<S: StateRead>(state: &S, datanet_id: u64, size: u64, epoch: u64) -> Result<Hash, ChainError> {
    let top = match size {
        0 => None,
        _ => node_at(state, datanet_id, stored_height(size), 0, epoch).await?,
    };
    Ok(root_from(size, top))
}

/// The root above the top stored node of a tree of `size` leaves.
fn root_from(size: u64, top: Option<Hash>) -> Hash {
    let z = empties();
    if size == 0 {
        return z[DEPTH];
    }
    let height = stored_height(size);
    let mut acc = top.unwrap_or(z[height]);
    for zl in z.iter().take(DEPTH).skip(height) {
        acc = node_hash(&acc, zl);
    }
    acc
}

/// The siblings of `position`, leaf level first, as of `epoch`.
pub async fn siblings_at<S: StateRead>(state: &S, datanet_id: u64, position: u64, epoch: u64) -> Result<Vec<Hash>, ChainError> {
    let z = empties();
    let mut out = Vec::with_capacity(DEPTH);
    for (level, zl) in z.iter().take(DEPTH).enumerate() {
        let index = (position >> level) ^ 1;
        out.push(node_at(state, datanet_id, level, index, epoch).await?.unwrap_or(*zl));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use cnidarium::{StateDelta, TempStorage};

    fn leaf(i: u64, w: u128) -> Hash {
        leaf_hash(i, &[i as u8; 32], w)
    }

    #[tokio::test]
    async fn a_fresh_tree_is_stored_exactly_as_appending_its_leaves() {
        let storage = TempStorage::new().await.unwrap();
        for n in (1u64..=70).chain([127, 128, 129, 1000]) {
            let leaves: Vec<Hash> = (0..n).map(|i| leaf(i, 3)).collect();
            let mut appended = StateDelta::new(storage.latest_snapshot());
            for (i, l) in leaves.iter().enumerate() {
                set_leaf(&mut appended, 4, i as u64, i as u64 + 1, *l, 2).await.unwrap();
            }
            let mut fresh = StateDelta::new(storage.latest_snapshot());
            put_fresh_tree(&mut fresh, 4, &leaves, 2);
            use openledger_framework::StoreRead;
            let entries = |s: StateDelta<cnidarium::Snapshot>| async move { s.nonverifiable_entries(b"").await.unwrap() };
            let root = root_at(&fresh, 4, n, 2).await.unwrap();
            assert_eq!(root, root_at(&appended, 4, n, 2).await.unwrap(), "n = {n}");
            assert_eq!(root, openledger_types::merkle::root_of(&leaves), "n = {n}");
            assert_eq!(entries(fresh).await, entries(appended).await, "n = {n}: the same nodes, key for key");
        }
    }

    #[tokio::test]
    async fn incremental_roots_and_old_version_proofs_match_the_reference_tree() {
        let storage = TempStorage::new().await.unwrap();
        let mut state = StateDelta::new(storage.latest_snapshot());
        let mut leaves: Vec<Hash> = Vec::new();
        let mut versions: Vec<(u64, Vec<Hash>, Hash)> = Vec::new();
        // 9 epochs of appends, with one leaf zeroed in some epochs, publishing after each.
        for (epoch, round) in (1u64..).zip(0..9u64) {
            for _ in 0..(round * 3 + 1) {
                let pos = leaves.len() as u64;
                leaves.push(leaf(pos, 7));
                set_leaf(&mut state, 5, pos, leaves.len() as u64, leaves[pos as usize], epoch).await.unwrap();
            }
            if round % 3 == 2 {
                let pos = round; // zero an earlier leaf (an upheld challenge)
                leaves[pos as usize] = leaf(pos, 0);
                set_leaf(&mut state, 5, pos, leaves.len() as u64, leaves[pos as usize], epoch).await.unwrap();
            }
            let root = root_at(&state, 5, leaves.len() as u64, epoch).await.unwrap();
            assert_eq!(root, openledger_types::merkle::root_of(&leaves), "round {round}");
            versions.push((epoch, leaves.clone(), root));
        }
        // Writes of a later epoch do not disturb an earlier version's proofs.
        for (epoch, leaves_then, root) in &versions {
            for (pos, l) in leaves_then.iter().enumerate() {
                let sib = siblings_at(&state, 5, pos as u64, *epoch).await.unwrap();
                assert_eq!(root_from_path(*l, pos as u64, &sib), *root, "epoch {epoch} position {pos}");
            }
        }
        // Another datanet's tree is independent.
        assert_eq!(root_at(&state, 6, 0, 100).await.unwrap(), empty(DEPTH));
    }
}
