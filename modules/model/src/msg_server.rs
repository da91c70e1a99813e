//! The model module's messages: decoding (signer known before any state is read),
//! then execution against state. Every refusal is a `model` (or `token`) error with a
//! stable code, and a refused message changes nothing (the app runs each tx's
//! messages in an overlay that is dropped on error).
use cnidarium::{StateRead, StateWrite};
use openledger_datanet::state_ext::DatanetRead;
use openledger_framework::amount::parse_amount;
use openledger_framework::events::event;
use openledger_framework::index::{be, IndexWrite};
use openledger_framework::{sdk, Address, Amount, ChainError};
use openledger_proto::cosmos::base::v1beta1::Coin;
use openledger_proto::openledger::model::v1::*;
use openledger_token::state_ext::TokenWrite;
use openledger_token::{uopen_coin, DENOM};
use prost::Message;

use crate::state_ext::{ModelRead, ModelWrite};
use crate::{bonds, error, state_key, BPS};

pub const TYPE_URL_PREFIX: &str = "/openledger.model.v1.";

/// A model message with its signer parsed.
#[derive(Debug, Clone, PartialEq)]
pub enum ModelMsg {
    Register(MsgRegisterModel),
    Update(MsgUpdateModel),
}

fn decode_as<M: Message + Default>(bytes: &[u8], name: &str) -> Result<M, ChainError> {
    M::decode(bytes).map_err(|e| sdk::tx_decode(format!("{name}: {e}: tx parse error")))
}

impl ModelMsg {
    /// `None` when `type_url` is not a model message.
    pub fn decode(type_url: &str, bytes: &[u8]) -> Option<Result<(ModelMsg, Address), ChainError>> {
        let name = type_url.strip_prefix(TYPE_URL_PREFIX)?;
        let msg = match name {
            "MsgRegisterModel" => decode_as(bytes, name).map(ModelMsg::Register),
            "MsgUpdateModel" => decode_as(bytes, name).map(ModelMsg::Update),
            _ => return None,
        };
        Some(msg.and_then(|m| {
            let signer = address(m.signer_field(), "owner")?;
            Ok((m, signer))
        }))
    }

    fn signer_field(&self) -> &str {
        match self {
            ModelMsg::Register(m) => &m.owner,
            ModelMsg::Update(m) => &m.owner,
        }
    }

    pub fn type_url(&self) -> &'static str {
        match self {
            ModelMsg::Register(_) => "/openledger.model.v1.MsgRegisterModel",
            ModelMsg::Update(_) => "/openledger.model.v1.MsgUpdateModel",
        }
    }
}

pub use openledger_framework::msg::MsgCtx;

/// Execute a model message; returns its response as an `Any`.
pub async fn execute<S: StateWrite>(state: &mut S, msg: &ModelMsg, signer: &Address, ctx: MsgCtx) -> Result<prost_types::Any, ChainError> {
    let any = |name: &str, value: Vec<u8>| prost_types::Any { type_url: format!("{TYPE_URL_PREFIX}{name}"), value };
    Ok(match msg {
        ModelMsg::Register(m) => any("MsgRegisterModelResponse", register(state, m, signer, ctx).await?.encode_to_vec()),
        ModelMsg::Update(m) => any("MsgUpdateModelResponse", update(state, m, signer, ctx).await?.encode_to_vec()),
    })
}

// ---------------------------------------------------------------- validation helpers

pub(crate) fn address(s: &str, what: &str) -> Result<Address, ChainError> {
    openledger_framework::msg::address(s, what).map_err(error::invalid_address)
}

fn text(value: &str, what: &str, max: u32, required: bool) -> Result<(), ChainError> {
    openledger_framework::msg::text(value, what, max, required).map_err(error::invalid_field)
}

/// A uopen amount from an optional coin.
pub(crate) fn uopen(coin: Option<&Coin>, what: &str) -> Result<Amount, ChainError> {
    openledger_token::parse_uopen(coin, what).map_err(error::invalid_coins)
}


fn price(c: Option<&Coin>) -> Result<Coin, ChainError> {
    let amount = uopen(c, "price_per_unit")?;
    if amount == 0 {
        return Err(error::invalid_coins("price_per_unit must be positive"));
    }
    Ok(uopen_coin(amount))
}

/// The operators, 1..=max distinct addresses, in canonical form.
fn operators(list: &[String], max: u32) -> Result<Vec<String>, ChainError> {
    if list.is_empty() {
        return Err(error::invalid_operators("at least one operator is required"));
    }
    if list.len() > max as usize {
        return Err(error::invalid_operators(format!("{} operators, the maximum is {max}", list.len())));
    }
    let mut parsed: Vec<Address> = Vec::with_capacity(list.len());
    for s in list {
        let a = address(s, "operator")?;
        if parsed.contains(&a) {
            return Err(error::invalid_operators(format!("operator {s} is listed twice")));
        }
        parsed.push(a);
    }
    Ok(parsed.iter().map(Address::to_string).collect())
}

