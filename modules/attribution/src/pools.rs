//! Version pools: reward-per-weight accumulators, one per paid version of a datanet,
//! arranged so that every operation costs O(log versions) whatever the number of
//! versions a contribution is in, and an invalidated contribution stops accruing at
//! once in every pool.
//!
//! - A contribution accepted into version `f` and invalidated (by an upheld challenge)
//!   from version `inv` is a member of the versions `[f, inv)` (`inv = ∞` while valid).
//! - Paying `a` uopen into the pool of version `v` adds `δ = (a × SCALE + remainder) / W`
//!   to the pool's accumulator, where `W` is the weight of its members still valid: the
//!   version's weight less that of members invalidated since it was published. The
//!   remainder is kept exactly in the pool.
//! - The accumulators of one datanet are summed by a Fenwick tree over versions
//!   (`acc_tree`), so a contribution's pool earnings `w × Σ_{v ∈ [f, inv)} acc_v` are two
//!   prefix sums: one claim takes everything, however many pools it spans.
//! - The invalidated weight of a version is a point query on two Fenwick trees over
//!   versions (`removed_from`, `removed_to`: `+w` at `f` and at `inv`), so taking a
//!   member out of every pool it is in costs two tree updates.
//! - When a contribution is invalidated its pool earnings are fixed then (moved to its
//!   direct credit) and it takes nothing more from any pool. The datanet module queues
//!   invalidations; `take_invalidations` processes them before any pool payment or
//!   claim and at the end of every block, so no payment ever lands between an
//!   invalidation and its processing.
use cnidarium::{StateRead, StateWrite};
use openledger_datanet::state_ext::DatanetRead;
use openledger_framework::{sdk, Amount, ChainError, StoreRead, StoreWrite};
use openledger_proto::openledger::attribution::v1::{ContributionRewards, EarningKind, EarningRecord, VersionPool};
use openledger_proto::openledger::datanet::v1::{Contribution, ContributionStatus};

use crate::state_ext::{add, amount, sub, AttributionRead, AttributionWrite};
use crate::{error, state_key, SCALE};

/// Fenwick trees index versions 1..=CAP (a datanet never has more versions).
pub const CAP: u64 = 1 << 32;

/// The three trees of a datanet.
#[derive(Clone, Copy)]
pub enum Tree {
    /// Σ of pool accumulators, by version.
    Acc,
    /// Weights of invalidated contributions at their first version.
    RemovedFrom,
    /// The same weights at the version their invalidation took effect from.
    RemovedTo,
}

fn node_key(tree: Tree, datanet_id: u64, i: u64) -> String {
    let t = match tree {
        Tree::Acc => "acc",
        Tree::RemovedFrom => "rmf",
        Tree::RemovedTo => "rmt",
    };
    state_key::tree_node(t, datanet_id, i)
}

fn lowbit(i: u64) -> u64 {
    i & i.wrapping_neg()
}

/// `Σ_{v ≤ i}` of a tree (i ≤ CAP): at most 33 reads.
pub async fn prefix<S: StateRead>(state: &S, tree: Tree, datanet_id: u64, i: u64) -> Result<u128, ChainError> {
    let mut i = i.min(CAP);
    let mut sum: u128 = 0;
    while i > 0 {
        let v = state.get_u128(&node_key(tree, datanet_id, i)).await?.unwrap_or(0);
        sum = sum.checked_add(v).ok_or_else(|| error::overflow("pool tree sum overflows"))?;
        i -= lowbit(i);
    }
    Ok(sum)
}

/// Add `delta` at version `v` (1 ≤ v ≤ CAP): at most 33 reads and writes.
pub async fn tree_add<S: StateWrite>(state: &mut S, tree: Tree, datanet_id: u64, v: u64, delta: u128) -> Result<(), ChainError> {
    if v == 0 || v > CAP {
        return Err(sdk::internal(format!("version {v} is outside the pool trees")));
    }
    if delta == 0 {
        return Ok(());
    }
    let mut i = v;
    while i <= CAP {
        let key = node_key(tree, datanet_id, i);
        let old = state.get_u128(&key).await?.unwrap_or(0);
        state.put_u128(key, old.checked_add(delta).ok_or_else(|| error::overflow("pool tree node overflows"))?);
        i += lowbit(i);
    }
    Ok(())
}

