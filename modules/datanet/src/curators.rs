//! Curator bonds: curators are accountable. A datanet's owner and listed curators act
//! (review, publish, vote on challenges) only while bonded with at least
//! `Params.min_curator_bond`; the reviewer of a contribution whose challenge is upheld
//! loses `curator_slash_bps` of its bond (bonded and unbonding) to the datanet's
//! treasury; an unbonded bond stays slashable for `curator_unbonding_blocks`, longer
//! than any contribution it accepted can still be challenged and decided.
//!
//! Curators earn `curators_bps` of the datanet owner's income, by bond, in O(1) per
//! payment and per claim: the datanet's `CuratorPool` keeps `reward_acc`, the income per
//! bonded uopen (× SCALE); a bond's earnings are `bonded × (acc − reward_acc) / SCALE`,
//! settled into `earned` whenever its bonded amount changes. Σ earnings ≤ what was paid
//! in: the fixed-point dust stays in the pool's `income`, which the module's escrow holds.
//! A bond's `bonded` is 0 or at least `min_curator_bond` (a slash aside), so the
//! accumulator's step is bounded.
use cnidarium::{StateRead, StateWrite};
use futures::StreamExt;
use openledger_framework::amount::bps_of;
use openledger_framework::events::typed;
use openledger_framework::{sdk, Address, Amount, ChainError, StoreRead, StoreWrite};
use openledger_proto::openledger::datanet::v1::{CuratorBond, CuratorPool, Datanet, EventCuratorBond, Params};
use openledger_token::state_ext::TokenWrite;

use crate::records::{amount_of, is_curator};
use crate::{error, state_key, ESCROW};

/// Fixed-point scale of `CuratorPool.reward_acc`.
pub const SCALE: u128 = 1_000_000_000_000_000_000;

fn overflow(what: &str) -> ChainError {
    sdk::internal(format!("curator {what} overflows"))
}

/// A curator's bond in a datanet (zero if it never bonded).
pub async fn bond<S: StoreRead>(state: &S, datanet_id: u64, curator: &Address) -> Result<CuratorBond, ChainError> {
    Ok(state.get_proto(&state_key::curator_bond(datanet_id, curator)).await?.unwrap_or_else(|| CuratorBond {
        datanet_id,
        curator: curator.to_string(),
        bonded: "0".into(),
        unbonding: "0".into(),
        reward_acc: "0".into(),
        earned: "0".into(),
        slashed: "0".into(),
        release_height: 0,
    }))
}

pub fn put_bond<S: StateWrite>(state: &mut S, b: &CuratorBond) -> Result<(), ChainError> {
    let curator = Address::parse(&b.curator).map_err(|e| sdk::internal(format!("curator bond: {e}")))?;
    state.put_proto(state_key::curator_bond(b.datanet_id, &curator), b);
    Ok(())
}

/// A datanet's curator pool (zero if nobody ever bonded).
pub async fn pool<S: StoreRead>(state: &S, datanet_id: u64) -> Result<CuratorPool, ChainError> {
    Ok(state.get_proto(&state_key::curator_pool(datanet_id)).await?.unwrap_or_else(|| CuratorPool {
        datanet_id,
        bonded: "0".into(),
        reward_acc: "0".into(),
        income: "0".into(),
    }))
}

pub fn put_pool<S: StateWrite>(state: &mut S, pool: &CuratorPool) {
    state.put_proto(state_key::curator_pool(pool.datanet_id), pool);
}

/// Bring a bond's earnings up to its pool's accumulator.
pub fn settle_earnings(pool: &CuratorPool, b: &mut CuratorBond) -> Result<(), ChainError> {
    let acc = amount_of(&pool.reward_acc)?;
    let since = acc.checked_sub(amount_of(&b.reward_acc)?).ok_or_else(|| sdk::internal("curator accumulator went back"))?;
    let owed = amount_of(&b.bonded)?.checked_mul(since).ok_or_else(|| overflow("earnings"))? / SCALE;
    b.earned = amount_of(&b.earned)?.checked_add(owed).ok_or_else(|| overflow("earnings"))?.to_string();
    b.reward_acc = acc.to_string();
    Ok(())
}

