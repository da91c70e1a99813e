//! `MsgClaimCuratorRewards`: a curator is paid what its bond earned in a datanet.
use cnidarium::StateWrite;
use openledger_framework::events::typed;
use openledger_framework::{Address, ChainError, MsgCtx};
use openledger_proto::openledger::datanet::v1::{EventCuratorRewardsClaimed, MsgClaimCuratorRewards, MsgClaimCuratorRewardsResponse};
use openledger_token::state_ext::TokenWrite;

use super::fields::{address, positive_id};
use crate::records::{amount_of, get_datanet};
use crate::{curators, error, ESCROW};

/// Without state: the curator and the datanet id.
pub fn check(m: &MsgClaimCuratorRewards) -> Result<Address, ChainError> {
    let curator = address(&m.curator, "curator")?;
    positive_id(m.datanet_id, "datanet_id")?;
    Ok(curator)
}

pub async fn execute<S: StateWrite>(
    state: &mut S,
    m: &MsgClaimCuratorRewards,
    curator: &Address,
    ctx: MsgCtx,
) -> Result<MsgClaimCuratorRewardsResponse, ChainError> {
    let d = get_datanet(state, m.datanet_id).await?;
    let mut pool = curators::pool(state, d.id).await?;
    let mut b = curators::bond(state, d.id, curator).await?;
    curators::settle_earnings(&pool, &mut b)?;
    let amount = amount_of(&b.earned)?;
    if amount == 0 {
        return Err(error::nothing_to_claim(format!("{curator} has no curator income to claim in datanet {}", d.id)));
    }
    pool.income = amount_of(&pool.income)?
        .checked_sub(amount)
        .ok_or_else(|| openledger_framework::sdk::internal("curator earnings exceed the income held"))?
        .to_string();
    b.earned = "0".into();
    state.send_from_module(&ESCROW, curator, amount, Some(ctx.msg_index)).await?;
    curators::put_pool(state, &pool);
    curators::put_bond(state, &b)?;
    state.record(typed(EventCuratorRewardsClaimed {
        datanet_id: d.id.to_string(),
        curator: curator.to_string(),
        amount: amount.to_string(),
    }));
    Ok(MsgClaimCuratorRewardsResponse { amount: amount.to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_needs_a_curator_and_a_datanet() {
        let ok = MsgClaimCuratorRewards { curator: Address([1; 20]).to_string(), datanet_id: 1 };
        assert!(check(&ok).is_ok());
        assert_eq!(check(&MsgClaimCuratorRewards { datanet_id: 0, ..ok.clone() }).unwrap_err().code, 2);
        assert_eq!(check(&MsgClaimCuratorRewards { curator: "x".into(), ..ok }).unwrap_err().code, 13);
    }
}
