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
//! - A quorum's decision is held for `appeal_blocks` (status `DECIDED`) and then takes
//!   effect, unless the party it goes against appeals it first (`appeal`): curators are
//!   the owner's choice, so their vote must be answerable to someone who is not.
//! - An escalated challenge is decided by one arbiter (`Params.arbiters`) with no stake
//!   in it. Undecided at its deadline, it expires (bond and stake refunded) — or, on
//!   appeal, the quorum's decision stands. An arbiter who overturns a quorum slashes
//!   every curator who voted for the overturned side, as a bad acceptance slashes its
//!   reviewer.
//!
//! Upheld: the contribution's weight is zeroed from the next version, its stake pays the
//! challenger (by its terms) and the treasury, and its reviewer's curator bond is
//! slashed. Dismissed: the bond goes to the treasury.
use cnidarium::StateWrite;
use openledger_framework::amount::bps_of;
use openledger_framework::events::typed;
use openledger_framework::{Address, ChainError, MsgCtx, StoreRead, StoreWrite};
use openledger_proto::openledger::datanet::v1::{
    Challenge, ChallengeStatus, Contribution, ContributionStatus, Datanet, EventChallengeDecided, EventChallengeVoted, MsgResolveChallenge,
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

/// A response that moved no funds.
fn nothing_moved(status: ChallengeStatus) -> MsgResolveChallengeResponse {
    MsgResolveChallengeResponse {
        slashed: "0".into(),
        paid_to_challenger: "0".into(),
        status: status as i32,
        curator_slashed: "0".into(),
        overturned_slashed: "0".into(),
    }
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
        if ch.uphold_votes.contains(&who) || ch.dismiss_votes.contains(&who) {
            return Err(error::unauthorized("an arbiter cannot decide a challenge they voted on as a curator"));
        }
    } else if ch.status == ChallengeStatus::Decided as i32 {
        return Err(error::wrong_status(format!(
            "challenge {} is decided by its curators: it takes effect at height {} unless appealed",
            ch.id, ch.deadline_height
        )));
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
        let mut resp = nothing_moved(ChallengeStatus::Open);
        if side >= need {
            // Decided: held for the appeal window, then applied at its end (end block).
            state.delete(state_key::expiry(ch.deadline_height, ch.id));
            ch.status = ChallengeStatus::Decided as i32;
            ch.decided_uphold = m.uphold;
            ch.resolver = who;
            ch.resolution = m.resolution.clone();
            ch.deadline_height = ctx.height.saturating_add(p.appeal_blocks);
            state.put_raw(state_key::expiry(ch.deadline_height, ch.id), vec![]);
            state.record(typed(EventChallengeDecided {
                challenge_id: ch.id.to_string(),
                contribution_id: ch.contribution_id.to_string(),
                upheld: m.uphold.to_string(),
                effective_height: ch.deadline_height.to_string(),
            }));
            resp.status = ChallengeStatus::Decided as i32;
        }
        state.put_challenge(&ch);
        return Ok(resp);
    }
    apply(state, ch, m.uphold, Some(&who), &m.resolution, &p, ctx.height, Some(ctx.msg_index)).await
}

/// Apply a decision: an arbiter's (`arbiter`), or the quorum's when it stands (its
/// appeal window ended, or no arbiter decided its appeal). Settles an appeal's bond:
/// back to the appellant unless an arbiter confirmed the quorum (then to the treasury);
/// an arbiter who overturns the quorum slashes the curators who voted for it.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn apply<S: StateWrite>(
    state: &mut S,
    ch: Challenge,
    uphold: bool,
    arbiter: Option<&str>,
    resolution: &str,
    p: &Params,
    height: u64,
    msg_index: Option<u32>,
) -> Result<MsgResolveChallengeResponse, ChainError> {
    let d = get_datanet(state, ch.datanet_id).await?;
    let c = get_contribution(state, ch.contribution_id).await?;
    let mut overturned_slashed: u128 = 0;
    if !ch.appellant.is_empty() {
        let bond = uopen(ch.appeal_bond.as_ref(), "appeal bond")?;
        let confirmed = arbiter.is_some() && uphold == ch.decided_uphold;
        let to = if confirmed { treasury(d.id) } else { address(&ch.appellant, "appellant")? };
        state.send_from_module(&ESCROW, &to, bond, msg_index).await?;
        if arbiter.is_some() && !confirmed {
            let voters = if ch.decided_uphold { &ch.uphold_votes } else { &ch.dismiss_votes };
            for v in voters {
                if let Ok(curator) = Address::parse(v) {
                    overturned_slashed = overturned_slashed.saturating_add(curators::slash(state, d.id, &curator, p, msg_index).await?);
                }
            }
        }
    }
    let resolver = arbiter.map_or_else(|| ch.resolver.clone(), str::to_string);
    let mut resp = decide(state, ch, d, c, uphold, &resolver, resolution, p, height, msg_index).await?;
    resp.overturned_slashed = overturned_slashed.to_string();
    Ok(resp)
}

/// Apply the decision.
#[allow(clippy::too_many_arguments)]
async fn decide<S: StateWrite>(
    state: &mut S,
    mut ch: Challenge,
    mut d: Datanet,
    mut c: Contribution,
    uphold: bool,
    resolver: &str,
    resolution: &str,
    p: &Params,
    height: u64,
    msg_index: Option<u32>,
) -> Result<MsgResolveChallengeResponse, ChainError> {
    let challenger = address(&ch.challenger, "challenger")?;
    let bond = uopen(ch.bond.as_ref(), "bond")?;
    let mut resp = nothing_moved(ChallengeStatus::Dismissed);
    if uphold {
        let stake = if c.stake_release_height != 0 { uopen(c.stake.as_ref(), "stake")? } else { 0 };
        let reward = bps_of(stake, c.terms.map_or(0, |t| t.challenge_reward_bps));
        let paid = bond.saturating_add(reward);
        state.send_from_module(&ESCROW, &challenger, paid, msg_index).await?;
        if stake > reward {
            state.send_from_module(&ESCROW, &treasury(d.id), stake - reward, msg_index).await?;
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
            Ok(reviewer) => curators::slash(state, d.id, &reviewer, p, msg_index).await?,
            Err(_) => 0,
        };
        resp = MsgResolveChallengeResponse {
            slashed: stake.to_string(),
            paid_to_challenger: paid.to_string(),
            status: ChallengeStatus::Upheld as i32,
            curator_slashed: slashed_curator.to_string(),
            overturned_slashed: "0".into(),
        };
    } else {
        state.send_from_module(&ESCROW, &treasury(d.id), bond, msg_index).await?;
        ch.status = ChallengeStatus::Dismissed as i32;
        refund_if_due(state, &mut c, height, msg_index).await?;
    }
    state.delete(state_key::expiry(ch.deadline_height, ch.id));
    ch.resolved_height = height;
    ch.resolver = resolver.to_string();
    ch.resolution = resolution.to_string();
    c.open_challenge_id = 0;
    state.put_contribution(&c);
    state.put_challenge(&ch);
    state.record(typed(openledger_proto::openledger::datanet::v1::EventChallengeResolved {
        challenge_id: ch.id.to_string(),
        contribution_id: c.id.to_string(),
        datanet_id: d.id.to_string(),
        upheld: uphold.to_string(),
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
