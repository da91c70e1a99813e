//! Query routing. Each query is one handler, `fn(snapshot, request) -> response`,
//! served over ABCI Query (path = full gRPC method name, data = protobuf request)
//! and over gRPC (`grpc.rs`). This table is the one place paths are named.
use cnidarium::Snapshot;
use futures::future::BoxFuture;
use futures::FutureExt;
use openledger_framework::QueryError;
use prost::Message;

type Route = fn(Snapshot, Vec<u8>) -> BoxFuture<'static, Result<Vec<u8>, QueryError>>;

macro_rules! routes {
    ($path:expr, $( $name:literal => $handler:path : $req:ty ),* $(,)?) => {
        match $path {
            $( $name => Some((|snap: Snapshot, data: Vec<u8>| {
                async move {
                    let req = <$req>::decode(data.as_slice())
                        .map_err(|e| QueryError::invalid_argument(format!("cannot decode request: {e}")))?;
                    let resp = $handler(&snap, req).await?;
                    Ok(resp.encode_to_vec())
                }.boxed()
            }) as Route), )*
            _ => None,
        }
    };
}

/// The handler for an ABCI query path, if there is one.
pub fn route(path: &str) -> Option<Route> {
    use openledger_proto::cosmos::auth::v1beta1 as auth;
    use openledger_proto::cosmos::bank::v1beta1 as bank;
    use openledger_proto::openledger::token::v1 as token;
    use openledger_proto::openledger::datanet::v1 as datanet;
    use openledger_datanet::query as dq;
    use openledger_model::query as mq;
    use openledger_attribution::query as aq;
    use openledger_proto::openledger::attribution::v1 as attribution;
    use openledger_proto::openledger::model::v1 as model;
    use openledger_token::query as tq;
    routes!(path,
        "/cosmos.auth.v1beta1.Query/Account" => tq::account: auth::QueryAccountRequest,
        "/cosmos.bank.v1beta1.Query/Balance" => tq::balance: bank::QueryBalanceRequest,
        "/cosmos.bank.v1beta1.Query/AllBalances" => tq::all_balances: bank::QueryAllBalancesRequest,
        "/cosmos.bank.v1beta1.Query/TotalSupply" => tq::total_supply: bank::QueryTotalSupplyRequest,
        "/cosmos.bank.v1beta1.Query/SupplyOf" => tq::supply_of: bank::QuerySupplyOfRequest,
        "/cosmos.bank.v1beta1.Query/DenomMetadata" => tq::denom_metadata_query: bank::QueryDenomMetadataRequest,
        "/cosmos.auth.v1beta1.Query/Bech32Prefix" => tq::bech32_prefix: auth::Bech32PrefixRequest,
        "/openledger.token.v1.Query/Params" => tq::params: token::QueryParamsRequest,
        "/openledger.token.v1.Query/ModuleAccounts" => tq::module_accounts: token::QueryModuleAccountsRequest,
        "/openledger.token.v1.Query/ValidatorAccounts" => tq::validator_accounts: token::QueryValidatorAccountsRequest,
        "/openledger.token.v1.Query/Supply" => tq::supply: token::QuerySupplyRequest,
        "/openledger.datanet.v1.Query/Params" => dq::params: datanet::QueryParamsRequest,
        "/openledger.datanet.v1.Query/Datanet" => dq::datanet: datanet::QueryDatanetRequest,
        "/openledger.datanet.v1.Query/Datanets" => dq::datanets: datanet::QueryDatanetsRequest,
        "/openledger.datanet.v1.Query/Contribution" => dq::contribution: datanet::QueryContributionRequest,
        "/openledger.datanet.v1.Query/Contributions" => dq::contributions: datanet::QueryContributionsRequest,
        "/openledger.datanet.v1.Query/Version" => dq::version: datanet::QueryVersionRequest,
        "/openledger.datanet.v1.Query/Versions" => dq::versions: datanet::QueryVersionsRequest,
        "/openledger.datanet.v1.Query/Challenge" => dq::challenge: datanet::QueryChallengeRequest,
        "/openledger.datanet.v1.Query/InclusionProof" => dq::inclusion_proof: datanet::QueryInclusionProofRequest,
        "/openledger.model.v1.Query/Params" => mq::params: model::QueryParamsRequest,
        "/openledger.model.v1.Query/Model" => mq::model: model::QueryModelRequest,
        "/openledger.model.v1.Query/Models" => mq::models: model::QueryModelsRequest,
        "/openledger.model.v1.Query/ModelsByDatanet" => mq::models_by_datanet: model::QueryModelsByDatanetRequest,
        "/openledger.model.v1.Query/ModelsByOwner" => mq::models_by_owner: model::QueryModelsByOwnerRequest,
        "/openledger.attribution.v1.Query/Params" => aq::params: attribution::QueryParamsRequest,
        "/openledger.attribution.v1.Query/Inference" => aq::inference: attribution::QueryInferenceRequest,
        "/openledger.attribution.v1.Query/InferencesByModel" => aq::inferences_by_model: attribution::QueryInferencesByModelRequest,
        "/openledger.attribution.v1.Query/InferencesByConsumer" => aq::inferences_by_consumer: attribution::QueryInferencesByConsumerRequest,
        "/openledger.attribution.v1.Query/Claimable" => aq::claimable: attribution::QueryClaimableRequest,
        "/openledger.attribution.v1.Query/ContributionEarnings" => aq::contribution_earnings: attribution::QueryContributionEarningsRequest,
        "/openledger.attribution.v1.Query/ModelStats" => aq::model_stats: attribution::QueryModelStatsRequest,
        "/openledger.attribution.v1.Query/DatanetStats" => aq::datanet_stats: attribution::QueryDatanetStatsRequest,
        "/openledger.attribution.v1.Query/VersionPool" => aq::version_pool: attribution::QueryVersionPoolRequest,
        "/openledger.attribution.v1.Query/Accounting" => aq::accounting: attribution::QueryAccountingRequest,
    )
}

