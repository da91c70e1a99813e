//! Lookups the attribution messages share, with their not-found errors.
use cnidarium::StateRead;
use openledger_datanet::state_ext::DatanetRead;
use openledger_framework::ChainError;
use openledger_proto::openledger::attribution::v1::Inference;
use openledger_proto::openledger::datanet::v1::Contribution;

use crate::error;
use crate::state_ext::AttributionRead;

pub(crate) async fn get_inference<S: StateRead>(state: &S, id: u64) -> Result<Inference, ChainError> {
    state.inference(id).await?.ok_or_else(|| error::not_found(format!("inference {id} not found")))
}

pub(crate) async fn get_contribution<S: StateRead>(state: &S, id: u64) -> Result<Contribution, ChainError> {
    state.contribution(id).await?.ok_or_else(|| error::not_found(format!("contribution {id} not found")))
}
