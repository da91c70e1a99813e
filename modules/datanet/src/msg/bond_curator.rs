//! `MsgBondCurator`: a datanet's owner or a listed curator bonds uopen to it — the right
//! to review, publish and vote on challenges, and a share of the datanet's curator
//! income by bond, against the risk of being slashed for accepting bad data.
use cnidarium::StateWrite;
use openledger_framework::{Address, ChainError, MsgCtx};
use openledger_proto::cosmos::base::v1beta1::Coin;
use openledger_proto::openledger::datanet::v1::{MsgBondCurator, MsgBondCuratorResponse};
use openledger_token::state_ext::TokenWrite;
use openledger_token::DENOM;

use super::fields::{address, positive_id, uopen};
use crate::records::{amount_of, get_datanet, is_curator};
use crate::state_ext::DatanetRead;
use crate::{curators, error, ESCROW};

/// Without state: the curator, the datanet id and a positive uopen amount.
pub fn check(m: &MsgBondCurator) -> Result<Address, ChainError> {
    curator_amount(&m.curator, m.datanet_id, m.amount.as_ref())
}

/// The fields a bond and an unbond share: a curator, a datanet, a positive uopen amount.
pub(crate) fn curator_amount(curator: &str, datanet_id: u64, amount: Option<&Coin>) -> Result<Address, ChainError> {
    let curator = address(curator, "curator")?;
    positive_id(datanet_id, "datanet_id")?;
    if uopen(amount, "amount")? == 0 {
        return Err(error::invalid_coins("amount must be positive"));
    }
    Ok(curator)
}

pub async fn execute<S: StateWrite>(
    state: &mut S,
    m: &MsgBondCurator,
    curator: &Address,
    ctx: MsgCtx,
) -> Result<MsgBondCuratorResponse, ChainError> {
    let p = state.datanet_params().await?;
    let d = get_datanet(state, m.datanet_id).await?;
    if !is_curator(&d, curator) {
        return Err(error::unauthorized(format!("{curator} is neither the owner nor a curator of datanet {}", d.id)));
    }
    let amount = uopen(m.amount.as_ref(), "amount")?;
    let mut b = curators::bond(state, d.id, curator).await?;
    let min = amount_of(&p.min_curator_bond)?;
    let after = amount_of(&b.bonded)?.saturating_add(amount);
    if after < min {
        return Err(error::insufficient_stake(format!("a curator bond of {after}{DENOM} is below the minimum of {min}{DENOM}")));
    }
    state.send_to_module(curator, &ESCROW, amount, Some(ctx.msg_index)).await?;
    curators::add_bond(state, &mut b, amount).await?;
    Ok(MsgBondCuratorResponse { bonded: b.bonded })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_refuses_each_malformed_field_with_its_code() {
        let valid = MsgBondCurator {
            curator: Address([1; 20]).to_string(),
            datanet_id: 1,
            amount: Some(Coin { denom: "uopen".into(), amount: "5".into() }),
        };
        assert!(check(&valid).is_ok());
        for (m, code) in [
            (MsgBondCurator { curator: "x".into(), ..valid.clone() }, 13),
            (MsgBondCurator { datanet_id: 0, ..valid.clone() }, 2),
            (MsgBondCurator { amount: Some(Coin { denom: "uopen".into(), amount: "0".into() }), ..valid.clone() }, 14),
            (MsgBondCurator { amount: Some(Coin { denom: "atom".into(), amount: "5".into() }), ..valid.clone() }, 14),
            (MsgBondCurator { amount: None, ..valid.clone() }, 14),
        ] {
            let e = check(&m).unwrap_err();
            assert_eq!((e.codespace, e.code), (error::CODESPACE, code), "{m:?}: {}", e.message);
        }
    }
}
