//! Query handlers: each a plain function of (state, request). Lists are served from the
//! non-verifiable indexes, in id order (see `openledger_framework::index`).
use cnidarium::StateRead;
use openledger_datanet::state_ext::DatanetRead;
use openledger_framework::index::{page, page_ids};
use openledger_framework::{query_routes, Address, QueryError, QueryRoute};
use openledger_model::state_ext::ModelRead;
use openledger_proto::cosmos::base::query::v1beta1::{PageRequest, PageResponse};
use openledger_proto::openledger::attribution::v1::*;
use prost::Message;

use crate::state_ext::AttributionRead;
use crate::{settle, state_key};

/// The attribution module's queries.
pub fn routes() -> Vec<QueryRoute> {
    query_routes![
        "/openledger.attribution.v1.Query/Params" => params;
        "/openledger.attribution.v1.Query/Inference" => inference;
        "/openledger.attribution.v1.Query/InferencesByModel" => inferences_by_model;
        "/openledger.attribution.v1.Query/InferencesByConsumer" => inferences_by_consumer;
        "/openledger.attribution.v1.Query/Claimable" => claimable;
        "/openledger.attribution.v1.Query/ContributionEarnings" => contribution_earnings;
        "/openledger.attribution.v1.Query/ContributionPools" => contribution_pools;
        "/openledger.attribution.v1.Query/ModelStats" => model_stats;
        "/openledger.attribution.v1.Query/DatanetStats" => datanet_stats;
        "/openledger.attribution.v1.Query/VersionPool" => version_pool;
        "/openledger.attribution.v1.Query/Accounting" => accounting;
    ]
}

fn internal(e: openledger_framework::ChainError) -> QueryError {
    QueryError::internal(e.message)
}

async fn inferences_page<S: StateRead>(
    state: &S,
    prefix: &[u8],
    req: Option<&PageRequest>,
) -> Result<(Vec<Inference>, PageResponse), QueryError> {
    let (ids, resp) = page_ids(state, prefix, req).await?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        out.push(
            state
                .inference(id)
                .await
                .map_err(internal)?
                .ok_or_else(|| QueryError::internal(format!("index names missing inference {id}")))?,
        );
    }
    Ok((out, resp))
}

pub async fn params<S: StateRead>(state: &S, _req: QueryParamsRequest) -> Result<QueryParamsResponse, QueryError> {
    Ok(QueryParamsResponse { params: Some(state.attribution_params().await.map_err(internal)?) })
}

pub async fn inference<S: StateRead>(state: &S, req: QueryInferenceRequest) -> Result<QueryInferenceResponse, QueryError> {
    match state.inference(req.id).await.map_err(internal)? {
        Some(i) => Ok(QueryInferenceResponse { inference: Some(i) }),
        None => Err(QueryError::not_found(format!("inference {} not found", req.id))),
    }
}

pub async fn inferences_by_model<S: StateRead>(
    state: &S,
    req: QueryInferencesByModelRequest,
) -> Result<QueryInferencesByModelResponse, QueryError> {
    if state.model(req.model_id).await.map_err(internal)?.is_none() {
        return Err(QueryError::not_found(format!("model {} not found", req.model_id)));
    }
    let (inferences, pagination) = inferences_page(state, &state_key::ix_model(req.model_id), req.pagination.as_ref()).await?;
    Ok(QueryInferencesByModelResponse { inferences, pagination: Some(pagination) })
}

pub async fn inferences_by_consumer<S: StateRead>(
    state: &S,
    req: QueryInferencesByConsumerRequest,
) -> Result<QueryInferencesByConsumerResponse, QueryError> {
    let consumer = Address::parse_query(&req.consumer, "consumer")?;
    let (inferences, pagination) = inferences_page(state, &state_key::ix_consumer(&consumer), req.pagination.as_ref()).await?;
    Ok(QueryInferencesByConsumerResponse { inferences, pagination: Some(pagination) })
}

/// Paged over the address's contributions (the datanet module's contributor list).
pub async fn claimable<S: StateRead>(state: &S, req: QueryClaimableRequest) -> Result<QueryClaimableResponse, QueryError> {
    let address = Address::parse_query(&req.address, "address")?;
    let (ids, pagination) = page_ids(state, &openledger_datanet::state_key::ix_contributor(&address), req.pagination.as_ref()).await?;
    let mut contributions = Vec::with_capacity(ids.len());
    let mut total: u128 = 0;
    for id in ids {
        let c = state
            .contribution(id)
            .await
            .map_err(internal)?
            .ok_or_else(|| QueryError::internal(format!("index names missing contribution {id}")))?;
        let cl = settle::claimable(state, &c).await.map_err(internal)?;
        let sum = cl.credit.saturating_add(cl.pools);
        total = total.saturating_add(sum);
        contributions.push(ClaimableContribution {
            contribution_id: id,
            datanet_id: c.datanet_id,
            credit: cl.credit.to_string(),
            pools: cl.pools.to_string(),
            total: sum.to_string(),
        });
    }
    Ok(QueryClaimableResponse { contributions, total: total.to_string(), pagination: Some(pagination) })
}

