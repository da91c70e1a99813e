//! The gRPC server (default 127.0.0.1:9090): every query handler of `query.rs`, served
//! from committed snapshots, plus server reflection. The request metadata
//! `x-cosmos-block-height` selects a height, as in the Cosmos SDK.
use std::net::SocketAddr;

use openledger_framework::error::QueryCode;
use openledger_framework::QueryError;
use openledger_proto::cosmos::auth::v1beta1 as auth;
use openledger_proto::cosmos::bank::v1beta1 as bank;
use openledger_proto::openledger::token::v1 as token;
use openledger_datanet::query as dq;
use openledger_model::query as mq;
use openledger_attribution::query as aq;
use openledger_proto::openledger::attribution::v1 as attribution;
use openledger_proto::openledger::model::v1 as model;
use openledger_proto::openledger::datanet::v1 as datanet;
use openledger_token::query as tq;
use tonic::{Request, Response, Status};

use crate::App;

pub const HEIGHT_HEADER: &str = "x-cosmos-block-height";

pub(crate) fn status(e: QueryError) -> Status {
    let code = match e.code {
        QueryCode::InvalidArgument => tonic::Code::InvalidArgument,
        QueryCode::NotFound => tonic::Code::NotFound,
        QueryCode::Internal => tonic::Code::Internal,
        QueryCode::Unimplemented => tonic::Code::Unimplemented,
        QueryCode::FailedPrecondition => tonic::Code::FailedPrecondition,
    };
    Status::new(code, e.message)
}

/// The height a request selects with `x-cosmos-block-height` (gRPC metadata or an HTTP
/// header; absent: 0, the latest).
pub(crate) fn height_from(value: Option<&[u8]>) -> Result<u64, QueryError> {
    match value {
        None => Ok(0),
        Some(v) => std::str::from_utf8(v)
            .ok()
            .and_then(|s| s.parse::<u64>().ok())
            .ok_or_else(|| QueryError::invalid_argument(format!("{HEIGHT_HEADER} must be a non-negative integer"))),
    }
}

#[derive(Clone)]
pub struct Queries {
    app: App,
}

impl Queries {
    #[allow(clippy::result_large_err)] // tonic::Status is what every handler returns
    fn snapshot<T>(&self, req: &Request<T>) -> Result<(cnidarium::Snapshot, u64), Status> {
        let height = height_from(req.metadata().get(HEIGHT_HEADER).map(|v| v.as_bytes())).map_err(status)?;
        let snap = self.app.snapshot_at(height).map_err(status)?;
        let v = snap.version();
        Ok((snap, v))
    }
}

/// One gRPC method = one handler call on the selected snapshot; the answer carries
/// the height it was read at.
macro_rules! grpc_service {
    ($service:path { $( $method:ident => $handler:path : $req:ty => $resp:ty ),* $(,)? }) => {
        #[tonic::async_trait]
        impl $service for Queries {
            $(
                async fn $method(&self, request: Request<$req>) -> Result<Response<$resp>, Status> {
                    let (snap, height) = self.snapshot(&request)?;
                    let resp = $handler(&snap, request.into_inner()).await.map_err(status)?;
                    let mut r = Response::new(resp);
                    if let Ok(v) = height.to_string().parse() {
                        r.metadata_mut().insert(HEIGHT_HEADER, v);
                    }
                    Ok(r)
                }
            )*
        }
    };
}

grpc_service!(auth::query_server::Query {
    account => tq::account: auth::QueryAccountRequest => auth::QueryAccountResponse,
    bech32_prefix => tq::bech32_prefix: auth::Bech32PrefixRequest => auth::Bech32PrefixResponse,
});

grpc_service!(bank::query_server::Query {
    balance => tq::balance: bank::QueryBalanceRequest => bank::QueryBalanceResponse,
    all_balances => tq::all_balances: bank::QueryAllBalancesRequest => bank::QueryAllBalancesResponse,
    total_supply => tq::total_supply: bank::QueryTotalSupplyRequest => bank::QueryTotalSupplyResponse,
    supply_of => tq::supply_of: bank::QuerySupplyOfRequest => bank::QuerySupplyOfResponse,
    denom_metadata => tq::denom_metadata_query: bank::QueryDenomMetadataRequest => bank::QueryDenomMetadataResponse,
});

grpc_service!(token::query_server::Query {
    params => tq::params: token::QueryParamsRequest => token::QueryParamsResponse,
    module_accounts => tq::module_accounts: token::QueryModuleAccountsRequest => token::QueryModuleAccountsResponse,
    validator_accounts => tq::validator_accounts: token::QueryValidatorAccountsRequest => token::QueryValidatorAccountsResponse,
    supply => tq::supply: token::QuerySupplyRequest => token::QuerySupplyResponse,
});