/// The datanet owner's income `share`: the curators' part (`curators_bps`, when any
/// curator is bonded) goes into the pool's accumulator and is returned; the caller pays
/// it to the escrow and the rest to the owner. No read or write unless the owner shares.
pub async fn credit_curators<S: StateWrite>(state: &mut S, d: &Datanet, share: Amount) -> Result<Amount, ChainError> {
    let part = bps_of(share, d.curators_bps);
    if part == 0 {
        return Ok(0);
    }
    let mut pool = pool(state, d.id).await?;
    let bonded = amount_of(&pool.bonded)?;
    if bonded == 0 {
        return Ok(0);
    }
    let step = part.checked_mul(SCALE).ok_or_else(|| overflow("income"))? / bonded;
    pool.reward_acc = amount_of(&pool.reward_acc)?.checked_add(step).ok_or_else(|| overflow("accumulator"))?.to_string();
    pool.income = amount_of(&pool.income)?.checked_add(part).ok_or_else(|| overflow("income"))?.to_string();
    put_pool(state, &pool);
    Ok(part)
}

/// May `who` act as a curator of `d` now: listed (or the owner) and bonded with at least
/// the minimum.
pub async fn require_bonded<S: StoreRead>(state: &S, d: &Datanet, who: &Address, p: &Params) -> Result<CuratorBond, ChainError> {
    if !is_curator(d, who) {
        return Err(error::unauthorized(format!("{who} is not a curator of datanet {}", d.id)));
    }
    let b = bond(state, d.id, who).await?;
    let min = amount_of(&p.min_curator_bond)?;
    if amount_of(&b.bonded)? < min {
        return Err(error::not_bonded(format!(
            "{who} has {} uopen bonded to datanet {}; curators act with at least {min} bonded (tx datanet bond-curator)",
            b.bonded, d.id
        )));
    }
    Ok(b)
}

/// Is `who` bonded with at least the minimum (listing not checked).
pub async fn is_bonded<S: StoreRead>(state: &S, d: &Datanet, who: &str, p: &Params) -> Result<bool, ChainError> {
    let Ok(a) = Address::parse(who) else { return Ok(false) };
    Ok(amount_of(&bond(state, d.id, &a).await?.bonded)? >= amount_of(&p.min_curator_bond)?)
}

fn event(b: &CuratorBond, action: &str, amount: Amount) -> EventCuratorBond {
    EventCuratorBond {
        datanet_id: b.datanet_id.to_string(),
        curator: b.curator.clone(),
        action: action.into(),
        amount: amount.to_string(),
        bonded: b.bonded.clone(),
        unbonding: b.unbonding.clone(),
    }
}

/// Move `amount` of a bond from bonded to unbonding, paid back at `height +
/// curator_unbonding_blocks` (everything unbonding moves to that height). Writes the
/// pool and the bond. What is left bonded must be 0 or at least the minimum.
pub async fn unbond<S: StateWrite>(state: &mut S, b: &mut CuratorBond, amount: Amount, height: u64, p: &Params) -> Result<(), ChainError> {
    let bonded = amount_of(&b.bonded)?;
    let left = bonded
        .checked_sub(amount)
        .ok_or_else(|| error::insufficient_stake(format!("{} has {bonded} uopen bonded, not {amount}", b.curator)))?;
    let min = amount_of(&p.min_curator_bond)?;
    if left != 0 && left < min {
        return Err(error::insufficient_stake(format!(
            "unbonding {amount} would leave {left} bonded, below the minimum of {min}; unbond all or less"
        )));
    }
    let mut pool = pool(state, b.datanet_id).await?;
    settle_earnings(&pool, b)?;
    let curator = Address::parse(&b.curator).map_err(|e| sdk::internal(format!("curator bond: {e}")))?;
    if b.release_height != 0 {
        state.delete(state_key::curator_release(b.release_height, b.datanet_id, &curator));
    }
    b.bonded = left.to_string();
    b.unbonding = amount_of(&b.unbonding)?.checked_add(amount).ok_or_else(|| overflow("unbonding"))?.to_string();
    b.release_height = height.saturating_add(p.curator_unbonding_blocks);
    state.put_raw(state_key::curator_release(b.release_height, b.datanet_id, &curator), vec![]);
    pool.bonded = amount_of(&pool.bonded)?.checked_sub(amount).ok_or_else(|| sdk::internal("pool bonded below a bond"))?.to_string();
    put_pool(state, &pool);
    put_bond(state, b)?;
    state.record(typed(event(b, "unbond", amount)));
    Ok(())
}

