//! `MsgWithdrawBond`: the owner of a retired model takes its operator bond back once
//! `bond_unbonding_blocks` have passed since the retirement. An active model's bond
//! never leaves `model_bonds`; a bond is withdrawn once.
use cnidarium::StateWrite;
use openledger_framework::events::typed;
use openledger_framework::{Address, ChainError, MsgCtx};
use openledger_proto::openledger::model::v1::{EventBondWithdrawn, ModelStatus, MsgWithdrawBond, MsgWithdrawBondResponse};
use openledger_token::state_ext::TokenWrite;
use openledger_token::uopen_coin;

use super::fields::{address, uopen};
use crate::records::get_model;
use crate::state_ext::{ModelRead, ModelWrite};
use crate::{error, BONDS};

/// Without state: the owner and a positive model id.
pub fn check(m: &MsgWithdrawBond) -> Result<Address, ChainError> {
    let owner = address(&m.owner, "owner")?;
    if m.model_id == 0 {
        return Err(error::invalid_field("model_id must be positive"));
    }
    Ok(owner)
}

pub async fn execute<S: StateWrite>(
    state: &mut S,
    m: &MsgWithdrawBond,
    owner: &Address,
    ctx: MsgCtx,
) -> Result<MsgWithdrawBondResponse, ChainError> {
    let p = state.model_params().await?;
    let mut model = get_model(state, m.model_id).await?;
    if model.owner != owner.to_string() {
        return Err(error::unauthorized(format!("only the owner {} may withdraw model {}'s bond", model.owner, model.id)));
    }
    if model.status != ModelStatus::Retired as i32 {
        return Err(error::bond_locked(format!(
            "model {} is active: retire it first, then wait {} blocks",
            model.id, p.bond_unbonding_blocks
        )));
    }
    // A retired model is never updated again: its last update is the retirement.
    let free_at = model.updated_height.saturating_add(p.bond_unbonding_blocks);
    if ctx.height < free_at {
        return Err(error::bond_locked(format!("model {}'s bond unbonds at height {free_at} (now {})", model.id, ctx.height)));
    }
    let bond = uopen(model.bond.as_ref(), "bond")?;
    if bond == 0 {
        return Err(error::bond_locked(format!("model {}'s bond was already withdrawn", model.id)));
    }
    model.bond = Some(uopen_coin(0));
    state.put_model(&model);
    state.send_from_module(&BONDS, owner, bond, Some(ctx.msg_index)).await?;
    state.record(typed(EventBondWithdrawn { model_id: model.id.to_string(), owner: owner.to_string(), amount: bond.to_string() }));
    Ok(MsgWithdrawBondResponse { withdrawn: bond.to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_refuses_a_bad_owner_and_a_zero_id() {
        let ok = MsgWithdrawBond { owner: Address([1; 20]).to_string(), model_id: 1 };
        assert!(check(&ok).is_ok());
        assert_eq!(check(&MsgWithdrawBond { model_id: 0, ..ok.clone() }).unwrap_err().code, 2);
        assert_eq!(check(&MsgWithdrawBond { owner: "x".into(), ..ok }).unwrap_err().code, 9);
    }
}