grpc_service!(datanet::query_server::Query {
    params => dq::params: datanet::QueryParamsRequest => datanet::QueryParamsResponse,
    datanet => dq::datanet: datanet::QueryDatanetRequest => datanet::QueryDatanetResponse,
    datanets => dq::datanets: datanet::QueryDatanetsRequest => datanet::QueryDatanetsResponse,
    contribution => dq::contribution: datanet::QueryContributionRequest => datanet::QueryContributionResponse,
    contributions => dq::contributions: datanet::QueryContributionsRequest => datanet::QueryContributionsResponse,
    version => dq::version: datanet::QueryVersionRequest => datanet::QueryVersionResponse,
    versions => dq::versions: datanet::QueryVersionsRequest => datanet::QueryVersionsResponse,
    challenge => dq::challenge: datanet::QueryChallengeRequest => datanet::QueryChallengeResponse,
    inclusion_proof => dq::inclusion_proof: datanet::QueryInclusionProofRequest => datanet::QueryInclusionProofResponse,
});

grpc_service!(model::query_server::Query {
    params => mq::params: model::QueryParamsRequest => model::QueryParamsResponse,
    model => mq::model: model::QueryModelRequest => model::QueryModelResponse,
    models => mq::models: model::QueryModelsRequest => model::QueryModelsResponse,
    models_by_datanet => mq::models_by_datanet: model::QueryModelsByDatanetRequest => model::QueryModelsByDatanetResponse,
    models_by_owner => mq::models_by_owner: model::QueryModelsByOwnerRequest => model::QueryModelsByOwnerResponse,
});

grpc_service!(attribution::query_server::Query {
    params => aq::params: attribution::QueryParamsRequest => attribution::QueryParamsResponse,
    inference => aq::inference: attribution::QueryInferenceRequest => attribution::QueryInferenceResponse,
    inferences_by_model => aq::inferences_by_model: attribution::QueryInferencesByModelRequest => attribution::QueryInferencesByModelResponse,
    inferences_by_consumer => aq::inferences_by_consumer: attribution::QueryInferencesByConsumerRequest => attribution::QueryInferencesByConsumerResponse,
    claimable => aq::claimable: attribution::QueryClaimableRequest => attribution::QueryClaimableResponse,
    contribution_earnings => aq::contribution_earnings: attribution::QueryContributionEarningsRequest => attribution::QueryContributionEarningsResponse,
    model_stats => aq::model_stats: attribution::QueryModelStatsRequest => attribution::QueryModelStatsResponse,
    datanet_stats => aq::datanet_stats: attribution::QueryDatanetStatsRequest => attribution::QueryDatanetStatsResponse,
    version_pool => aq::version_pool: attribution::QueryVersionPoolRequest => attribution::QueryVersionPoolResponse,
    accounting => aq::accounting: attribution::QueryAccountingRequest => attribution::QueryAccountingResponse,
});

/// Serve until `shutdown` resolves, without a CometBFT RPC behind it (the Cosmos tx and
/// node services that need one answer UNAVAILABLE; Simulate and ABCI queries work).
pub async fn serve(app: App, addr: SocketAddr, shutdown: impl std::future::Future<Output = ()> + Send) -> anyhow::Result<()> {
    serve_with(app, addr, None, shutdown).await
}

/// Serve until `shutdown` resolves; `cometbft_rpc` is the node's CometBFT RPC URL, which
/// the Cosmos tx service (broadcast, tx lookup and search) and the node service use.
pub async fn serve_with(app: App, addr: SocketAddr, cometbft_rpc: Option<String>, shutdown: impl std::future::Future<Output = ()> + Send) -> anyhow::Result<()> {
    let cosmos = crate::cosmos_services::CosmosServices::new(app.clone(), cometbft_rpc);
    let q = Queries { app };
    let (closing_tx, closing_rx) = tokio::sync::watch::channel(false);
    let reflection_v1 = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(openledger_proto::FILE_DESCRIPTOR_SET)
        .build_v1()?;
    let reflection_v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(openledger_proto::FILE_DESCRIPTOR_SET)
        .build_v1alpha()?;
    tonic::transport::Server::builder()
        .add_service(auth::query_server::QueryServer::new(q.clone()))
        .add_service(bank::query_server::QueryServer::new(q.clone()))
        .add_service(token::query_server::QueryServer::new(q.clone()))
        .add_service(datanet::query_server::QueryServer::new(q.clone()))
        .add_service(model::query_server::QueryServer::new(q.clone()))
        .add_service(attribution::query_server::QueryServer::new(q.clone()))
        .add_service(crate::stream::BlockStream::new(q.app.storage().clone(), closing_rx, q.app.settings().stream_max_subscribers).server())
        .add_service(cosmos_sdk_proto::cosmos::tx::v1beta1::service_server::ServiceServer::new(cosmos.clone()))
        .add_service(cosmos_sdk_proto::cosmos::base::tendermint::v1beta1::service_server::ServiceServer::new(cosmos.clone()))
        .add_service(openledger_proto::cosmos::consensus::v1::query_server::QueryServer::new(cosmos))
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .serve_with_shutdown(addr, async move {
            shutdown.await;
            // Block streams follow the tip forever; end them so the shutdown completes.
            let _ = closing_tx.send(true);
        })
        .await?;
    Ok(())
}
