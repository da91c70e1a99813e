//! Settlement, version pools and claims: where fees become payouts. Every function
//! here moves tokens and the books together, so `paid_in = paid_out + escrowed +
//! credits + pools` holds after each call.
use cnidarium::StateWrite;
use openledger_datanet::state_ext::DatanetRead;
use openledger_framework::amount::bps_of;
use openledger_framework::events::typed;
use openledger_framework::index::IndexWrite;
use openledger_framework::{sdk, Address, Amount, ChainError};
use openledger_proto::openledger::attribution::v1::*;
use openledger_proto::openledger::datanet::v1::Contribution;
use openledger_token::fee_collector;
use openledger_token::state_ext::TokenWrite;
use prost::Message;

use crate::state_ext::{add, amount, sub, AttributionRead, AttributionWrite, Books};
use crate::{pools, rewards, state_key, ESCROW, REWARDS};

pub const BPS: u32 = 10_000;

/// Payout roles (the `role` attribute of `EventPayout`).
pub mod role {
    pub const MODEL_OWNER: &str = "model_owner";
    pub const OPERATOR: &str = "operator";
    pub const DATANET_OWNER: &str = "datanet_owner";
    pub const CURATORS: &str = "datanet_curators";
    pub const PROTOCOL: &str = "protocol";
    pub const CONTRIBUTOR_CREDIT: &str = "contributor_credit";
    pub const VERSION_POOL: &str = "version_pool";
    pub const DATANET_TREASURY: &str = "datanet_treasury";
    pub const CLAIM: &str = "claim";
}

pub fn payout_event(
    inference_id: u64,
    role: &str,
    recipient: String,
    amount: Amount,
    contribution_id: Option<u64>,
) -> tendermint::abci::Event {
    typed(openledger_proto::openledger::attribution::v1::EventPayout {
        inference_id: if inference_id == 0 { String::new() } else { inference_id.to_string() },
        role: role.to_string(),
        recipient,
        amount: amount.to_string(),
        contribution_id: contribution_id.map(|c| c.to_string()).unwrap_or_default(),
    })
}

/// Credit a contribution directly (the tokens must already be in the rewards account).
pub async fn credit<S: StateWrite>(
    state: &mut S,
    contribution_id: u64,
    amount_in: Amount,
    kind: EarningKind,
    inference_id: u64,
    height: u64,
) -> Result<(), ChainError> {
    if amount_in == 0 {
        return Ok(());
    }
    let mut r = state.contribution_rewards(contribution_id).await?;
    r.credit = add(amount(&r.credit, "credit")?, amount_in, "credit")?.to_string();
    r.credited_total = add(amount(&r.credited_total, "credited_total")?, amount_in, "credited_total")?.to_string();
    record_history(state, &mut r, EarningRecord { kind: kind as i32, amount: amount_in.to_string(), height, inference_id });
    state.put_contribution_rewards(&r);
    Ok(())
}

/// Append to the contribution's earnings history; its length lives in the rewards
/// record `r` (which the caller writes back), so appending reads nothing.
pub(crate) fn record_history<S: StateWrite>(state: &mut S, r: &mut ContributionRewards, rec: EarningRecord) {
    state.index_append(&state_key::ix_history(r.contribution_id), r.history_count, rec.encode_to_vec());
    r.history_count += 1;
}

async fn add_datanet_revenue<S: StateWrite>(state: &mut S, datanet_id: u64, amount_in: Amount) -> Result<(), ChainError> {
    if amount_in == 0 {
        return Ok(());
    }
    let mut s = state.datanet_stats(datanet_id).await?;
    s.revenue = add(amount(&s.revenue, "revenue")?, amount_in, "datanet revenue")?.to_string();
    state.put_datanet_stats(&s);
    Ok(())
}

