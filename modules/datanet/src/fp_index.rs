//! The fingerprint index: for each (datanet, fingerprint hash), the accepted
//! contributions that have the hash. Attribution reads one entry per output hash, so
//! finding what an output touched costs the same at a thousand contributions as at a
//! million. Entries are in the verifiable store: settlements decide payments by them.
//!
//! - Accepting a contribution adds it to the entry of each of its hashes; an upheld
//!   challenge removes it (it stops earning from scores at once).
//! - A hash belongs to its first holder: the listed contribution accepted first. Only
//!   the first holder is credited for it in a score, and a contribution's weight counts
//!   the hashes it is first to bring, so copying, splitting or repeating content
//!   already in the datanet earns nothing.
//! - `accepted_ever` counts every contribution ever accepted with the hash. Above the
//!   module's `max_fingerprint_sharing` the hash is boilerplate for good: its list is
//!   emptied and it scores nothing. Counting acceptances rather than current members
//!   makes the entry a function of the contributions' records alone, so a genesis
//!   import rebuilds exactly what the live chain wrote.
use std::collections::BTreeMap;

use cnidarium::StateWrite;
use openledger_framework::{ChainError, StoreRead, StoreWrite};
use openledger_proto::openledger::datanet::v1::{Contribution, FingerprintParams, FingerprintPosting};

use crate::state_key;

/// A hash that `n` contributions were ever accepted with scores `RARITY_SCALE / n` (for
/// its first holder).
pub const RARITY_SCALE: u64 = 1_000_000;

/// A datanet's near-duplicate threshold when it set none.
pub const DEFAULT_NEAR_DUPLICATE_BPS: u32 = 5000;

/// The threshold in force for a datanet's fingerprint parameters.
pub fn near_duplicate_bps(fp: &FingerprintParams) -> u32 {
    if fp.near_duplicate_bps == 0 {
        DEFAULT_NEAR_DUPLICATE_BPS
    } else {
        fp.near_duplicate_bps
    }
}

/// What the index holds for a fingerprint's hashes, read once (one read per hash):
/// enough to refuse a near-duplicate, count the hashes it would bring, and index it.
pub struct Survey {
    datanet_id: u64,
    entries: Vec<(u64, FingerprintPosting)>,
}

impl Survey {
    pub async fn read<S: StoreRead>(state: &S, datanet_id: u64, fingerprint: &[u64]) -> Result<Survey, ChainError> {
        let found = postings(state, datanet_id, fingerprint).await?;
        let entries = fingerprint.iter().copied().zip(found.into_iter().map(Option::unwrap_or_default)).collect();
        Ok(Survey { datanet_id, entries })
    }

    /// The accepted contribution the fingerprint near-duplicates, if any: the one
    /// sharing the most of its listed (not saturated) hashes, ties to the lower id, when
    /// `shared × 10⁴ ≥ threshold × |fingerprint|`. Returns (contribution id, hashes shared).
    pub fn near_duplicate(&self, threshold_bps: u32) -> Option<(u64, u64)> {
        let mut shared: BTreeMap<u64, u64> = BTreeMap::new();
        for (_, p) in &self.entries {
            for id in &p.contribution_ids {
                *shared.entry(*id).or_insert(0) += 1;
            }
        }
        // Most shared, then the lower id: `max_by` keeps the last maximum, so compare ids reversed.
        let best = shared.into_iter().max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)));
        best.filter(|(_, n)| u128::from(*n) * 10_000 >= u128::from(threshold_bps) * self.entries.len() as u128)
    }

    /// The hashes the contribution would bring to the datanet: those no accepted
    /// contribution lists now and that indexing it would not saturate. It becomes their
    /// first holder, and its weight counts them.
    pub fn new_hashes(&self, max_sharing: u32) -> u64 {
        self.entries.iter().filter(|(_, p)| p.contribution_ids.is_empty() && p.accepted_ever < u64::from(max_sharing)).count() as u64
    }

    /// Index the contribution (just accepted, its position set) under every hash surveyed.
    pub fn add<S: StateWrite>(self, state: &mut S, max_sharing: u32, c: &Contribution) {
        for (h, mut p) in self.entries {
            insert(&mut p, max_sharing, c.id, c.position);
            state.put_proto(state_key::posting(self.datanet_id, h), &p);
        }
    }
}

/// The first holder of a hash among contributions whose leaf is below `limit`: the
/// listed one accepted first (lowest position), which is the one that brought it.
pub fn first_holder(p: &FingerprintPosting, limit: u64) -> Option<u64> {
    p.contribution_ids.iter().zip(&p.positions).filter(|(_, pos)| **pos < limit).min_by_key(|(_, pos)| **pos).map(|(id, _)| *id)
}

/// The index entries of `hashes` in one datanet, in their order: the one place the
/// index is read (a receipt or a fingerprint is up to a thousand reads). One after
/// another: each read is a hop to cnidarium's blocking pool (≈ 25 µs on this machine,
/// most of it the thread handoff); issuing them all at once measured no faster on two
/// cores. In a block, a node answers them from its in-memory copy of the index
/// (`Module::MEMORY_PREFIXES`), without the hop.
pub async fn postings<S: StoreRead>(state: &S, datanet_id: u64, hashes: &[u64]) -> Result<Vec<Option<FingerprintPosting>>, ChainError> {
    let mut out = Vec::with_capacity(hashes.len());
    for h in hashes {
        out.push(state.get_proto(&state_key::posting(datanet_id, *h)).await?);
    }
    Ok(out)
}

