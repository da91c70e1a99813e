//! `MsgRegisterModel`: a model trained on published datanet versions, with its price,
//! fee split and operators; registering posts the operator bond.
use cnidarium::StateWrite;
use openledger_framework::events::typed;
use openledger_framework::{Address, ChainError, MsgCtx};
use openledger_proto::openledger::model::v1::{Model, ModelStatus, MsgRegisterModel, MsgRegisterModelResponse};
use openledger_token::state_ext::TokenWrite;
use openledger_token::DENOM;

use super::fields::{address, distinct_operators, fee_split, price, required, training_set_shape, uopen};
use crate::records::{check_model, coin_str, index_model, meets_datanet_terms, min_bond, split_str};
use crate::state_ext::{ModelRead, ModelWrite};
use crate::{error, BONDS};

/// Without state: the owner, a name and artifact URI, a 32-byte artifact hash, the
/// training set's shape and weights, the operators, a positive price, a fee split
/// summing to 10,000 bps and the bond's coin.
pub fn check(m: &MsgRegisterModel) -> Result<Address, ChainError> {
    let owner = address(&m.owner, "owner")?;
    required(&m.name, "name")?;
    if m.artifact_hash.len() != 32 {
        return Err(error::invalid_field(format!("artifact_hash must be a 32-byte SHA-256, got {} bytes", m.artifact_hash.len())));
    }
    required(&m.artifact_uri, "artifact_uri")?;
    training_set_shape(&m.training_set)?;
    distinct_operators(&m.operators)?;
    price(m.price_per_unit.as_ref())?;
    fee_split(m.fee_split.as_ref())?;
    uopen(m.bond.as_ref(), "bond")?;
    Ok(owner)
}

pub async fn execute<S: StateWrite>(
    state: &mut S,
    m: &MsgRegisterModel,
    owner: &Address,
    ctx: MsgCtx,
) -> Result<MsgRegisterModelResponse, ChainError> {
    let p = state.model_params().await?;
    let mut model = Model {
        id: 0,
        owner: owner.to_string(),
        name: m.name.clone(),
        base_model: m.base_model.clone(),
        artifact_hash: m.artifact_hash.clone(),
        artifact_uri: m.artifact_uri.clone(),
        training_set: m.training_set.clone(),
        operators: m.operators.clone(),
        price_per_unit: m.price_per_unit.clone(),
        fee_split: m.fee_split,
        bond: m.bond.clone(),
        status: ModelStatus::Active as i32,
        registered_height: ctx.height,
        updated_height: ctx.height,
        terms_version: 1,
    };
    let bond = check_model(state, &p, &mut model).await?;
    meets_datanet_terms(state, &model).await?;
    let min = min_bond(&p)?;
    // A registered model's bond may have been slashed below the minimum since, so
    // records are not held to it; a new one is.
    if bond < min {
        return Err(error::insufficient_bond(format!("bond {bond}{DENOM} is below the minimum operator bond of {min}{DENOM}")));
    }
    state.send_to_module(owner, &BONDS, bond, Some(ctx.msg_index)).await?;
    model.id = state.take_model_id().await?;
    index_model(state, &model).await?;
    state.put_model(&model);
    let training: Vec<String> = model.training_set.iter().map(|e| format!("{}/{}:{}", e.datanet_id, e.version, e.weight_bps)).collect();
    state.record(typed(openledger_proto::openledger::model::v1::EventModelRegistered {
        model_id: model.id.to_string(),
        owner: model.owner.clone(),
        name: model.name.clone(),
        artifact_hash: hex::encode(&model.artifact_hash),
        training_set: training.join(","),
        operators: model.operators.join(","),
        price_per_unit: coin_str(model.price_per_unit.as_ref()),
        fee_split: split_str(model.fee_split.as_ref()),
        bond: coin_str(model.bond.as_ref()),
        terms_version: model.terms_version.to_string(),
    }));
    Ok(MsgRegisterModelResponse { model_id: model.id })
}

#[cfg(test)]
mod tests {
    use super::*;
    use openledger_proto::cosmos::base::v1beta1::Coin;
    use openledger_proto::openledger::model::v1::{FeeSplit, TrainingEntry};

    fn uopen(n: u128) -> Option<Coin> {
        Some(Coin { denom: "uopen".into(), amount: n.to_string() })
    }

    fn valid() -> MsgRegisterModel {
        MsgRegisterModel {
            owner: Address([1; 20]).to_string(),
            name: "m".into(),
            base_model: String::new(),
            artifact_hash: vec![7; 32],
            artifact_uri: "ipfs://m".into(),
            training_set: vec![
                TrainingEntry { datanet_id: 1, version: 1, weight_bps: 6000 },
                TrainingEntry { datanet_id: 2, version: 1, weight_bps: 4000 },
            ],
            operators: vec![Address([2; 20]).to_string()],
            price_per_unit: uopen(5),
            fee_split: Some(FeeSplit {
                owner_bps: 4000,
                contributors_bps: 4000,
                datanet_owners_bps: 1000,
                protocol_bps: 1000,
                operator_bps: 0,
            }),
            bond: uopen(1000),
        }
    }

    #[test]
    fn check_refuses_each_malformed_field_with_its_code() {
        assert_eq!(check(&valid()).unwrap(), Address([1; 20]));
        let entry = |d, w| TrainingEntry { datanet_id: d, version: 1, weight_bps: w };
        let cases: Vec<(MsgRegisterModel, u32)> = vec![
            (MsgRegisterModel { owner: "x".into(), ..valid() }, 9),
            (MsgRegisterModel { name: " ".into(), ..valid() }, 2),
            (MsgRegisterModel { artifact_hash: vec![7; 31], ..valid() }, 2),
            (MsgRegisterModel { artifact_uri: String::new(), ..valid() }, 2),
            (MsgRegisterModel { training_set: vec![], ..valid() }, 5),
            (MsgRegisterModel { training_set: vec![entry(1, 5000), entry(1, 5000)], ..valid() }, 5),
            (MsgRegisterModel { training_set: vec![entry(1, 9999)], ..valid() }, 5),
            (MsgRegisterModel { training_set: vec![entry(0, 10_000)], ..valid() }, 5),
            (MsgRegisterModel { operators: vec![], ..valid() }, 12),
            (MsgRegisterModel { operators: vec![Address([2; 20]).to_string(); 2], ..valid() }, 12),
            (MsgRegisterModel { price_per_unit: uopen(0), ..valid() }, 10),
            (
                MsgRegisterModel {
                    fee_split: Some(FeeSplit {
                        owner_bps: 10_000,
                        contributors_bps: 1,
                        datanet_owners_bps: 0,
                        protocol_bps: 0,
                        operator_bps: 0,
                    }),
                    ..valid()
                },
                6,
            ),
            (MsgRegisterModel { fee_split: None, ..valid() }, 6),
            (MsgRegisterModel { bond: None, ..valid() }, 10),
        ];
        for (m, code) in cases {
            let e = check(&m).unwrap_err();
            assert_eq!((e.codespace, e.code), (error::CODESPACE, code), "{m:?}: {}", e.message);
        }
    }
}