fn fee_split(f: Option<&FeeSplit>) -> Result<FeeSplit, ChainError> {
    let f = f.copied().ok_or_else(|| error::invalid_fee_split("fee_split is required"))?;
    let sum = u64::from(f.owner_bps) + u64::from(f.contributors_bps) + u64::from(f.datanet_owners_bps) + u64::from(f.protocol_bps);
    if sum != BPS {
        return Err(error::invalid_fee_split(format!(
            "fee_split owner {} + contributors {} + datanet_owners {} + protocol {} = {sum} bps, must be exactly {BPS}",
            f.owner_bps, f.contributors_bps, f.datanet_owners_bps, f.protocol_bps
        )));
    }
    Ok(f)
}

/// The static shape of a training set: 1..=max entries, ids and versions positive,
/// weights positive, no pair twice, weights summing to exactly 10000.
fn training_set_shape(entries: &[TrainingEntry], max: u32) -> Result<(), ChainError> {
    if entries.is_empty() {
        return Err(error::invalid_training_set("training_set needs at least one datanet version"));
    }
    if entries.len() > max as usize {
        return Err(error::invalid_training_set(format!("training_set has {} entries, the maximum is {max}", entries.len())));
    }
    let mut sum = 0u64;
    for (i, e) in entries.iter().enumerate() {
        if e.datanet_id == 0 || e.version == 0 {
            return Err(error::invalid_training_set(format!(
                "training_set entry {i}: datanet_id and version must be positive, got {}/{}",
                e.datanet_id, e.version
            )));
        }
        if e.weight_bps == 0 || u64::from(e.weight_bps) > BPS {
            return Err(error::invalid_training_set(format!(
                "training_set entry {i} (datanet {} version {}): weight_bps {} must be between 1 and {BPS}",
                e.datanet_id, e.version, e.weight_bps
            )));
        }
        if entries[..i].iter().any(|p| p.datanet_id == e.datanet_id && p.version == e.version) {
            return Err(error::invalid_training_set(format!("datanet {} version {} is listed twice in training_set", e.datanet_id, e.version)));
        }
        sum += u64::from(e.weight_bps);
    }
    if sum != BPS {
        return Err(error::invalid_training_set(format!("training_set weights sum to {sum} bps, they must sum to exactly {BPS}")));
    }
    Ok(())
}

/// Every training entry names a published version of an existing datanet.
async fn training_set_exists<S: StateRead>(state: &S, entries: &[TrainingEntry]) -> Result<(), ChainError> {
    for e in entries {
        if state.datanet_version(e.datanet_id, e.version).await?.is_some() {
            continue;
        }
        return Err(match state.datanet(e.datanet_id).await? {
            None => error::invalid_training_set(format!("datanet {} does not exist", e.datanet_id)),
            Some(d) => error::invalid_training_set(format!(
                "datanet {} has no published version {} (latest published: {})",
                e.datanet_id, e.version, d.latest_version
            )),
        });
    }
    Ok(())
}

pub(crate) fn min_bond(p: &Params) -> Result<Amount, ChainError> {
    parse_amount(&p.min_operator_bond).map_err(|e| sdk::internal(format!("model params: min_operator_bond: {e}")))
}

/// A new model's bond: at least the minimum. (A registered model's bond may have been
/// slashed below it since, so records are not held to the minimum.)
fn check_new_bond(amount: Amount, p: &Params) -> Result<(), ChainError> {
    let min = min_bond(p)?;
    if amount < min {
        return Err(error::insufficient_bond(format!("bond {amount}{DENOM} is below the minimum operator bond of {min}{DENOM}")));
    }
    Ok(())
}

/// Check a model record against the params and the datanet state (as registration
/// does), putting its operators and coins in canonical form. Returns the bond.
/// Ids, heights, status and terms_version are the caller's business.
pub(crate) async fn check_model<S: StateRead>(state: &S, p: &Params, m: &mut Model) -> Result<Amount, ChainError> {
    text(&m.name, "name", p.max_name_length, true)?;
    text(&m.base_model, "base_model", p.max_base_model_length, false)?;
    if m.artifact_hash.len() != 32 {
        return Err(error::invalid_field(format!("artifact_hash must be a 32-byte SHA-256, got {} bytes", m.artifact_hash.len())));
    }
    text(&m.artifact_uri, "artifact_uri", p.max_uri_length, true)?;
    training_set_shape(&m.training_set, p.max_training_entries)?;
    m.operators = operators(&m.operators, p.max_operators)?;
    m.price_per_unit = Some(price(m.price_per_unit.as_ref())?);
    m.fee_split = Some(fee_split(m.fee_split.as_ref())?);
    let bond = uopen(m.bond.as_ref(), "bond")?;
    m.bond = Some(uopen_coin(bond));
    training_set_exists(state, &m.training_set).await?;
    Ok(bond)
}

