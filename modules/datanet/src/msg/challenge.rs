//! `MsgChallengeContribution`: anyone but its contributor may challenge an accepted
//! contribution within its window, posting a bond priced by the stake at risk.
use cnidarium::StateWrite;
use openledger_framework::events::typed;
use openledger_framework::{Address, Amount, ChainError, MsgCtx, StoreWrite};
use openledger_proto::openledger::datanet::v1::{
    Challenge, ChallengeStatus, ContributionStatus, MsgChallengeContribution, MsgChallengeContributionResponse, Params,
};
use openledger_token::state_ext::TokenWrite;
use openledger_token::{uopen_coin, DENOM};

use super::fields::{address, positive_id, required, text, uopen};
use crate::records::{get_contribution, status_name};
use crate::state_ext::{DatanetRead, DatanetWrite};
use crate::{error, state_key, ESCROW};

/// Without state: the challenger, the contribution id, a reason and the bond's coin.
pub fn check(m: &MsgChallengeContribution) -> Result<Address, ChainError> {
    let challenger = address(&m.challenger, "challenger")?;
    positive_id(m.contribution_id, "contribution_id")?;
    required(&m.reason, "reason")?;
    uopen(m.bond.as_ref(), "bond")?;
    Ok(challenger)
}

/// The least bond a challenge of a contribution staking `stake` needs: the chain's
/// minimum, or `challenge_bond_bps` of the stake at risk if more.
pub fn required_bond(p: &Params, stake: Amount) -> Amount {
    let floor: Amount = p.min_challenge_bond.parse().unwrap_or(0);
    floor.max(openledger_framework::amount::bps_of(stake, p.challenge_bond_bps))
}

pub async fn execute<S: StateWrite>(
    state: &mut S,
    m: &MsgChallengeContribution,
    challenger: &Address,
    ctx: MsgCtx,
) -> Result<MsgChallengeContributionResponse, ChainError> {
    let p = state.datanet_params().await?;
    let mut c = get_contribution(state, m.contribution_id).await?;
    if c.status != ContributionStatus::Accepted as i32 {
        return Err(error::wrong_status(format!(
            "contribution {} is {}, only accepted ones can be challenged",
            c.id,
            status_name(c.status)
        )));
    }
    if c.contributor == challenger.to_string() {
        return Err(error::unauthorized("a contributor cannot challenge their own contribution"));
    }
    if c.stake_release_height <= ctx.height {
        return Err(error::window_closed(format!("the challenge window of contribution {} has closed", c.id)));
    }
    if c.open_challenge_id != 0 {
        return Err(error::challenge_open(format!("contribution {} already has open challenge {}", c.id, c.open_challenge_id)));
    }
    text(&m.reason, "reason", p.max_reason_length, true)?;
    let bond = uopen(m.bond.as_ref(), "bond")?;
    let stake = uopen(c.stake.as_ref(), "stake")?;
    let min_bond = required_bond(&p, stake);
    if bond < min_bond {
        return Err(error::insufficient_stake(format!(
            "bond {bond}{DENOM} is below the {min_bond}{DENOM} this challenge needs (the larger of {}{DENOM} and {} bps of the {stake}{DENOM} stake at risk)",
            p.min_challenge_bond, p.challenge_bond_bps
        )));
    }
    state.send_to_module(challenger, &ESCROW, bond, Some(ctx.msg_index)).await?;
    let id = state.take_id(state_key::NEXT_CHALLENGE_ID).await?;
    let ch = Challenge {
        id,
        contribution_id: c.id,
        datanet_id: c.datanet_id,
        challenger: challenger.to_string(),
        bond: Some(uopen_coin(bond)),
        reason: m.reason.clone(),
        status: ChallengeStatus::Open as i32,
        opened_height: ctx.height,
        deadline_height: ctx.height.saturating_add(p.challenge_resolution_blocks),
        ..Default::default()
    };
    state.put_raw(state_key::expiry(ch.deadline_height, id), vec![]);
    state.put_challenge(&ch);
    c.open_challenge_id = id;
    state.put_contribution(&c);
    state.record(typed(openledger_proto::openledger::datanet::v1::EventContributionChallenged {
        challenge_id: id.to_string(),
        contribution_id: c.id.to_string(),
        datanet_id: c.datanet_id.to_string(),
        challenger: ch.challenger.clone(),
        bond: bond.to_string(),
        deadline_height: ch.deadline_height.to_string(),
    }));
    Ok(MsgChallengeContributionResponse { challenge_id: id })
}

#[cfg(test)]
mod tests {
    use super::*;
    use openledger_proto::cosmos::base::v1beta1::Coin;

    fn valid() -> MsgChallengeContribution {
        MsgChallengeContribution {
            challenger: Address([1; 20]).to_string(),
            contribution_id: 4,
            reason: "copied".into(),
            bond: Some(Coin { denom: "uopen".into(), amount: "5".into() }),
        }
    }

    #[test]
    fn check_refuses_each_malformed_field_with_its_code() {
        assert!(check(&valid()).is_ok());
        let cases: Vec<(MsgChallengeContribution, u32)> = vec![
            (MsgChallengeContribution { challenger: "x".into(), ..valid() }, 13),
            (MsgChallengeContribution { contribution_id: 0, ..valid() }, 2),
            (MsgChallengeContribution { reason: String::new(), ..valid() }, 2),
            (MsgChallengeContribution { bond: Some(Coin { denom: "uopen".into(), amount: "-1".into() }), ..valid() }, 14),
        ];
        for (m, code) in cases {
            let e = check(&m).unwrap_err();
            assert_eq!((e.codespace, e.code), (error::CODESPACE, code), "{m:?}: {}", e.message);
        }
    }
}
