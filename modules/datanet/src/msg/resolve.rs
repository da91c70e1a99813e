//! `MsgResolveChallenge`: a curator who is neither the challenger, nor the challenged
//! contribution's contributor, nor its reviewer upholds a challenge (the
//! contribution's weight is zeroed, its stake pays the challenger and the treasury) or
//! dismisses it (the bond goes to the treasury).
use cnidarium::StateWrite;
use openledger_framework::amount::bps_of;
use openledger_framework::events::typed;
use openledger_framework::{Address, ChainError, MsgCtx, StoreRead, StoreWrite};
use openledger_proto::openledger::datanet::v1::{ChallengeStatus, ContributionStatus, MsgResolveChallenge, MsgResolveChallengeResponse};
use openledger_token::state_ext::TokenWrite;

use super::fields::{address, positive_id, text, uopen};
use crate::records::{amount_of, get_contribution, get_datanet, is_curator, refund_if_due, set_status};
use crate::state_ext::{DatanetRead, DatanetWrite};
use crate::{error, fp_index, merkle, state_key, treasury, ESCROW};

/// Without state: the curator and the challenge id.
pub fn check(m: &MsgResolveChallenge) -> Result<Address, ChainError> {
    let curator = address(&m.curator, "curator")?;
    positive_id(m.challenge_id, "challenge_id")?;
    Ok(curator)
}

pub async fn execute<S: StateWrite>(
    state: &mut S,
    m: &MsgResolveChallenge,
    curator: &Address,
    ctx: MsgCtx,
) -> Result<MsgResolveChallengeResponse, ChainError> {
    let p = state.datanet_params().await?;
    let mut ch =
        state.challenge(m.challenge_id).await?.ok_or_else(|| error::not_found(format!("challenge {} not found", m.challenge_id)))?;
    let mut d = get_datanet(state, ch.datanet_id).await?;
    if !is_curator(&d, curator) {
        return Err(error::unauthorized(format!("{curator} is not a curator of datanet {}", d.id)));
    }
    if ch.challenger == curator.to_string() {
        return Err(error::unauthorized("a curator cannot resolve their own challenge"));
    }
    if ch.status != ChallengeStatus::Open as i32 {
        return Err(error::wrong_status(format!("challenge {} is no longer open", ch.id)));
    }
    text(&m.resolution, "resolution", p.max_reason_length, false)?;
    let mut c = get_contribution(state, ch.contribution_id).await?;
    // Nobody with a stake in the outcome decides it: not the contributor, and not the
    // curator whose acceptance is being questioned.
    if c.contributor == curator.to_string() {
        return Err(error::unauthorized("a curator cannot resolve a challenge against their own contribution"));
    }
    if c.reviewer == curator.to_string() {
        return Err(error::unauthorized("a curator cannot resolve a challenge against a contribution they accepted"));
    }
    let challenger = address(&ch.challenger, "challenger")?;
    let bond = uopen(ch.bond.as_ref(), "bond")?;
    let mut resp = MsgResolveChallengeResponse { slashed: "0".into(), paid_to_challenger: "0".into() };
    if m.uphold {
        let stake = if c.stake_release_height != 0 { uopen(c.stake.as_ref(), "stake")? } else { 0 };
        let reward = bps_of(stake, c.terms.map_or(0, |t| t.challenge_reward_bps));
        let paid = bond.saturating_add(reward);
        state.send_from_module(&ESCROW, &challenger, paid, Some(ctx.msg_index)).await?;
        if stake > reward {
            state.send_from_module(&ESCROW, &treasury(d.id), stake - reward, Some(ctx.msg_index)).await?;
        }
        let weight = amount_of(&c.weight)?;
        d.accepted_count = d.accepted_count.saturating_sub(1);
        d.accepted_weight = amount_of(&d.accepted_weight)?.saturating_sub(weight).to_string();
        merkle::set_leaf(state, d.id, c.position, d.tree_size, merkle::leaf_hash(c.id, &c.content_hash, 0), d.latest_version + 1).await?;
        c.invalidated_version = d.latest_version + 1;
        fp_index::remove(state, &c).await?;
        state.put_raw(state_key::invalidated(c.id), vec![]);
        let queued = state.get_u64(state_key::INVALIDATED_COUNT).await?.unwrap_or(0);
        state.put_u64(state_key::INVALIDATED_COUNT.to_string(), queued + 1);
        c.stake_release_height = 0;
        set_status(state, &mut c, ContributionStatus::Invalidated).await?;
        ch.status = ChallengeStatus::Upheld as i32;
        resp = MsgResolveChallengeResponse { slashed: stake.to_string(), paid_to_challenger: paid.to_string() };
        state.put_datanet(&d);
    } else {
        state.send_from_module(&ESCROW, &treasury(d.id), bond, Some(ctx.msg_index)).await?;
        ch.status = ChallengeStatus::Dismissed as i32;
        refund_if_due(state, &mut c, ctx.height, Some(ctx.msg_index)).await?;
    }
    state.delete(state_key::expiry(ch.deadline_height, ch.id));
    ch.resolved_height = ctx.height;
    ch.resolver = curator.to_string();
    ch.resolution = m.resolution.clone();
    c.open_challenge_id = 0;
    state.put_contribution(&c);
    state.put_challenge(&ch);
    state.record(typed(openledger_proto::openledger::datanet::v1::EventChallengeResolved {
        challenge_id: ch.id.to_string(),
        contribution_id: c.id.to_string(),
        datanet_id: d.id.to_string(),
        upheld: m.uphold.to_string(),
        slashed: resp.slashed.clone(),
        paid_to_challenger: resp.paid_to_challenger.clone(),
    }));
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_needs_a_curator_and_a_challenge() {
        let ok = MsgResolveChallenge { curator: Address([1; 20]).to_string(), challenge_id: 1, uphold: true, resolution: String::new() };
        assert!(check(&ok).is_ok());
        assert_eq!(check(&MsgResolveChallenge { challenge_id: 0, ..ok.clone() }).unwrap_err().code, 2);
        assert_eq!(check(&MsgResolveChallenge { curator: "x".into(), ..ok }).unwrap_err().code, 13);
    }
}