/// Every routed path (for listings and tests).
pub const PATHS: &[&str] = &[
    "/cosmos.auth.v1beta1.Query/Account",
    "/cosmos.bank.v1beta1.Query/Balance",
    "/cosmos.bank.v1beta1.Query/AllBalances",
    "/cosmos.bank.v1beta1.Query/TotalSupply",
    "/cosmos.bank.v1beta1.Query/SupplyOf",
    "/cosmos.bank.v1beta1.Query/DenomMetadata",
    "/cosmos.auth.v1beta1.Query/Bech32Prefix",
    "/openledger.token.v1.Query/Params",
    "/openledger.token.v1.Query/ModuleAccounts",
    "/openledger.token.v1.Query/ValidatorAccounts",
    "/openledger.token.v1.Query/Supply",
    "/openledger.datanet.v1.Query/Params",
    "/openledger.datanet.v1.Query/Datanet",
    "/openledger.datanet.v1.Query/Datanets",
    "/openledger.datanet.v1.Query/Contribution",
    "/openledger.datanet.v1.Query/Contributions",
    "/openledger.datanet.v1.Query/Version",
    "/openledger.datanet.v1.Query/Versions",
    "/openledger.datanet.v1.Query/Challenge",
    "/openledger.datanet.v1.Query/InclusionProof",
    "/openledger.model.v1.Query/Params",
    "/openledger.model.v1.Query/Model",
    "/openledger.model.v1.Query/Models",
    "/openledger.model.v1.Query/ModelsByDatanet",
    "/openledger.model.v1.Query/ModelsByOwner",
    "/openledger.attribution.v1.Query/Params",
    "/openledger.attribution.v1.Query/Inference",
    "/openledger.attribution.v1.Query/InferencesByModel",
    "/openledger.attribution.v1.Query/InferencesByConsumer",
    "/openledger.attribution.v1.Query/Claimable",
    "/openledger.attribution.v1.Query/ContributionEarnings",
    "/openledger.attribution.v1.Query/ModelStats",
    "/openledger.attribution.v1.Query/DatanetStats",
    "/openledger.attribution.v1.Query/VersionPool",
    "/openledger.attribution.v1.Query/Accounting",
];