/// The weight of version `v`'s members that are still valid.
pub async fn live_weight<S: StateRead>(state: &S, datanet_id: u64, v: u64) -> Result<Amount, ChainError> {
    let version = state.datanet_version(datanet_id, v).await?.ok_or_else(|| sdk::internal(format!("version {datanet_id}/{v} missing")))?;
    let w = amount(&version.total_weight, "version weight")?;
    let removed = sub(
        prefix(state, Tree::RemovedFrom, datanet_id, v).await?,
        prefix(state, Tree::RemovedTo, datanet_id, v).await?,
        "removed weight",
    )?;
    sub(w, removed, "live version weight")
}

/// Add `amount_in` (already in the rewards account) to the pool of version `v`, whose
/// live weight `w` is positive.
pub async fn pay_pool<S: StateWrite>(state: &mut S, datanet_id: u64, v: u64, w: Amount, amount_in: Amount) -> Result<(), ChainError> {
    if w == 0 {
        return Err(sdk::internal(format!("pool of datanet {datanet_id} version {v} has no live weight")));
    }
    let mut p = state.version_pool(datanet_id, v).await?.unwrap_or(VersionPool { datanet_id, version: v, ..Default::default() });
    let scaled = amount_in
        .checked_mul(SCALE)
        .and_then(|x| x.checked_add(amount(&p.remainder, "remainder").ok()?))
        .ok_or_else(|| error::overflow("pool payment overflows"))?;
    let delta = scaled / w;
    let distributed = delta.checked_mul(w).ok_or_else(|| error::overflow("pool payment overflows"))?;
    p.total_weight = w.to_string();
    p.acc = add(amount(&p.acc, "acc")?, delta, "pool accumulator")?.to_string();
    p.remainder = (scaled - distributed).to_string();
    p.distributed = add(amount(&p.distributed, "distributed")?, distributed, "pool distributed")?.to_string();
    p.paid_in = add(amount(&p.paid_in, "paid_in")?, amount_in, "pool paid_in")?.to_string();
    state.put_version_pool(&p);
    tree_add(state, Tree::Acc, datanet_id, v, delta).await
}

/// The versions a contribution's pool earnings are summed over: `[f, end]`, or None.
fn membership(c: &Contribution) -> Option<(u64, u64)> {
    if c.first_version == 0 {
        return None;
    }
    let end = if c.invalidated_version != 0 { c.invalidated_version - 1 } else { CAP };
    (end >= c.first_version).then_some((c.first_version, end))
}

/// What a contribution has earned from pools in all, in fixed point (× SCALE).
pub async fn earned<S: StateRead>(state: &S, c: &Contribution) -> Result<Amount, ChainError> {
    let Some((first, end)) = membership(c) else { return Ok(0) };
    let w = amount(&c.weight, "contribution weight")?;
    let per_weight = sub(
        prefix(state, Tree::Acc, c.datanet_id, end).await?,
        prefix(state, Tree::Acc, c.datanet_id, first - 1).await?,
        "pool accumulator range",
    )?;
    w.checked_mul(per_weight).ok_or_else(|| error::overflow("pool earnings overflow"))
}

/// The uopen a contribution can take from pools now, and its new fixed-point claim.
pub async fn claimable<S: StateRead>(state: &S, c: &Contribution, r: &ContributionRewards) -> Result<(Amount, Amount), ChainError> {
    let claimed = amount(&r.pool_claimed, "pool_claimed")?;
    if r.pools_closed {
        return Ok((0, claimed));
    }
    let owed = sub(earned(state, c).await?, claimed, "pool claim")?;
    let pay = owed / SCALE;
    Ok((pay, claimed + pay * SCALE))
}