async fn get_model<S: StateRead>(state: &S, id: u64) -> Result<Model, ChainError> {
    state.model(id).await?.ok_or_else(|| error::not_found(format!("model {id} not found")))
}

pub(crate) fn status_name(s: i32) -> &'static str {
    ModelStatus::try_from(s).map(|s| s.as_str_name()).unwrap_or("MODEL_STATUS_UNSPECIFIED")
}

fn coin_str(c: Option<&Coin>) -> String {
    c.map(|c| format!("{}{}", c.amount, c.denom)).unwrap_or_default()
}

/// Add a model to the lists: all, its owner's, and each datanet it trained on.
pub(crate) async fn index_model<S: StateWrite>(state: &mut S, m: &Model) -> Result<(), ChainError> {
    let id = be(m.id);
    state.index_insert(&state_key::ix_all(), &id, id.to_vec()).await?;
    state.index_insert(&state_key::ix_owner(&address(&m.owner, "owner")?), &id, id.to_vec()).await?;
    for e in &m.training_set {
        // Idempotent: two versions of one datanet list the model once.
        state.index_insert(&state_key::ix_datanet(e.datanet_id), &id, id.to_vec()).await?;
    }
    Ok(())
}

// ---------------------------------------------------------------- messages

async fn register<S: StateWrite>(state: &mut S, m: &MsgRegisterModel, owner: &Address, ctx: MsgCtx) -> Result<MsgRegisterModelResponse, ChainError> {
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
    check_new_bond(bond, &p)?;
    state.transfer(owner, &bonds(), bond, DENOM, Some(ctx.msg_index)).await?;
    model.id = state.take_model_id().await?;
    index_model(state, &model).await?;
    state.put_model(&model);
    let split = model.fee_split.unwrap_or_default();
    let training: Vec<String> = model.training_set.iter().map(|e| format!("{}/{}:{}", e.datanet_id, e.version, e.weight_bps)).collect();
    state.record(event(
        "openledger.model.v1.EventModelRegistered",
        [
            ("model_id", model.id.to_string()),
            ("owner", model.owner.clone()),
            ("name", model.name.clone()),
            ("artifact_hash", hex::encode(&model.artifact_hash)),
            ("training_set", training.join(",")),
            ("operators", model.operators.join(",")),
            ("price_per_unit", coin_str(model.price_per_unit.as_ref())),
            (
                "fee_split",
                format!("{}/{}/{}/{}", split.owner_bps, split.contributors_bps, split.datanet_owners_bps, split.protocol_bps),
            ),
            ("bond", coin_str(model.bond.as_ref())),
            ("terms_version", model.terms_version.to_string()),
        ],
    ));
    Ok(MsgRegisterModelResponse { model_id: model.id })
}

async fn update<S: StateWrite>(state: &mut S, m: &MsgUpdateModel, owner: &Address, ctx: MsgCtx) -> Result<MsgUpdateModelResponse, ChainError> {
    let p = state.model_params().await?;
    let mut model = get_model(state, m.model_id).await?;
    if model.owner != owner.to_string() {
        return Err(error::unauthorized(format!("only the owner {} may update model {}", model.owner, model.id)));
    }
    if model.status == ModelStatus::Retired as i32 {
        return Err(error::retired(format!("model {} is retired: a retired model cannot be updated or reactivated", model.id)));
    }
    let retire = match ModelStatus::try_from(m.status) {
        Ok(ModelStatus::Unspecified) | Ok(ModelStatus::Active) => false,
        Ok(ModelStatus::Retired) => true,
        Err(_) => return Err(error::invalid_field(format!("status {} is neither ACTIVE (1) nor RETIRED (2)", m.status))),
    };
    if !m.set_operators && !m.operators.is_empty() {
        return Err(error::invalid_field("operators are given but set_operators is false"));
    }
    if m.price_per_unit.is_none() && m.status == ModelStatus::Unspecified as i32 && !m.set_operators {
        return Err(error::invalid_field("nothing to update: give price_per_unit, status or set_operators"));
    }
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
    if terms_changed {
        model.terms_version = model.terms_version.checked_add(1).ok_or_else(|| sdk::internal("terms_version overflows"))?;
    }
    if retire {
        model.status = ModelStatus::Retired as i32;
    }
    model.updated_height = ctx.height;
    state.put_model(&model);
    state.record(event(
        "openledger.model.v1.EventModelUpdated",
        [
            ("model_id", model.id.to_string()),
            ("owner", model.owner.clone()),
            ("status", status_name(model.status).to_string()),
            ("price_per_unit", coin_str(model.price_per_unit.as_ref())),
            ("operators", model.operators.join(",")),
            ("terms_version", model.terms_version.to_string()),
            ("terms_changed", terms_changed.to_string()),
            ("retired", retire.to_string()),
            ("updated_height", model.updated_height.to_string()),
        ],
    ));
    Ok(MsgUpdateModelResponse { terms_version: model.terms_version })
}
