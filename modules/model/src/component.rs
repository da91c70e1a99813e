//! The model module in the registry: its queries, and genesis import and export.
//! Import runs after the datanet module's (every training entry must name a published
//! version), checks each record as registration does and rebuilds the indexes. Bonds
//! are not moved: the token genesis holds them already in the `model_bonds` account.
use std::collections::BTreeSet;

use cnidarium::{StateRead, StateWrite};
use openledger_framework::amount::parse_amount;
use openledger_framework::{ChainError, Module, ModuleAccount, QueryRoute, StoreRead};
use openledger_proto::openledger::model::v1::{GenesisState, ModelStatus, Params};

use crate::msg::fields::address;
use crate::msg::ModelMsg;
use crate::records::{check_model, index_model};
use crate::state_ext::{ModelRead, ModelWrite};
use crate::{error, state_key, BONDS, BPS};

/// Models: registrations on datanet versions, terms, operator bonds.
pub struct ModelModule;

impl Module for ModelModule {
    const NAME: &'static str = "model";
    const MODULE_ACCOUNTS: &'static [ModuleAccount] = &[BONDS];
    type Msg = ModelMsg;
    type Genesis = GenesisState;

    fn query_routes() -> Vec<QueryRoute> {
        crate::query::routes()
    }

    async fn init_genesis<S: StateWrite>(state: &mut S, genesis: &GenesisState) -> Result<(), ChainError> {
        let p = genesis.params.clone().unwrap_or_else(default_params);
        validate_params(&p).map_err(error::invalid_genesis)?;
        state.put_model_params(&p);
        let next = genesis.next_model_id.max(1);
        let mut ids = BTreeSet::new();
        for m in &genesis.models {
            let mut m = m.clone();
            let id = m.id;
            let invalid = |e: ChainError| error::invalid_genesis(format!("model {id}: {}", e.message));
            if id == 0 {
                return Err(error::invalid_genesis("a model has id 0 (ids start at 1)"));
            }
            if id >= next {
                return Err(error::invalid_genesis(format!("model {id}: id must be below next_model_id {next}")));
            }
            if !ids.insert(id) {
                return Err(error::invalid_genesis(format!("model {id} is listed twice")));
            }
            m.owner = address(&m.owner, "owner").map_err(invalid)?.to_string();
            check_model(state, &p, &mut m).await.map_err(invalid)?;
            if m.status != ModelStatus::Active as i32 && m.status != ModelStatus::Retired as i32 {
                return Err(error::invalid_genesis(format!("model {id}: status {} is neither ACTIVE (1) nor RETIRED (2)", m.status)));
            }
            if m.terms_version == 0 {
                return Err(error::invalid_genesis(format!("model {id}: terms_version starts at 1")));
            }
            if m.updated_height < m.registered_height {
                return Err(error::invalid_genesis(format!(
                    "model {id}: updated_height {} is before registered_height {}",
                    m.updated_height, m.registered_height
                )));
            }
            index_model(state, &m).await?;
            state.put_model(&m);
        }
        state.put_next_model_id(next);
        Ok(())
    }

    async fn export_genesis<S: StateRead>(state: &S) -> Result<GenesisState, ChainError> {
        let params = state.model_params().await?;
        let models = state.all_protos(state_key::model_prefix()).await?;
        Ok(GenesisState { params: Some(params), models, next_model_id: state.next_model_id().await? })
    }
}

pub fn default_params() -> Params {
    Params {
        max_name_length: 128,
        max_uri_length: 512,
        max_base_model_length: 128,
        max_training_entries: 32,
        max_operators: 16,
        // 100 OPEN.
        min_operator_bond: "100000000".into(),
        bond_unbonding_blocks: 1200,
    }
}

/// The params' own consistency.
pub fn validate_params(p: &Params) -> Result<(), String> {
    for (name, v) in [
        ("max_name_length", p.max_name_length),
        ("max_uri_length", p.max_uri_length),
        ("max_training_entries", p.max_training_entries),
        ("max_operators", p.max_operators),
    ] {
        if v == 0 {
            return Err(format!("params.{name} must be positive"));
        }
    }
    if u64::from(p.max_training_entries) > BPS {
        return Err(format!("params.max_training_entries {} exceeds {BPS} (each entry carries at least 1 bps)", p.max_training_entries));
    }
    parse_amount(&p.min_operator_bond).map_err(|e| format!("params.min_operator_bond: {e}"))?;
    Ok(())
}
