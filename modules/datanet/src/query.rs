//! Query handlers of the datanet module: each a plain function of (state, request),
//! served over ABCI Query and gRPC from committed snapshots.
use cnidarium::StateRead;
use openledger_framework::index::page_ids;
use openledger_framework::{query_routes, Address, QueryError, QueryRoute};
use openledger_proto::openledger::datanet::v1::*;

use crate::state_ext::DatanetRead;
use crate::{merkle, state_key};

/// The datanet module's queries.
pub fn routes() -> Vec<QueryRoute> {
    query_routes![
        "/openledger.datanet.v1.Query/Params" => params;
        "/openledger.datanet.v1.Query/Datanet" => datanet;
        "/openledger.datanet.v1.Query/Datanets" => datanets;
        "/openledger.datanet.v1.Query/Contribution" => contribution;
        "/openledger.datanet.v1.Query/Contributions" => contributions;
        "/openledger.datanet.v1.Query/Version" => version;
        "/openledger.datanet.v1.Query/Versions" => versions;
        "/openledger.datanet.v1.Query/Challenge" => challenge;
        "/openledger.datanet.v1.Query/InclusionProof" => inclusion_proof;
        "/openledger.datanet.v1.Query/Curators" => curators;
    ]
}

fn internal(e: openledger_framework::ChainError) -> QueryError {
    QueryError::internal(e.message)
}

pub async fn params<S: StateRead>(state: &S, _req: QueryParamsRequest) -> Result<QueryParamsResponse, QueryError> {
    Ok(QueryParamsResponse { params: Some(state.datanet_params().await.map_err(internal)?) })
}

pub async fn datanet<S: StateRead>(state: &S, req: QueryDatanetRequest) -> Result<QueryDatanetResponse, QueryError> {
    match state.datanet(req.id).await.map_err(internal)? {
        Some(d) => Ok(QueryDatanetResponse { datanet: Some(d) }),
        None => Err(QueryError::not_found(format!("datanet {} not found", req.id))),
    }
}

pub async fn datanets<S: StateRead>(state: &S, req: QueryDatanetsRequest) -> Result<QueryDatanetsResponse, QueryError> {
    let prefix = match (req.owner.is_empty(), req.tag.is_empty()) {
        (true, true) => state_key::ix_all(),
        (false, true) => state_key::ix_owner(&Address::parse_query(&req.owner, "owner")?),
        (true, false) => state_key::ix_tag(&req.tag),
        (false, false) => return Err(QueryError::invalid_argument("filter by owner or by tag, not both")),
    };
    let (ids, pagination) = page_ids(state, &prefix, req.pagination.as_ref()).await?;
    let mut datanets = Vec::with_capacity(ids.len());
    for id in ids {
        datanets.push(
            state.datanet(id).await.map_err(internal)?.ok_or_else(|| QueryError::internal(format!("index names missing datanet {id}")))?,
        );
    }
    Ok(QueryDatanetsResponse { datanets, pagination: Some(pagination) })
}

pub async fn contribution<S: StateRead>(state: &S, req: QueryContributionRequest) -> Result<QueryContributionResponse, QueryError> {
    match state.contribution(req.id).await.map_err(internal)? {
        Some(c) => Ok(QueryContributionResponse { contribution: Some(c) }),
        None => Err(QueryError::not_found(format!("contribution {} not found", req.id))),
    }
}

pub async fn contributions<S: StateRead>(state: &S, req: QueryContributionsRequest) -> Result<QueryContributionsResponse, QueryError> {
    let prefix = match (req.datanet_id, req.contributor.is_empty(), req.status) {
        (0, false, 0) => state_key::ix_contributor(&Address::parse_query(&req.contributor, "contributor")?),
        (0, false, _) => return Err(QueryError::invalid_argument("a status filter needs a datanet_id")),
        (0, true, _) => return Err(QueryError::invalid_argument("give a datanet_id or a contributor")),
        (_, false, _) => return Err(QueryError::invalid_argument("give a datanet_id or a contributor, not both")),
        (dn, true, 0) => state_key::ix_datanet_contributions(dn),
        (dn, true, status) => {
            if ContributionStatus::try_from(status).is_err() {
                return Err(QueryError::invalid_argument(format!("unknown status {status}")));
            }
            state_key::ix_datanet_status(dn, status)
        }
    };
    if req.datanet_id != 0 && state.datanet(req.datanet_id).await.map_err(internal)?.is_none() {
        return Err(QueryError::not_found(format!("datanet {} not found", req.datanet_id)));
    }
    let (ids, pagination) = page_ids(state, &prefix, req.pagination.as_ref()).await?;
    let mut contributions = Vec::with_capacity(ids.len());
    for id in ids {
        contributions.push(
            state
                .contribution(id)
                .await
                .map_err(internal)?
                .ok_or_else(|| QueryError::internal(format!("index names missing contribution {id}")))?,
        );
    }
    Ok(QueryContributionsResponse { contributions, pagination: Some(pagination) })
}

