//! Query handlers: each a plain function of (state, request). Lists are served from
//! the non-verifiable indexes, in model id order (see `openledger_framework::index`).
use cnidarium::StateRead;
use openledger_framework::index::page_ids;
use openledger_framework::{query_routes, Address, QueryError, QueryRoute};
use openledger_proto::cosmos::base::query::v1beta1::{PageRequest, PageResponse};
use openledger_proto::openledger::model::v1::*;

use crate::state_ext::ModelRead;
use crate::state_key;

/// The model module's queries.
pub fn routes() -> Vec<QueryRoute> {
    query_routes![
        "/openledger.model.v1.Query/Params" => params;
        "/openledger.model.v1.Query/Model" => model;
        "/openledger.model.v1.Query/Models" => models;
        "/openledger.model.v1.Query/ModelsByDatanet" => models_by_datanet;
        "/openledger.model.v1.Query/ModelsByOwner" => models_by_owner;
    ]
}

/// One page of the list `prefix`, each entry's value being a big-endian model id.
async fn models_page<S: StateRead>(state: &S, prefix: &[u8], req: Option<&PageRequest>) -> Result<(Vec<Model>, PageResponse), QueryError> {
    let (ids, resp) = page_ids(state, prefix, req).await?;
    let mut models = Vec::with_capacity(ids.len());
    for id in ids {
        let m = state.model(id).await?.ok_or_else(|| QueryError::internal(format!("model index names model {id}, which is missing")))?;
        models.push(m);
    }
    Ok((models, resp))
}

pub async fn params<S: StateRead>(state: &S, _req: QueryParamsRequest) -> Result<QueryParamsResponse, QueryError> {
    Ok(QueryParamsResponse { params: Some(state.model_params().await?) })
}

pub async fn model<S: StateRead>(state: &S, req: QueryModelRequest) -> Result<QueryModelResponse, QueryError> {
    match state.model(req.id).await? {
        Some(m) => Ok(QueryModelResponse { model: Some(m) }),
        None => Err(QueryError::not_found(format!("model {} not found", req.id))),
    }
}

pub async fn models<S: StateRead>(state: &S, req: QueryModelsRequest) -> Result<QueryModelsResponse, QueryError> {
    let (models, pagination) = models_page(state, &state_key::ix_all(), req.pagination.as_ref()).await?;
    Ok(QueryModelsResponse { models, pagination: Some(pagination) })
}

pub async fn models_by_datanet<S: StateRead>(
    state: &S,
    req: QueryModelsByDatanetRequest,
) -> Result<QueryModelsByDatanetResponse, QueryError> {
    if req.datanet_id == 0 {
        return Err(QueryError::invalid_argument("datanet_id must be positive"));
    }
    let (models, pagination) = models_page(state, &state_key::ix_datanet(req.datanet_id), req.pagination.as_ref()).await?;
    Ok(QueryModelsByDatanetResponse { models, pagination: Some(pagination) })
}

pub async fn models_by_owner<S: StateRead>(state: &S, req: QueryModelsByOwnerRequest) -> Result<QueryModelsByOwnerResponse, QueryError> {
    let owner = Address::parse_query(&req.owner, "owner")?;
    let (models, pagination) = models_page(state, &state_key::ix_owner(&owner), req.pagination.as_ref()).await?;
    Ok(QueryModelsByOwnerResponse { models, pagination: Some(pagination) })
}