pub async fn contribution_earnings<S: StateRead>(
    state: &S,
    req: QueryContributionEarningsRequest,
) -> Result<QueryContributionEarningsResponse, QueryError> {
    if state.contribution(req.contribution_id).await.map_err(internal)?.is_none() {
        return Err(QueryError::not_found(format!("contribution {} not found", req.contribution_id)));
    }
    let rewards = state.contribution_rewards(req.contribution_id).await.map_err(internal)?;
    let (values, pagination) = page(state, &state_key::ix_history(req.contribution_id), req.pagination.as_ref()).await?;
    let history = values
        .iter()
        .map(|v| EarningRecord::decode(v.as_slice()).map_err(|e| QueryError::internal(format!("corrupt history record: {e}"))))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(QueryContributionEarningsResponse { rewards: Some(rewards), history, pagination: Some(pagination) })
}

/// Pools of a contribution, a page of versions at a time: one pool read per version.
pub async fn contribution_pools<S: StateRead>(
    state: &S,
    req: QueryContributionPoolsRequest,
) -> Result<QueryContributionPoolsResponse, QueryError> {
    const MAX_PAGE: u64 = 100;
    let c = state
        .contribution(req.contribution_id)
        .await
        .map_err(internal)?
        .ok_or_else(|| QueryError::not_found(format!("contribution {} not found", req.contribution_id)))?;
    let r = state.contribution_rewards(c.id).await.map_err(internal)?;
    let weight = crate::state_ext::amount(&c.weight, "weight").map_err(internal)?;
    let num = |s: &str, what: &str| crate::state_ext::amount(s, what).map_err(internal);
    let taken = num(&r.pool_claimed, "pool_claimed")? / crate::SCALE;
    let accrued_total = if r.pools_closed { taken } else { crate::pools::earned(state, &c).await.map_err(internal)? / crate::SCALE };
    let last_version = if c.invalidated_version != 0 { c.invalidated_version.saturating_sub(1) } else { 0 };
    let latest = state.datanet(c.datanet_id).await.map_err(internal)?.map_or(0, |d| d.latest_version);
    let end = if last_version != 0 { last_version.min(latest) } else { latest };
    let p = req.pagination.unwrap_or_default();
    if p.limit > MAX_PAGE {
        return Err(QueryError::invalid_argument(format!("limit {} exceeds the maximum of {MAX_PAGE} pools a page", p.limit)));
    }
    let limit = if p.limit == 0 { 50 } else { p.limit };
    let start = match p.key.len() {
        0 => c.first_version.max(1).saturating_add(p.offset),
        8 => u64::from_be_bytes(p.key.as_slice().try_into().map_err(|_| QueryError::invalid_argument("page key must be 8 bytes"))?),
        _ => return Err(QueryError::invalid_argument("page key must be 8 bytes (the next version)")),
    };
    let mut pools = Vec::new();
    let mut v = start.max(c.first_version);
    while c.first_version != 0 && v <= end && (v - start.max(c.first_version)) < limit {
        if let Some(pool) = state.version_pool(c.datanet_id, v).await.map_err(internal)? {
            let accrued = if r.pools_closed {
                String::new()
            } else {
                let acc = num(&pool.acc, "acc")?;
                (weight.checked_mul(acc).ok_or_else(|| QueryError::internal("accrual overflows"))? / crate::SCALE).to_string()
            };
            pools.push(ContributionPool { version: v, live_weight: pool.total_weight, paid_in: pool.paid_in, accrued });
        }
        v += 1;
    }
    let next_key = if c.first_version != 0 && v <= end { v.to_be_bytes().to_vec() } else { vec![] };
    Ok(QueryContributionPoolsResponse {
        weight: c.weight,
        first_version: c.first_version,
        last_version,
        pools_closed: r.pools_closed,
        accrued_total: accrued_total.to_string(),
        taken: taken.to_string(),
        pools,
        pagination: Some(PageResponse { next_key, total: 0 }),
    })
}

pub async fn model_stats<S: StateRead>(state: &S, req: QueryModelStatsRequest) -> Result<QueryModelStatsResponse, QueryError> {
    if state.model(req.model_id).await.map_err(internal)?.is_none() {
        return Err(QueryError::not_found(format!("model {} not found", req.model_id)));
    }
    Ok(QueryModelStatsResponse { stats: Some(state.model_stats(req.model_id).await.map_err(internal)?) })
}

pub async fn datanet_stats<S: StateRead>(state: &S, req: QueryDatanetStatsRequest) -> Result<QueryDatanetStatsResponse, QueryError> {
    if state.datanet(req.datanet_id).await.map_err(internal)?.is_none() {
        return Err(QueryError::not_found(format!("datanet {} not found", req.datanet_id)));
    }
    Ok(QueryDatanetStatsResponse { stats: Some(state.datanet_stats(req.datanet_id).await.map_err(internal)?) })
}

pub async fn version_pool<S: StateRead>(state: &S, req: QueryVersionPoolRequest) -> Result<QueryVersionPoolResponse, QueryError> {
    match state.version_pool(req.datanet_id, req.version).await.map_err(internal)? {
        Some(p) => Ok(QueryVersionPoolResponse { pool: Some(p) }),
        None => {
            Err(QueryError::not_found(format!("version {} of datanet {} has no reward pool (never paid)", req.version, req.datanet_id)))
        }
    }
}

pub async fn accounting<S: StateRead>(state: &S, _req: QueryAccountingRequest) -> Result<QueryAccountingResponse, QueryError> {
    Ok(QueryAccountingResponse { accounting: Some(state.books().await.map_err(internal)?.to_proto()) })
}
