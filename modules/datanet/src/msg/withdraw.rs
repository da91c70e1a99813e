//! `MsgWithdrawContribution`: a contributor takes back a pending contribution and its
//! whole stake; the content may be submitted again.
use cnidarium::StateWrite;
use openledger_framework::events::typed;
use openledger_framework::{Address, ChainError, MsgCtx};
use openledger_proto::openledger::datanet::v1::{ContributionStatus, MsgWithdrawContribution, MsgWithdrawContributionResponse};
use openledger_token::state_ext::TokenWrite;

use super::fields::{address, positive_id, uopen};
use crate::records::{get_contribution, set_status, status_name};
use crate::state_ext::DatanetWrite;
use crate::{error, state_key, ESCROW};

/// Without state: the contributor and the contribution id.
pub fn check(m: &MsgWithdrawContribution) -> Result<Address, ChainError> {
    let contributor = address(&m.contributor, "contributor")?;
    positive_id(m.contribution_id, "contribution_id")?;
    Ok(contributor)
}

pub async fn execute<S: StateWrite>(
    state: &mut S,
    m: &MsgWithdrawContribution,
    contributor: &Address,
    ctx: MsgCtx,
) -> Result<MsgWithdrawContributionResponse, ChainError> {
    let mut c = get_contribution(state, m.contribution_id).await?;
    if c.contributor != contributor.to_string() {
        return Err(error::unauthorized(format!("only the contributor {} may withdraw contribution {}", c.contributor, c.id)));
    }
    if c.status != ContributionStatus::Pending as i32 {
        return Err(error::wrong_status(format!("contribution {} is {}, only pending ones can be withdrawn", c.id, status_name(c.status))));
    }
    let stake = uopen(c.stake.as_ref(), "stake")?;
    state.send_from_module(&ESCROW, contributor, stake, Some(ctx.msg_index)).await?;
    // Withdrawn content may be submitted again.
    state.delete(state_key::content(c.datanet_id, &c.content_hash));
    set_status(state, &mut c, ContributionStatus::Withdrawn).await?;
    state.put_contribution(&c);
    state.record(typed(openledger_proto::openledger::datanet::v1::EventContributionWithdrawn {
        contribution_id: c.id.to_string(),
        datanet_id: c.datanet_id.to_string(),
        refunded: stake.to_string(),
    }));
    Ok(MsgWithdrawContributionResponse { refunded: stake.to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_needs_a_contributor_and_a_contribution() {
        let ok = MsgWithdrawContribution { contributor: Address([1; 20]).to_string(), contribution_id: 3 };
        assert_eq!(check(&ok).unwrap(), Address([1; 20]));
        assert_eq!(check(&MsgWithdrawContribution { contribution_id: 0, ..ok.clone() }).unwrap_err().code, 2);
        assert_eq!(check(&MsgWithdrawContribution { contributor: "x".into(), ..ok }).unwrap_err().code, 13);
    }
}