/// Process the invalidations the datanet module queued: take each contribution out of
/// the live weight of every version it was in, and fix its pool earnings (moved to its
/// direct credit). Bounded by the invalidations of the current block.
pub async fn take_invalidations<S: StateWrite>(state: &mut S, height: u64) -> Result<(), ChainError> {
    let ids = openledger_datanet::state_ext::take_invalidated(state).await?;
    for id in ids {
        let c = state.contribution(id).await?.ok_or_else(|| sdk::internal(format!("invalidated contribution {id} missing")))?;
        if c.status != ContributionStatus::Invalidated as i32 {
            return Err(sdk::internal(format!("queued contribution {id} is not invalidated")));
        }
        close_pools(state, &c, height).await?;
    }
    Ok(())
}

/// Take an invalidated contribution out of its versions' live weights and fix its pool
/// earnings: what it earned until now becomes direct credit; the fixed-point fraction
/// of a uopen stays in the pools as dust.
async fn close_pools<S: StateWrite>(state: &mut S, c: &Contribution, height: u64) -> Result<(), ChainError> {
    let mut r = state.contribution_rewards(c.id).await?;
    if r.pools_closed {
        return Ok(());
    }
    // The earnings are read before the weights change (they do not depend on them).
    let (pay, claimed) = claimable(state, c, &r).await?;
    if let Some((first, end)) = membership(c) {
        let w = amount(&c.weight, "contribution weight")?;
        tree_add(state, Tree::RemovedFrom, c.datanet_id, first, w).await?;
        tree_add(state, Tree::RemovedTo, c.datanet_id, end + 1, w).await?;
    }
    r.pools_closed = true;
    r.pool_claimed = claimed.to_string();
    if pay > 0 {
        r.credit = add(amount(&r.credit, "credit")?, pay, "credit")?.to_string();
        r.pools_paid = add(amount(&r.pools_paid, "pools_paid")?, pay, "pools_paid")?.to_string();
        crate::settle::record_history(
            state,
            &mut r,
            EarningRecord { kind: EarningKind::PoolsClosed as i32, amount: pay.to_string(), height, inference_id: 0 },
        );
        let mut books = state.books().await?;
        books.pools = sub(books.pools, pay, "pools")?;
        books.credits = add(books.credits, pay, "credits")?;
        state.put_books(books);
    }
    state.put_contribution_rewards(&r);
    Ok(())
}

/// The trees a genesis import writes, rebuilt from the pools' accumulators and the
/// datanets' invalidated contributions (whose pools the export found closed).
pub async fn rebuild_trees<S: StateWrite>(state: &mut S, pools: &[VersionPool], invalidated: &[Contribution]) -> Result<(), ChainError> {
    for p in pools {
        tree_add(state, Tree::Acc, p.datanet_id, p.version, amount(&p.acc, "acc")?).await?;
    }
    for c in invalidated {
        if let Some((first, end)) = membership(c) {
            let w = amount(&c.weight, "contribution weight")?;
            tree_add(state, Tree::RemovedFrom, c.datanet_id, first, w).await?;
            tree_add(state, Tree::RemovedTo, c.datanet_id, end + 1, w).await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lowbit_walks_cover_each_version_once() {
        // Prefix walks and update walks meet in exactly one node for v ≤ i: the Fenwick
        // property, checked by brute force on small indices.
        for v in 1..=64u64 {
            for i in 1..=64u64 {
                let mut ups = vec![];
                let mut j = v;
                while j <= 64 {
                    ups.push(j);
                    j += lowbit(j);
                }
                let mut downs = vec![];
                let mut k = i;
                while k > 0 {
                    downs.push(k);
                    k -= lowbit(k);
                }
                let met = ups.iter().filter(|u| downs.contains(u)).count();
                assert_eq!(met, usize::from(v <= i), "v {v}, i {i}");
            }
        }
        assert_eq!(lowbit(CAP), CAP);
    }
}