/// Split `total` by bps weights: `⌊total × w / 10⁴⌋` each, the rounding remainder to
/// the first share (weights summing to 10⁴ leave nothing over).
pub fn split_by_bps(total: Amount, weights: &[u32]) -> Vec<Amount> {
    let mut shares: Vec<Amount> = weights.iter().map(|w| bps_of(total, *w)).collect();
    let given: Amount = shares.iter().sum();
    if let Some(first) = shares.first_mut() {
        *first += total - given.min(total);
    }
    shares
}

/// `⌊a × b / c⌋` for `b ≤ c` (a share of `a`), without overflowing: with `a = q·c + r`
/// it is `q·b + ⌊r·b / c⌋`, and `r·b < c·b`.
pub fn share_of(a: Amount, b: u128, c: u128) -> Amount {
    if c == 0 {
        return 0;
    }
    let b = b.min(c);
    (a / c) * b + (a % c).saturating_mul(b) / c
}

/// What a receipt adds to a settlement: the scored contributions and their total score,
/// and the operator it names. A default settlement has none of them.
#[derive(Clone, Copy, Default)]
pub struct Credits<'a> {
    pub entries: &'a [(Contribution, u64)],
    pub total_score: u128,
    pub operator: Option<&'a Address>,
}

/// Settle a pending inference: pay the owner, datanet owners and protocol shares, and
/// the operator share to the operator the receipt names (with none, it joins the
/// contributors' part); credit each scored contribution `⌊contributors' part × score /
/// total_score⌋`, and pool the rest by training weight. The fee leaves escrow entirely.
/// Returns the settlement and each credit, in `credits.entries` order.
pub async fn settle<S: StateWrite>(
    state: &mut S,
    inf: &Inference,
    credits: Credits<'_>,
    height: u64,
    msg_index: Option<u32>,
) -> Result<(Settlement, Vec<Amount>), ChainError> {
    let Credits { entries: credits, total_score, operator } = credits;
    // Contributions invalidated earlier in this block leave the pools before anything
    // is paid into them.
    pools::take_invalidations(state, height).await?;
    let terms = inf.terms.clone().unwrap_or_default();
    let fee = amount(inf.fee.as_ref().map_or("", |c| c.amount.as_str()), "fee")?;
    let split = terms.fee_split.unwrap_or_default();
    let owner_part = bps_of(fee, split.owner_bps);
    let datanet_owners_part = bps_of(fee, split.datanet_owners_bps);
    let protocol_part = bps_of(fee, split.protocol_bps);
    let operator_part = if operator.is_some() { bps_of(fee, split.operator_bps) } else { 0 };
    let contributors_part = fee - owner_part - datanet_owners_part - protocol_part - operator_part;
    let id = inf.id;
    let mut books = state.books().await?;
    books.escrowed = sub(books.escrowed, fee, "escrowed")?;
    let mut out = Settlement::default();
    let mut paid_out: Amount = 0;

    // Model owner and protocol.
    let model_owner = Address::parse(&terms.model_owner).map_err(|e| sdk::internal(format!("inference {id}: model owner: {e}")))?;
    if owner_part > 0 {
        state.send_from_module(&ESCROW, &model_owner, owner_part, msg_index).await?;
        state.record(payout_event(id, role::MODEL_OWNER, model_owner.to_string(), owner_part, None));
    }
    if protocol_part > 0 {
        state.send_from_module(&ESCROW, &fee_collector(), protocol_part, msg_index).await?;
        state.record(payout_event(id, role::PROTOCOL, fee_collector().to_string(), protocol_part, None));
    }
    if let (Some(op), true) = (operator, operator_part > 0) {
        state.send_from_module(&ESCROW, op, operator_part, msg_index).await?;
        state.record(payout_event(id, role::OPERATOR, op.to_string(), operator_part, None));
    }
    paid_out += owner_part + protocol_part + operator_part;

    // Datanet owners, by training weight.
    let training_weights: Vec<u32> = terms.training_set.iter().map(|t| t.weight_bps).collect();
    for (t, share) in terms.training_set.iter().zip(split_by_bps(datanet_owners_part, &training_weights)) {
        if share == 0 {
            continue;
        }
        let d = state.datanet(t.datanet_id).await?.ok_or_else(|| sdk::internal(format!("training datanet {} missing", t.datanet_id)))?;
        let owner = Address::parse(&d.owner).map_err(|e| sdk::internal(format!("datanet {} owner: {e}", d.id)))?;
        // The datanet's bonded curators take the share of the owner's part it sets.
        let curators = openledger_datanet::curators::credit_curators(state, &d, share).await?;
        if curators > 0 {
            state.send_from_module(&ESCROW, &openledger_datanet::escrow(), curators, msg_index).await?;
            state.record(payout_event(id, role::CURATORS, format!("datanet/{}/curators", d.id), curators, None));
        }
        if share > curators {
            state.send_from_module(&ESCROW, &owner, share - curators, msg_index).await?;
            state.record(payout_event(id, role::DATANET_OWNER, owner.to_string(), share - curators, None));
        }
        add_datanet_revenue(state, t.datanet_id, share).await?;
    }
    paid_out += datanet_owners_part;

    // Contributors: reported credits, then the pools.
    let mut credited: Amount = 0;
    let mut to_rewards: Amount = 0;
    let mut amounts = Vec::with_capacity(credits.len());
    for (c, s) in credits {
        let a = share_of(contributors_part, u128::from(*s), total_score);
        amounts.push(a);
        if a == 0 {
            continue;
        }
        credit(state, c.id, a, EarningKind::ReportCredit, id, height).await?;
        state.record(payout_event(id, role::CONTRIBUTOR_CREDIT, c.contributor.clone(), a, Some(c.id)));
        add_datanet_revenue(state, c.datanet_id, a).await?;
        credited += a;
    }
    to_rewards += credited;
    books.credits = add(books.credits, credited, "credits")?;
    let uncovered = contributors_part - credited;
    let mut pooled: Amount = 0;
    let mut treasuries: Amount = 0;
    for (t, share) in terms.training_set.iter().zip(split_by_bps(uncovered, &training_weights)) {
        if share == 0 {
            continue;
        }
        let w = pools::live_weight(state, t.datanet_id, t.version).await?;
        let pool_name = format!("datanet/{}/version/{}", t.datanet_id, t.version);
        if w == 0 {
            // Nobody in the version can claim: the datanet's treasury gets it.
            state.send_from_module(&ESCROW, &openledger_datanet::treasury(t.datanet_id), share, msg_index).await?;
            state.record(payout_event(id, role::DATANET_TREASURY, openledger_datanet::treasury(t.datanet_id).to_string(), share, None));
            treasuries += share;
        } else {
            pools::pay_pool(state, t.datanet_id, t.version, w, share).await?;
            state.record(payout_event(id, role::VERSION_POOL, pool_name, share, None));
            pooled += share;
        }
        add_datanet_revenue(state, t.datanet_id, share).await?;
    }
    to_rewards += pooled;
    paid_out += treasuries;
    books.pools = add(books.pools, pooled, "pools")?;
    books.paid_out = add(books.paid_out, paid_out, "paid_out")?;
    if to_rewards > 0 {
        state.send_from_module(&ESCROW, &rewards(), to_rewards, msg_index).await?;
    }
    state.put_books(books);
    out.model_owner = owner_part.to_string();
    out.datanet_owners = datanet_owners_part.to_string();
    out.protocol = protocol_part.to_string();
    out.contributor_credits = credited.to_string();
    out.version_pools = pooled.to_string();
    out.datanet_treasuries = treasuries.to_string();
    out.operator = operator_part.to_string();
    Ok((out, amounts))
}