/// Count one more acceptance of the hash; false once it is saturated (its list emptied).
fn count(p: &mut FingerprintPosting, max_sharing: u32) -> bool {
    p.accepted_ever += 1;
    if p.accepted_ever > u64::from(max_sharing) {
        p.contribution_ids.clear();
        p.positions.clear();
        return false;
    }
    true
}

/// What one contribution adds to the entry of each of its hashes: (id, position) kept
/// in id order, unless the hash is saturated.
fn insert(p: &mut FingerprintPosting, max_sharing: u32, id: u64, position: u64) {
    if !count(p, max_sharing) {
        return;
    }
    if let Err(at) = p.contribution_ids.binary_search(&id) {
        p.contribution_ids.insert(at, id);
        p.positions.insert(at, position);
    }
}

/// Take an invalidated contribution out of the lists (it stays counted).
pub async fn remove<S: StateWrite>(state: &mut S, c: &Contribution) -> Result<(), ChainError> {
    for h in &c.fingerprint {
        let key = state_key::posting(c.datanet_id, *h);
        let Some(mut p) = state.get_proto::<FingerprintPosting>(&key).await? else { continue };
        if let Ok(at) = p.contribution_ids.binary_search(&c.id) {
            p.contribution_ids.remove(at);
            p.positions.remove(at);
            state.put_proto(key, &p);
        }
    }
    Ok(())
}

/// The index a genesis import writes: what accepting each contribution (and
/// invalidating the invalidated ones) would have written.
#[derive(Default)]
pub struct IndexBuild {
    entries: BTreeMap<(u64, u64), FingerprintPosting>,
}

impl IndexBuild {
    /// An accepted (`listed`) or invalidated contribution, in any order.
    pub fn add(&mut self, max_sharing: u32, c: &Contribution, listed: bool) {
        for h in &c.fingerprint {
            let p = self.entries.entry((c.datanet_id, *h)).or_default();
            if listed {
                insert(p, max_sharing, c.id, c.position);
            } else {
                count(p, max_sharing);
            }
        }
    }

    pub fn finish<S: StateWrite>(self, state: &mut S) {
        for ((dn, h), p) in self.entries {
            state.put_proto(state_key::posting(dn, h), &p);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(id: u64, position: u64, fingerprint: Vec<u64>) -> Contribution {
        Contribution { id, datanet_id: 1, position, fingerprint, ..Default::default() }
    }

    #[test]
    fn entries_keep_id_order_and_saturate_for_good() {
        let mut p = FingerprintPosting::default();
        for (id, pos) in [(5, 0), (2, 1), (9, 2)] {
            insert(&mut p, 3, id, pos);
        }
        assert_eq!((p.contribution_ids.clone(), p.positions.clone(), p.accepted_ever), (vec![2, 5, 9], vec![1, 0, 2], 3));
        insert(&mut p, 3, 11, 3);
        assert_eq!((p.contribution_ids.len(), p.positions.len(), p.accepted_ever), (0, 0, 4));
        insert(&mut p, 3, 12, 4);
        assert!(p.contribution_ids.is_empty(), "a saturated hash lists nobody again");
    }

    #[test]
    fn a_hash_belongs_to_its_first_holder_and_is_new_only_when_nobody_holds_it() {
        let mut p = FingerprintPosting::default();
        insert(&mut p, 4, 9, 0);
        insert(&mut p, 4, 3, 5);
        // Id 3 has the lower id, id 9 was accepted first (position 0): 9 holds the hash.
        assert_eq!(first_holder(&p, 10), Some(9));
        assert_eq!(first_holder(&p, 1), Some(9));
        assert_eq!(first_holder(&p, 0), None, "outside the training version");
        let q = FingerprintPosting { contribution_ids: vec![3], positions: vec![5], accepted_ever: 2 };
        assert_eq!(first_holder(&q, 5), None);
        let survey = |entries: Vec<FingerprintPosting>| Survey { datanet_id: 1, entries: entries.into_iter().map(|p| (0, p)).collect() };
        let free = FingerprintPosting::default();
        let freed = FingerprintPosting { accepted_ever: 2, ..Default::default() }; // its holders invalidated
        let boilerplate = FingerprintPosting { accepted_ever: 4, ..Default::default() };
        assert_eq!(survey(vec![free, freed, boilerplate, p.clone()]).new_hashes(4), 2);
        assert_eq!(survey(vec![p.clone(), p]).near_duplicate(5000), Some((3, 2)));
    }

    #[test]
    fn an_import_builds_what_accepting_and_invalidating_wrote() {
        // Live: accept 1..=4 (hash 7 shared by all, max 3), invalidate 2.
        let all = [c(1, 0, vec![7, 8]), c(2, 1, vec![7, 9]), c(3, 2, vec![7]), c(4, 3, vec![7, 8])];
        let mut live: BTreeMap<u64, FingerprintPosting> = BTreeMap::new();
        for x in &all {
            for h in &x.fingerprint {
                insert(live.entry(*h).or_default(), 3, x.id, x.position);
            }
        }
        let p9 = live.get_mut(&9).unwrap();
        let at = p9.contribution_ids.binary_search(&2).unwrap();
        p9.contribution_ids.remove(at);
        p9.positions.remove(at);
        // Import, in reverse order, 2 as invalidated.
        let mut b = IndexBuild::default();
        for x in all.iter().rev() {
            b.add(3, x, x.id != 2);
        }
        let imported: BTreeMap<u64, FingerprintPosting> = b.entries.into_iter().map(|((_, h), p)| (h, p)).collect();
        assert_eq!(imported, live);
        assert_eq!(live[&7].accepted_ever, 4);
        assert!(live[&7].contribution_ids.is_empty());
        assert_eq!((live[&8].contribution_ids.clone(), live[&9].accepted_ever), (vec![1, 4], 1));
    }
}