pub async fn version<S: StateRead>(state: &S, req: QueryVersionRequest) -> Result<QueryVersionResponse, QueryError> {
    match state.datanet_version(req.datanet_id, req.version).await.map_err(internal)? {
        Some(v) => Ok(QueryVersionResponse { version: Some(v) }),
        None => Err(QueryError::not_found(format!("datanet {} has no version {}", req.datanet_id, req.version))),
    }
}

pub async fn versions<S: StateRead>(state: &S, req: QueryVersionsRequest) -> Result<QueryVersionsResponse, QueryError> {
    if state.datanet(req.datanet_id).await.map_err(internal)?.is_none() {
        return Err(QueryError::not_found(format!("datanet {} not found", req.datanet_id)));
    }
    let (numbers, pagination) = page_ids(state, &state_key::ix_versions(req.datanet_id), req.pagination.as_ref()).await?;
    let mut versions = Vec::with_capacity(numbers.len());
    for n in numbers {
        versions.push(
            state
                .datanet_version(req.datanet_id, n)
                .await
                .map_err(internal)?
                .ok_or_else(|| QueryError::internal("index names a missing version"))?,
        );
    }
    Ok(QueryVersionsResponse { versions, pagination: Some(pagination) })
}

pub async fn challenge<S: StateRead>(state: &S, req: QueryChallengeRequest) -> Result<QueryChallengeResponse, QueryError> {
    match state.challenge(req.id).await.map_err(internal)? {
        Some(c) => Ok(QueryChallengeResponse { challenge: Some(c) }),
        None => Err(QueryError::not_found(format!("challenge {} not found", req.id))),
    }
}

/// A datanet's curator bonds, earnings brought up to date.
pub async fn curators<S: StateRead>(state: &S, req: QueryCuratorsRequest) -> Result<QueryCuratorsResponse, QueryError> {
    let d = state
        .datanet(req.datanet_id)
        .await
        .map_err(internal)?
        .ok_or_else(|| QueryError::not_found(format!("datanet {} not found", req.datanet_id)))?;
    let pool = crate::curators::pool(state, d.id).await.map_err(internal)?;
    let mut list = crate::curators::bonds_of(state, d.id).await.map_err(internal)?;
    for b in &mut list {
        crate::curators::settle_earnings(&pool, b).map_err(internal)?;
    }
    Ok(QueryCuratorsResponse {
        curators: list,
        curators_bps: d.curators_bps,
        curator_bonded: pool.bonded,
        min_curator_bond: state.datanet_params().await.map_err(internal)?.min_curator_bond,
    })
}

pub async fn inclusion_proof<S: StateRead>(state: &S, req: QueryInclusionProofRequest) -> Result<QueryInclusionProofResponse, QueryError> {
    let v = state
        .datanet_version(req.datanet_id, req.version)
        .await
        .map_err(internal)?
        .ok_or_else(|| QueryError::not_found(format!("datanet {} has no version {}", req.datanet_id, req.version)))?;
    let c = state
        .contribution(req.contribution_id)
        .await
        .map_err(internal)?
        .ok_or_else(|| QueryError::not_found(format!("contribution {} not found", req.contribution_id)))?;
    let in_tree = c.datanet_id == v.datanet_id
        && (c.status == ContributionStatus::Accepted as i32 || c.status == ContributionStatus::Invalidated as i32)
        && c.first_version != 0
        && c.first_version <= v.version;
    if !in_tree {
        return Err(QueryError::not_found(format!("contribution {} is not in datanet {} version {}", c.id, v.datanet_id, v.version)));
    }
    let weight = if c.invalidated_version != 0 && v.version >= c.invalidated_version { "0".to_string() } else { c.weight.clone() };
    let siblings = merkle::siblings_at(state, v.datanet_id, c.position, v.version).await.map_err(internal)?;
    Ok(QueryInclusionProofResponse {
        proof: Some(InclusionProof {
            datanet_id: v.datanet_id,
            version: v.version,
            contribution_id: c.id,
            content_hash: c.content_hash,
            weight,
            position: c.position,
            siblings: siblings.iter().map(|s| s.to_vec()).collect(),
            root: v.merkle_root,
        }),
    })
}