/// Slash a bond `curator_slash_bps` of everything it holds (bonded first, then
/// unbonding) to the datanet's treasury. Writes the pool and the bond.
pub async fn slash<S: StateWrite>(
    state: &mut S,
    datanet_id: u64,
    curator: &Address,
    p: &Params,
    msg_index: Option<u32>,
) -> Result<Amount, ChainError> {
    let mut b = bond(state, datanet_id, curator).await?;
    let (bonded, unbonding) = (amount_of(&b.bonded)?, amount_of(&b.unbonding)?);
    let amount = bps_of(bonded.checked_add(unbonding).ok_or_else(|| overflow("bond"))?, p.curator_slash_bps);
    if amount == 0 {
        return Ok(0);
    }
    let mut pool = pool(state, datanet_id).await?;
    settle_earnings(&pool, &mut b)?;
    let from_bonded = amount.min(bonded);
    b.bonded = (bonded - from_bonded).to_string();
    b.unbonding = (unbonding - (amount - from_bonded)).to_string();
    b.slashed = amount_of(&b.slashed)?.checked_add(amount).ok_or_else(|| overflow("slash"))?.to_string();
    pool.bonded = amount_of(&pool.bonded)?.checked_sub(from_bonded).ok_or_else(|| sdk::internal("pool bonded below a bond"))?.to_string();
    state.send_from_module(&ESCROW, &crate::treasury(datanet_id), amount, msg_index).await?;
    put_pool(state, &pool);
    put_bond(state, &b)?;
    state.record(typed(event(&b, "slash", amount)));
    Ok(amount)
}

/// Add `amount` to a bond. Writes the pool and the bond.
pub async fn add_bond<S: StateWrite>(state: &mut S, b: &mut CuratorBond, amount: Amount) -> Result<(), ChainError> {
    let mut pool = pool(state, b.datanet_id).await?;
    settle_earnings(&pool, b)?;
    b.bonded = amount_of(&b.bonded)?.checked_add(amount).ok_or_else(|| overflow("bond"))?.to_string();
    pool.bonded = amount_of(&pool.bonded)?.checked_add(amount).ok_or_else(|| overflow("bond"))?.to_string();
    put_pool(state, &pool);
    put_bond(state, b)?;
    state.record(typed(event(b, "bond", amount)));
    Ok(())
}

/// End of block `height`: pay back the unbonding bonds released now.
pub async fn release_due<S: StateWrite>(state: &mut S, height: u64) -> Result<(), ChainError> {
    let prefix = state_key::curator_release_prefix(height);
    let keys: Vec<String> = {
        let stream = state.prefix_keys(&prefix);
        let mut stream = std::pin::pin!(stream);
        let mut keys = vec![];
        while let Some(k) = stream.next().await {
            keys.push(k?);
        }
        keys
    };
    for key in keys {
        state.delete(key.clone());
        let bad = || sdk::internal(format!("corrupt curator release key {key}"));
        let (dn, curator) = key.strip_prefix(&prefix).and_then(|r| r.split_once('/')).ok_or_else(bad)?;
        let datanet_id = u64::from_str_radix(dn, 16).map_err(|_| bad())?;
        let curator = Address::parse(curator).map_err(|_| bad())?;
        let mut b = bond(state, datanet_id, &curator).await?;
        let amount = amount_of(&b.unbonding)?;
        b.unbonding = "0".into();
        b.release_height = 0;
        if amount > 0 {
            state.send_from_module(&ESCROW, &curator, amount, None).await?;
        }
        put_bond(state, &b)?;
        state.record(typed(event(&b, "release", amount)));
    }
    Ok(())
}

/// Every bond of a datanet, in curator order.
pub async fn bonds_of<S: StateRead>(state: &S, datanet_id: u64) -> Result<Vec<CuratorBond>, ChainError> {
    state.all_protos(&state_key::curator_bond_prefix(datanet_id)).await
}

/// Every bond of every datanet (genesis export).
pub async fn all_bonds<S: StateRead>(state: &S) -> Result<Vec<CuratorBond>, ChainError> {
    state.all_protos(state_key::CURATOR_BONDS).await
}

/// Every curator pool (genesis export, invariants).
pub async fn all_pools<S: StateRead>(state: &S) -> Result<Vec<CuratorPool>, ChainError> {
    state.all_protos(state_key::CURATOR_POOLS).await
}
