//! Field checks the model messages (and genesis) share.
use openledger_framework::{Address, ChainError};
use openledger_proto::cosmos::base::v1beta1::Coin;
use openledger_proto::openledger::model::v1::{FeeSplit, TrainingEntry};
use openledger_token::uopen_coin;

use crate::{error, BPS};

openledger_framework::field_checks!(invalid_field: error::invalid_field, invalid_address: error::invalid_address, invalid_coins: error::invalid_coins);

pub(crate) fn price(c: Option<&Coin>) -> Result<Coin, ChainError> {
    let amount = uopen(c, "price_per_unit")?;
    if amount == 0 {
        return Err(error::invalid_coins("price_per_unit must be positive"));
    }
    Ok(uopen_coin(amount))
}

/// The operators: at least one, distinct valid addresses (stateless; their number is
/// checked against the params by `operators`).
pub(crate) fn distinct_operators(list: &[String]) -> Result<Vec<Address>, ChainError> {
    if list.is_empty() {
        return Err(error::invalid_operators("at least one operator is required"));
    }
    let mut parsed: Vec<Address> = Vec::with_capacity(list.len());
    for s in list {
        let a = address(s, "operator")?;
        if parsed.contains(&a) {
            return Err(error::invalid_operators(format!("operator {s} is listed twice")));
        }
        parsed.push(a);
    }
    Ok(parsed)
}

/// The operators, 1..=max distinct addresses, in canonical form.
pub(crate) fn operators(list: &[String], max: u32) -> Result<Vec<String>, ChainError> {
    if list.len() > max as usize {
        return Err(error::invalid_operators(format!("{} operators, the maximum is {max}", list.len())));
    }
    Ok(distinct_operators(list)?.iter().map(Address::to_string).collect())
}

pub(crate) fn fee_split(f: Option<&FeeSplit>) -> Result<FeeSplit, ChainError> {
    let f = f.copied().ok_or_else(|| error::invalid_fee_split("fee_split is required"))?;
    let sum = u64::from(f.owner_bps)
        + u64::from(f.contributors_bps)
        + u64::from(f.datanet_owners_bps)
        + u64::from(f.protocol_bps)
        + u64::from(f.operator_bps);
    if sum != BPS {
        return Err(error::invalid_fee_split(format!(
            "fee_split owner {} + contributors {} + datanet_owners {} + protocol {} + operator {} = {sum} bps, must be exactly {BPS}",
            f.owner_bps, f.contributors_bps, f.datanet_owners_bps, f.protocol_bps, f.operator_bps
        )));
    }
    Ok(f)
}

/// The static shape of a training set: at least one entry, ids and versions positive,
/// weights positive, no pair twice, weights summing to exactly 10000. (Its length is
/// checked against the params by `training_set_size`.)
pub(crate) fn training_set_shape(entries: &[TrainingEntry]) -> Result<(), ChainError> {
    if entries.is_empty() {
        return Err(error::invalid_training_set("training_set needs at least one datanet version"));
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
            return Err(error::invalid_training_set(format!(
                "datanet {} version {} is listed twice in training_set",
                e.datanet_id, e.version
            )));
        }
        sum += u64::from(e.weight_bps);
    }
    if sum != BPS {
        return Err(error::invalid_training_set(format!("training_set weights sum to {sum} bps, they must sum to exactly {BPS}")));
    }
    Ok(())
}

/// A training set of at most `max` entries, and of the right shape.
pub(crate) fn training_set_size(entries: &[TrainingEntry], max: u32) -> Result<(), ChainError> {
    if entries.len() > max as usize {
        return Err(error::invalid_training_set(format!("training_set has {} entries, the maximum is {max}", entries.len())));
    }
    training_set_shape(entries)
}
