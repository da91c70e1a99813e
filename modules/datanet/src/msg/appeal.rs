//! `MsgAppealChallenge`: the party a quorum's decision goes against takes it to the
//! arbiters before it takes effect. Curators are the datanet owner's choice, so a
//! quorum may be the owner's own accounts; the appeal is what makes their vote
//! answerable. It escalates the challenge (the quorum's decision is held, not applied);
//! an arbiter with no stake in it decides, and one who overturns the quorum slashes the
//! bonds of the curators who voted for it (`resolve`). The appellant posts a bond equal
//! to the challenge's: refunded when the arbiter overturns the decision or none decides
//! in `escalation_blocks` (then the quorum's decision stands), paid to the treasury when
//! the arbiter confirms it, so appealing a sound decision only costs.
use cnidarium::StateWrite;
use openledger_framework::events::typed;
use openledger_framework::{Address, ChainError, MsgCtx};
use openledger_proto::openledger::datanet::v1::{ChallengeStatus, EventChallengeAppealed, MsgAppealChallenge, MsgAppealChallengeResponse};
use openledger_token::state_ext::TokenWrite;
use openledger_token::{uopen_coin, DENOM};

use super::fields::{address, positive_id, required, text, uopen};
use crate::records::get_contribution;
use crate::state_ext::{DatanetRead, DatanetWrite};
use crate::{error, state_key, ESCROW};

/// Without state: the appellant, the challenge id, a reason and the bond's coin.
pub fn check(m: &MsgAppealChallenge) -> Result<Address, ChainError> {
    let appellant = address(&m.appellant, "appellant")?;
    positive_id(m.challenge_id, "challenge_id")?;
    required(&m.reason, "reason")?;
    uopen(m.bond.as_ref(), "bond")?;
    Ok(appellant)
}

pub async fn execute<S: StateWrite>(
    state: &mut S,
    m: &MsgAppealChallenge,
    appellant: &Address,
    ctx: MsgCtx,
) -> Result<MsgAppealChallengeResponse, ChainError> {
    let p = state.datanet_params().await?;
    let mut ch =
        state.challenge(m.challenge_id).await?.ok_or_else(|| error::not_found(format!("challenge {} not found", m.challenge_id)))?;
    if ch.status != ChallengeStatus::Decided as i32 {
        return Err(error::wrong_status(format!("challenge {} has no curators' decision awaiting appeal", ch.id)));
    }
    let c = get_contribution(state, ch.contribution_id).await?;
    let who = appellant.to_string();
    let (against, party) = if ch.decided_uphold { (&c.contributor, "its contributor") } else { (&ch.challenger, "the challenger") };
    if *against != who {
        return Err(error::unauthorized(format!(
            "only {party} may appeal the curators' decision to {} challenge {}",
            if ch.decided_uphold { "uphold" } else { "dismiss" },
            ch.id
        )));
    }
    if p.arbiters.is_empty() {
        return Err(error::not_allowed("the chain has no arbiters to appeal to"));
    }
    text(&m.reason, "reason", p.max_reason_length, true)?;
    let bond = uopen(m.bond.as_ref(), "bond")?;
    let need = uopen(ch.bond.as_ref(), "challenge bond")?;
    if bond != need {
        return Err(error::insufficient_stake(format!(
            "an appeal of challenge {} posts a bond equal to the challenge's, {need}{DENOM}, not {bond}{DENOM}",
            ch.id
        )));
    }
    state.send_to_module(appellant, &ESCROW, bond, Some(ctx.msg_index)).await?;
    state.delete(state_key::expiry(ch.deadline_height, ch.id));
    ch.status = ChallengeStatus::Escalated as i32;
    ch.escalated_height = ctx.height;
    ch.deadline_height = ctx.height.saturating_add(p.escalation_blocks);
    ch.appellant = who.clone();
    ch.appeal_reason = m.reason.clone();
    ch.appeal_bond = Some(uopen_coin(bond));
    state.put_raw(state_key::expiry(ch.deadline_height, ch.id), vec![]);
    state.put_challenge(&ch);
    state.record(typed(EventChallengeAppealed {
        challenge_id: ch.id.to_string(),
        appellant: who,
        deadline_height: ch.deadline_height.to_string(),
    }));
    Ok(MsgAppealChallengeResponse { deadline_height: ch.deadline_height })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_needs_an_appellant_a_challenge_a_reason_and_a_bond() {
        let ok = MsgAppealChallenge {
            appellant: Address([1; 20]).to_string(),
            challenge_id: 1,
            reason: "the curators are the owner's".into(),
            bond: Some(uopen_coin(5000)),
        };
        assert!(check(&ok).is_ok());
        assert_eq!(check(&MsgAppealChallenge { challenge_id: 0, ..ok.clone() }).unwrap_err().code, 2);
        assert_eq!(check(&MsgAppealChallenge { appellant: "x".into(), ..ok.clone() }).unwrap_err().code, 13);
        assert!(check(&MsgAppealChallenge { reason: String::new(), ..ok.clone() }).is_err());
        assert!(check(&MsgAppealChallenge { bond: None, ..ok }).is_err());
    }
}
