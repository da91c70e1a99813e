//! Operations on model records that registration, updates and genesis share.
use cnidarium::{StateRead, StateWrite};
use openledger_datanet::state_ext::DatanetRead;
use openledger_framework::amount::parse_amount;
use openledger_framework::index::{be, IndexWrite};
use openledger_framework::{sdk, Amount, ChainError};
use openledger_proto::cosmos::base::v1beta1::Coin;
use openledger_proto::openledger::model::v1::{Model, ModelStatus, Params, TrainingEntry};
use openledger_token::uopen_coin;

use crate::msg::fields::{address, fee_split, operators, price, text, training_set_size, uopen};
use crate::state_ext::ModelRead;
use crate::{error, state_key};

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

/// Consent: a model meets the model terms of every datanet it trains on — at least each
/// one's minimum contributors' share, and an owner on each one's allow-list when it has
/// one. Checked when a model is registered or updated, not at genesis import (a datanet
/// may have raised its terms after a model registered; that model serves on until its
/// next update).
pub(crate) async fn meets_datanet_terms<S: StateRead>(state: &S, m: &Model) -> Result<(), ChainError> {
    let split = m.fee_split.unwrap_or_default();
    let mut seen: Vec<u64> = Vec::new();
    for e in &m.training_set {
        if seen.contains(&e.datanet_id) {
            continue;
        }
        seen.push(e.datanet_id);
        let d = state
            .datanet(e.datanet_id)
            .await?
            .ok_or_else(|| error::invalid_training_set(format!("datanet {} does not exist", e.datanet_id)))?;
        let terms = d.model_terms.unwrap_or_default();
        if split.contributors_bps < terms.min_contributors_bps {
            return Err(error::below_datanet_terms(format!(
                "datanet {} requires a contributors' share of at least {} bps; the fee split gives {}",
                d.id, terms.min_contributors_bps, split.contributors_bps
            )));
        }
        if !terms.allowed_model_owners.is_empty() && !terms.allowed_model_owners.contains(&m.owner) {
            return Err(error::below_datanet_terms(format!(
                "datanet {} admits models of {} only; {} is not one of them",
                d.id,
                terms.allowed_model_owners.join(", "),
                m.owner
            )));
        }
    }
    Ok(())
}

pub(crate) fn min_bond(p: &Params) -> Result<Amount, ChainError> {
    parse_amount(&p.min_operator_bond).map_err(|e| sdk::internal(format!("model params: min_operator_bond: {e}")))
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
    training_set_size(&m.training_set, p.max_training_entries)?;
    m.operators = operators(&m.operators, p.max_operators)?;
    m.price_per_unit = Some(price(m.price_per_unit.as_ref())?);
    m.fee_split = Some(fee_split(m.fee_split.as_ref())?);
    let bond = uopen(m.bond.as_ref(), "bond")?;
    m.bond = Some(uopen_coin(bond));
    training_set_exists(state, &m.training_set).await?;
    Ok(bond)
}

pub(crate) async fn get_model<S: StateRead>(state: &S, id: u64) -> Result<Model, ChainError> {
    state.model(id).await?.ok_or_else(|| error::not_found(format!("model {id} not found")))
}

pub(crate) fn status_name(s: i32) -> &'static str {
    ModelStatus::try_from(s).map(|s| s.as_str_name()).unwrap_or("MODEL_STATUS_UNSPECIFIED")
}

/// A fee split as events show it: owner/contributors/datanet owners/protocol/operator, bps.
pub(crate) fn split_str(f: Option<&openledger_proto::openledger::model::v1::FeeSplit>) -> String {
    let f = f.copied().unwrap_or_default();
    format!("{}/{}/{}/{}/{}", f.owner_bps, f.contributors_bps, f.datanet_owners_bps, f.protocol_bps, f.operator_bps)
}

pub(crate) fn coin_str(c: Option<&Coin>) -> String {
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
