//! `MsgUpdateModel`: the owner changes the price or the operators (a new terms version:
//! inferences already paid keep theirs) or retires the model (final).
use cnidarium::StateWrite;
use openledger_framework::events::typed;
use openledger_framework::{sdk, Address, ChainError, MsgCtx};
use openledger_proto::openledger::model::v1::{ModelStatus, MsgUpdateModel, MsgUpdateModelResponse};

use super::fields::{address, distinct_operators, fee_split, operators, price};
use crate::error;
use crate::records::{coin_str, get_model, meets_datanet_terms, split_str, status_name};
use crate::state_ext::{ModelRead, ModelWrite};

/// Without state: the owner, the model id, the status value, a positive price if
/// given, operators only with `set_operators` (and then distinct valid ones), and at
/// least one change.
pub fn check(m: &MsgUpdateModel) -> Result<Address, ChainError> {
    let owner = address(&m.owner, "owner")?;
    if m.model_id == 0 {
        return Err(error::invalid_field("model_id must be positive"));
    }
    retires(m.status)?;
    if !m.set_operators && !m.operators.is_empty() {
        return Err(error::invalid_field("operators are given but set_operators is false"));
    }
    if m.price_per_unit.is_none() && m.status == ModelStatus::Unspecified as i32 && !m.set_operators && m.fee_split.is_none() {
        return Err(error::invalid_field("nothing to update: give price_per_unit, fee_split, status or set_operators"));
    }
    if m.price_per_unit.is_some() {
        price(m.price_per_unit.as_ref())?;
    }
    if m.fee_split.is_some() {
        fee_split(m.fee_split.as_ref())?;
    }
    if m.set_operators {
        distinct_operators(&m.operators)?;
    }
    Ok(owner)
}

/// Whether the status field retires the model (UNSPECIFIED and ACTIVE do not).
fn retires(status: i32) -> Result<bool, ChainError> {
    match ModelStatus::try_from(status) {
        Ok(ModelStatus::Unspecified) | Ok(ModelStatus::Active) => Ok(false),
        Ok(ModelStatus::Retired) => Ok(true),
        Err(_) => Err(error::invalid_field(format!("status {status} is neither ACTIVE (1) nor RETIRED (2)"))),
    }
}

pub async fn execute<S: StateWrite>(
    state: &mut S,
    m: &MsgUpdateModel,
    owner: &Address,
    ctx: MsgCtx,
) -> Result<MsgUpdateModelResponse, ChainError> {
    let p = state.model_params().await?;
    let mut model = get_model(state, m.model_id).await?;
    if model.owner != owner.to_string() {
        return Err(error::unauthorized(format!("only the owner {} may update model {}", model.owner, model.id)));
    }
    if model.status == ModelStatus::Retired as i32 {
        return Err(error::retired(format!("model {} is retired: a retired model cannot be updated or reactivated", model.id)));
    }
    let retire = retires(m.status)?;
    let mut terms_changed = false;
    if m.price_per_unit.is_some() {
        let new = price(m.price_per_unit.as_ref())?;
        if model.price_per_unit.as_ref() != Some(&new) {
            model.price_per_unit = Some(new);
            terms_changed = true;
        }
    }
    if m.set_operators {
        let new = operators(&m.operators, p.max_operators)?;
        if new != model.operators {
            model.operators = new;
            terms_changed = true;
        }
    }
    if m.fee_split.is_some() {
        let new = fee_split(m.fee_split.as_ref())?;
        if model.fee_split != Some(new) {
            model.fee_split = Some(new);
            terms_changed = true;
        }
    }
    // Retiring is always possible (it is the way out); anything else must meet the
    // training datanets' terms as they are now.
    if !retire {
        meets_datanet_terms(state, &model).await?;
    }
    if terms_changed {
        model.terms_version = model.terms_version.checked_add(1).ok_or_else(|| sdk::internal("terms_version overflows"))?;
    }
    if retire {
        model.status = ModelStatus::Retired as i32;
    }
    model.updated_height = ctx.height;
    state.put_model(&model);
    state.record(typed(openledger_proto::openledger::model::v1::EventModelUpdated {
        model_id: model.id.to_string(),
        owner: model.owner.clone(),
        status: status_name(model.status).to_string(),
        price_per_unit: coin_str(model.price_per_unit.as_ref()),
        operators: model.operators.join(","),
        terms_version: model.terms_version.to_string(),
        terms_changed: terms_changed.to_string(),
        retired: retire.to_string(),
        updated_height: model.updated_height.to_string(),
        fee_split: split_str(model.fee_split.as_ref()),
    }));
    Ok(MsgUpdateModelResponse { terms_version: model.terms_version })
}

#[cfg(test)]
mod tests {
    use super::*;
    use openledger_proto::cosmos::base::v1beta1::Coin;
    use openledger_proto::openledger::model::v1::FeeSplit;

    fn valid() -> MsgUpdateModel {
        MsgUpdateModel { owner: Address([1; 20]).to_string(), model_id: 1, status: ModelStatus::Retired as i32, ..Default::default() }
    }

    #[test]
    fn check_refuses_each_malformed_field_with_its_code() {
        assert!(check(&valid()).is_ok());
        let cases: Vec<(MsgUpdateModel, u32)> = vec![
            (MsgUpdateModel { owner: String::new(), ..valid() }, 9),
            (MsgUpdateModel { model_id: 0, ..valid() }, 2),
            (MsgUpdateModel { status: 3, ..valid() }, 2),
            (MsgUpdateModel { status: 0, ..valid() }, 2),
            (MsgUpdateModel { operators: vec![Address([2; 20]).to_string()], ..valid() }, 2),
            (MsgUpdateModel { price_per_unit: Some(Coin { denom: "uopen".into(), amount: "0".into() }), ..valid() }, 10),
            (MsgUpdateModel { set_operators: true, operators: vec![], ..valid() }, 12),
            (MsgUpdateModel { fee_split: Some(FeeSplit { owner_bps: 5000, ..Default::default() }), ..valid() }, 6),
        ];
        for (m, code) in cases {
            let e = check(&m).unwrap_err();
            assert_eq!((e.codespace, e.code), (error::CODESPACE, code), "{m:?}: {}", e.message);
        }
        // A fee split alone is a change.
        let split = FeeSplit { owner_bps: 5000, contributors_bps: 5000, datanet_owners_bps: 0, protocol_bps: 0, operator_bps: 0 };
        assert!(check(&MsgUpdateModel { status: 0, fee_split: Some(split), ..valid() }).is_ok());
    }
}