/// What a contribution can claim now: its direct credit, what it can take from the
/// pools, and its fixed-point pool claim after taking it. An invalidated contribution
/// whose pools are not yet closed (earlier in this block) is valued as when they close.
pub struct Claimable {
    pub credit: Amount,
    pub pools: Amount,
    pub pool_claimed: Amount,
}

pub async fn claimable<S: cnidarium::StateRead>(state: &S, c: &Contribution) -> Result<Claimable, ChainError> {
    let r = state.contribution_rewards(c.id).await?;
    let credit = amount(&r.credit, "credit")?;
    let (pools, pool_claimed) = pools::claimable(state, c, &r).await?;
    Ok(Claimable { credit, pools, pool_claimed })
}

/// Pay a contribution's claimable rewards to its contributor; returns the amount.
pub async fn claim_contribution<S: StateWrite>(
    state: &mut S,
    c: &Contribution,
    contributor: &Address,
    height: u64,
    msg_index: Option<u32>,
) -> Result<Amount, ChainError> {
    let cl = claimable(state, c).await?;
    let total = add(cl.credit, cl.pools, "claim")?;
    if total == 0 {
        return Ok(0);
    }
    let mut r = state.contribution_rewards(c.id).await?;
    r.credit = "0".into();
    r.pool_claimed = cl.pool_claimed.to_string();
    r.pools_paid = add(amount(&r.pools_paid, "pools_paid")?, cl.pools, "pools_paid")?.to_string();
    r.claimed_total = add(amount(&r.claimed_total, "claimed_total")?, total, "claimed_total")?.to_string();
    record_history(state, &mut r, EarningRecord { kind: EarningKind::Claim as i32, amount: total.to_string(), height, inference_id: 0 });
    state.put_contribution_rewards(&r);
    let mut books: Books = state.books().await?;
    books.credits = sub(books.credits, cl.credit, "credits")?;
    books.pools = sub(books.pools, cl.pools, "pools")?;
    books.paid_out = add(books.paid_out, total, "paid_out")?;
    state.put_books(books);
    state.send_from_module(&REWARDS, contributor, total, msg_index).await?;
    state.record(payout_event(0, role::CLAIM, contributor.to_string(), total, Some(c.id)));
    let mut s = state.datanet_stats(c.datanet_id).await?;
    s.claimed = add(amount(&s.claimed, "claimed")?, total, "datanet claimed")?.to_string();
    let marker = state_key::paid(c.datanet_id, contributor);
    if state.get_raw(&marker).await?.is_none() {
        state.put_raw(marker, vec![1]);
        s.contributors_paid += 1;
    }
    state.put_datanet_stats(&s);
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bps_splits_are_exact() {
        assert_eq!(split_by_bps(1_000_000, &[7000, 3000]), vec![700_000, 300_000]);
        assert_eq!(split_by_bps(1, &[5000, 5000]), vec![1, 0]);
        assert_eq!(split_by_bps(10, &[3333, 3333, 3334]), vec![4, 3, 3]);
        assert_eq!(split_by_bps(u128::MAX, &[10_000]), vec![u128::MAX]);
        assert_eq!(split_by_bps(7, &[]), Vec::<u128>::new());
    }

    #[test]
    fn shares_are_exact_floors_without_overflow() {
        assert_eq!(share_of(1000, 1, 3), 333);
        assert_eq!(share_of(1000, 3, 3), 1000);
        assert_eq!(share_of(7, 5, 0), 0);
        assert_eq!(share_of(u128::MAX, 1_000_000_000, 1_000_000_000), u128::MAX);
        assert_eq!(share_of(u128::MAX, 1, 2), u128::MAX / 2);
        // Shares of one total never add up to more than it.
        let scores = [7u128, 11, 13, 1];
        let total: u128 = scores.iter().sum::<u128>() + 5;
        let given: u128 = scores.iter().map(|s| share_of(999_999, *s, total)).sum();
        assert!(given <= 999_999);
    }
}
