//! `MsgResolveChallenge`. Nobody with a stake in a challenge decides it: not the
//! challenged contribution's contributor, not its reviewer (whose acceptance is in
//! question, and whose bond an upheld challenge slashes), not the challenger.
//!
//! - An open challenge is decided by a quorum of the datanet's *eligible* curators —
//!   the owner and listed curators bonded with at least `min_curator_bond`, minus those
//!   three: each votes once, and the side that reaches a strict majority of the eligible,
//!   and at least two votes, decides. A datanet with fewer than two eligible curators
//!   cannot decide; its challenges escalate at their deadline (end of block), like those
//!   no quorum decided.
//! - An escalated challenge is decided by one arbiter (`Params.arbiters`) with no stake
//!   in it; undecided at its deadline, it expires (bond and stake refunded).
//!
//! Upheld: the contribution's weight is zeroed from the next version, its stake pays the
//! challenger (by its terms) and the treasury, and its reviewer's curator bond is
//! slashed. Dismissed: the bond goes to the treasury.
use cnidarium::StateWrite;
use openledger_framework::amount::bps_of;
use openledger_framework::events::typed;
use openledger_framework::{Address, ChainError, MsgCtx, StoreRead, StoreWrite};
use openledger_proto::openledger::datanet::v1::{
    Challenge, ChallengeStatus, Contribution, ContributionStatus, Datanet, EventChallengeVoted, MsgResolveChallenge,
    MsgResolveChallengeResponse, Params,
};
use openledger_token::state_ext::TokenWrite;

use super::fields::{address, positive_id, text, uopen};
use crate::records::{amount_of, get_contribution, get_datanet, refund_if_due, set_status};
use crate::state_ext::{DatanetRead, DatanetWrite};
use crate::{curators, error, fp_index, merkle, state_key, treasury, ESCROW};

/// Without state: the curator and the challenge id.
pub fn check(m: &MsgResolveChallenge) -> Result<Address, ChainError> {
    let curator = address(&m.curator, "curator")?;
    positive_id(m.challenge_id, "challenge_id")?;
    Ok(curator)
}

/// The parties to a challenge, who may not decide it.
fn involved(ch: &Challenge, c: &Contribution, who: &str) -> Option<&'static str> {
    if ch.challenger == who {
        Some("a curator cannot resolve their own challenge")
    } else if c.contributor == who {
        Some("a curator cannot resolve a challenge against their own contribution")
    } else if c.reviewer == who {
        Some("a curator cannot resolve a challenge against a contribution they accepted")
    } else {
        None
    }
}

/// The curators who may vote on `ch` now: the owner and listed curators, bonded, not
/// involved — in list order, the owner first.
pub async fn eligible<S: StoreRead>(
    state: &S,
    d: &Datanet,
    ch: &Challenge,
    c: &Contribution,
    p: &Params,
) -> Result<Vec<String>, ChainError> {
    let mut out: Vec<String> = vec![];
    for who in std::iter::once(&d.owner).chain(d.curators.iter()) {
        if out.contains(who) || involved(ch, c, who).is_some() {
            continue;
        }
        if curators::is_bonded(state, d, who, p).await? {
            out.push(who.clone());
        }
    }
    Ok(out)
}

