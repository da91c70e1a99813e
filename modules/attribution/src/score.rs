//! The chain's choice of the contributions a receipt credits. Nobody paid by the
//! inference has a say: the output comes from the consumer's signed receipt, and the
//! entries and their shares follow from it and the training versions by this rule.
//!
//! - **Candidates**: for each output hash and each training datanet, the fingerprint
//!   index entry (one read) lists the accepted contributions with the hash; its first
//!   holder whose leaf is inside a training version (position below the version's
//!   contribution count) is a candidate.
//! - **Score**: each output hash is worth `RARITY_SCALE / n` to its first holder (the
//!   listed contribution accepted first; the others only copied it), where `n` is the
//!   number of contributions of its datanet ever accepted with the hash. A hash shared
//!   by more than `max_fingerprint_sharing` counts for nothing. Boilerplate scores
//!   little or nothing, however many outputs it appears in; a copy, a piece split off
//!   or a stitch of others' content scores nothing; and the pieces of a split file
//!   together score what the file would.
//! - **Entries**: the top `max_entries` candidates by score, ties to the lower id.
//! - **Shares**: entry `i` is credited `⌊contributors' part × sᵢ / S⌋`, where `S` is the
//!   total score of *every* candidate, so pushing others out of the top K earns
//!   nothing: what the others would have earned goes to the pools with the rest.
//!
//! Cost: at most `max_output_fingerprint × training datanets` index reads, one version
//! read per training entry and `max_entries` contribution reads, whatever the size of
//! the datanets.
use std::collections::BTreeMap;

use cnidarium::StateRead;
use openledger_datanet::fp_index::{self, RARITY_SCALE};
use openledger_datanet::state_ext::DatanetRead;
use openledger_framework::{sdk, ChainError};
use openledger_proto::openledger::attribution::v1::Terms;
use openledger_proto::openledger::datanet::v1::{Contribution, ContributionStatus};

use crate::state_ext::AttributionRead;

/// What the chain computed for one output.
pub struct Scored {
    /// The top entries, best first, with their scores.
    pub entries: Vec<(Contribution, u64)>,
    /// Every candidate's score, summed.
    pub total: u128,
    pub candidates: u32,
    /// Output hashes no candidate had (absent from the index, saturated, or only in
    /// contributions outside the training versions).
    pub uncounted_hashes: u32,
}

pub async fn score<S: StateRead>(state: &S, terms: &Terms, output: &[u64], max_entries: u32) -> Result<Scored, ChainError> {
    // Per training datanet: the largest contribution count of its training versions (a
    // model trained on several versions of one datanet has every leaf below it).
    let mut limits: BTreeMap<u64, u64> = BTreeMap::new();
    for t in &terms.training_set {
        let v = state
            .datanet_version(t.datanet_id, t.version)
            .await?
            .ok_or_else(|| sdk::internal(format!("training version {}/{} missing", t.datanet_id, t.version)))?;
        let l = limits.entry(t.datanet_id).or_insert(0);
        *l = (*l).max(v.contribution_count);
    }
    let mut scores: BTreeMap<u64, u64> = BTreeMap::new();
    // Output hash i counted for some datanet.
    let mut counted = vec![false; output.len()];
    for (dn, limit) in &limits {
        for (i, p) in fp_index::postings(state, *dn, output).await?.into_iter().enumerate() {
            let Some(p) = p else { continue };
            if p.contribution_ids.is_empty() || p.accepted_ever == 0 {
                continue;
            }
            if let Some(id) = fp_index::first_holder(&p, *limit) {
                let s = scores.entry(id).or_insert(0);
                *s = s.saturating_add(RARITY_SCALE / p.accepted_ever);
                counted[i] = true;
            }
        }
    }
    let uncounted_hashes = counted.iter().filter(|c| !**c).count() as u32;
    let total: u128 = scores.values().map(|s| u128::from(*s)).sum();
    let candidates = u32::try_from(scores.len()).unwrap_or(u32::MAX);
    let mut ranked: Vec<(u64, u64)> = scores.into_iter().collect();
    // Score descending, then id ascending: a total order, so the choice is unique.
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    ranked.truncate(max_entries as usize);
    // The K records are read together, each with the rewards record its credit will
    // update next (`settle::credit`): they are the settlement's only reads that miss
    // every cache once the store outgrows RocksDB's block cache (≈ 20 µs each at 1,000
    // contributions, 35–60 µs at 100,000 and beyond), none depends on another, and read
    // at once their latencies overlap instead of adding up. The rewards values are
    // dropped here; the block's read cache (`Prefetched`) answers the credit's read.
    let records = futures::future::try_join_all(ranked.iter().map(|(id, _)| async move {
        let (c, _) = futures::try_join!(state.contribution(*id), state.contribution_rewards(*id))?;
        Ok::<_, ChainError>(c)
    }))
    .await?;
    let mut entries = Vec::with_capacity(ranked.len());
    for ((id, s), c) in ranked.into_iter().zip(records) {
        let c = c.ok_or_else(|| sdk::internal(format!("indexed contribution {id} missing")))?;
        if c.status != ContributionStatus::Accepted as i32 {
            return Err(sdk::internal(format!("indexed contribution {id} is not accepted")));
        }
        entries.push((c, s));
    }
    Ok(Scored { entries, total, candidates, uncounted_hashes })
}