/// Votes one side needs among `eligible` curators: a strict majority, at least two.
pub fn quorum(eligible: usize) -> usize {
    (eligible / 2 + 1).max(2)
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
    let d = get_datanet(state, ch.datanet_id).await?;
    let c = get_contribution(state, ch.contribution_id).await?;
    let who = curator.to_string();
    text(&m.resolution, "resolution", p.max_reason_length, false)?;
    let open = ch.status == ChallengeStatus::Open as i32;
    if open {
        curators::require_bonded(state, &d, curator, &p).await?;
    } else if ch.status == ChallengeStatus::Escalated as i32 {
        if !p.arbiters.contains(&who) {
            return Err(error::unauthorized(format!("challenge {} is escalated: only an arbiter may decide it", ch.id)));
        }
    } else {
        return Err(error::wrong_status(format!("challenge {} is no longer open", ch.id)));
    }
    if let Some(why) = involved(&ch, &c, &who) {
        return Err(error::unauthorized(why));
    }
    if open {
        if ch.uphold_votes.contains(&who) || ch.dismiss_votes.contains(&who) {
            return Err(error::already_voted(format!("{who} has already voted on challenge {}", ch.id)));
        }
        let eligible = eligible(state, &d, &ch, &c, &p).await?;
        if eligible.len() < 2 {
            return Err(error::not_allowed(format!(
                "datanet {} has {} uninvolved bonded curator(s), a quorum needs two: challenge {} escalates to an arbiter at height {}",
                d.id,
                eligible.len(),
                ch.id,
                ch.deadline_height
            )));
        }
        let need = quorum(eligible.len());
        if m.uphold { &mut ch.uphold_votes } else { &mut ch.dismiss_votes }.push(who.clone());
        state.record(typed(EventChallengeVoted {
            challenge_id: ch.id.to_string(),
            curator: who.clone(),
            uphold: m.uphold.to_string(),
            uphold_votes: ch.uphold_votes.len().to_string(),
            dismiss_votes: ch.dismiss_votes.len().to_string(),
            eligible: eligible.len().to_string(),
            quorum: need.to_string(),
        }));
        let side = if m.uphold { ch.uphold_votes.len() } else { ch.dismiss_votes.len() };
        if side < need {
            state.put_challenge(&ch);
            return Ok(MsgResolveChallengeResponse {
                slashed: "0".into(),
                paid_to_challenger: "0".into(),
                status: ChallengeStatus::Open as i32,
                curator_slashed: "0".into(),
            });
        }
    }
    decide(state, ch, d, c, m, &who, &p, ctx).await
}

/// Apply the decision of a quorum's last vote or of an arbiter.
#[allow(clippy::too_many_arguments)]
async fn decide<S: StateWrite>(
    state: &mut S,
    mut ch: Challenge,
    mut d: Datanet,
    mut c: Contribution,
    m: &MsgResolveChallenge,
    resolver: &str,
    p: &Params,
    ctx: MsgCtx,
) -> Result<MsgResolveChallengeResponse, ChainError> {
    let challenger = address(&ch.challenger, "challenger")?;
    let bond = uopen(ch.bond.as_ref(), "bond")?;
    let mut resp = MsgResolveChallengeResponse {
        slashed: "0".into(),
        paid_to_challenger: "0".into(),
        status: ChallengeStatus::Dismissed as i32,
        curator_slashed: "0".into(),
    };
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
        state.put_datanet(&d);
        // The reviewer accepted what is now proven bad.
        let slashed_curator = match Address::parse(&c.reviewer) {
            Ok(reviewer) => curators::slash(state, d.id, &reviewer, p, Some(ctx.msg_index)).await?,
            Err(_) => 0,
        };
        resp = MsgResolveChallengeResponse {
            slashed: stake.to_string(),
            paid_to_challenger: paid.to_string(),
            status: ChallengeStatus::Upheld as i32,
            curator_slashed: slashed_curator.to_string(),
        };
    } else {
        state.send_from_module(&ESCROW, &treasury(d.id), bond, Some(ctx.msg_index)).await?;
        ch.status = ChallengeStatus::Dismissed as i32;
        refund_if_due(state, &mut c, ctx.height, Some(ctx.msg_index)).await?;
    }
    state.delete(state_key::expiry(ch.deadline_height, ch.id));
    ch.resolved_height = ctx.height;
    ch.resolver = resolver.to_string();
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

    #[test]
    fn a_quorum_is_a_strict_majority_of_at_least_two() {
        assert_eq!([2, 3, 4, 5, 6, 7].map(quorum), [2, 2, 3, 3, 4, 4]);
    }
}
