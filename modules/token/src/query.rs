//! Query handlers: each a plain function of (state, request), listed once in `routes`;
//! the app serves that table over ABCI Query, gRPC and REST from committed snapshots.
use cnidarium::StateRead;
use openledger_framework::{query_routes, Address, QueryCtx, QueryError, QueryRoute};
use openledger_proto::cosmos::auth::v1beta1::{
    BaseAccount, Bech32PrefixRequest, Bech32PrefixResponse, ModuleAccount, QueryAccountRequest, QueryAccountResponse,
};
use openledger_proto::cosmos::bank::v1beta1::{
    DenomUnit, Metadata, QueryAllBalancesRequest, QueryAllBalancesResponse, QueryBalanceRequest, QueryBalanceResponse,
    QueryDenomMetadataRequest, QueryDenomMetadataResponse, QuerySupplyOfRequest, QuerySupplyOfResponse, QueryTotalSupplyRequest,
    QueryTotalSupplyResponse,
};
use openledger_proto::cosmos::base::query::v1beta1::PageResponse;
use openledger_proto::cosmos::base::v1beta1::Coin;
use openledger_proto::openledger::token::v1::{
    ModuleAccountInfo, QueryModuleAccountsRequest, QueryModuleAccountsResponse, QueryParamsRequest, QueryParamsResponse,
    QuerySupplyRequest, QuerySupplyResponse, QueryValidatorAccountsRequest, QueryValidatorAccountsResponse,
};
use prost::Message;

use crate::state_ext::TokenRead;
use crate::DENOM;

/// The token module's queries: the Cosmos auth and bank ones wallets call, and its own.
pub fn routes() -> Vec<QueryRoute> {
    query_routes![
        "/cosmos.auth.v1beta1.Query/Account" => @ctx account, rest "/cosmos/auth/v1beta1/accounts/{address}";
        "/cosmos.auth.v1beta1.Query/Bech32Prefix" => bech32_prefix, rest "/cosmos/auth/v1beta1/bech32";
        "/cosmos.bank.v1beta1.Query/Balance" => balance, rest "/cosmos/bank/v1beta1/balances/{address}/by_denom";
        "/cosmos.bank.v1beta1.Query/AllBalances" => all_balances, rest "/cosmos/bank/v1beta1/balances/{address}";
        "/cosmos.bank.v1beta1.Query/TotalSupply" => total_supply, rest "/cosmos/bank/v1beta1/supply";
        "/cosmos.bank.v1beta1.Query/SupplyOf" => supply_of, rest "/cosmos/bank/v1beta1/supply/by_denom";
        "/cosmos.bank.v1beta1.Query/DenomMetadata" => denom_metadata_query, rest "/cosmos/bank/v1beta1/denoms_metadata/{denom}";
        "/openledger.token.v1.Query/Params" => params;
        "/openledger.token.v1.Query/ModuleAccounts" => @ctx module_accounts;
        "/openledger.token.v1.Query/ValidatorAccounts" => validator_accounts;
        "/openledger.token.v1.Query/Supply" => supply;
    ]
}

fn any(type_url: &str, msg: &impl Message) -> prost_types::Any {
    prost_types::Any { type_url: type_url.to_string(), value: msg.encode_to_vec() }
}

pub async fn account(ctx: &QueryCtx, req: QueryAccountRequest) -> Result<QueryAccountResponse, QueryError> {
    let state = &ctx.snapshot;
    let addr = Address::parse_query(&req.address, "account")?;
    if let Some(name) = ctx.module_accounts.iter().find(|m| m.address() == addr).map(|m| m.name()) {
        let base =
            state.account(&addr).await?.unwrap_or(BaseAccount { address: addr.to_string(), pub_key: None, account_number: 0, sequence: 0 });
        let module = ModuleAccount { base_account: Some(base), name: name.to_string(), permissions: vec![] };
        return Ok(QueryAccountResponse { account: Some(any("/cosmos.auth.v1beta1.ModuleAccount", &module)) });
    }
    match state.account(&addr).await? {
        Some(acct) => Ok(QueryAccountResponse { account: Some(any("/cosmos.auth.v1beta1.BaseAccount", &acct)) }),
        None => Err(QueryError::not_found(format!("account {addr} not found"))),
    }
}

pub async fn balance<S: StateRead>(state: &S, req: QueryBalanceRequest) -> Result<QueryBalanceResponse, QueryError> {
    let addr = Address::parse_query(&req.address, "account")?;
    if req.denom.is_empty() {
        return Err(QueryError::invalid_argument("invalid denom: empty"));
    }
    let amount = if req.denom == DENOM { state.balance(&addr).await? } else { 0 };
    Ok(QueryBalanceResponse { balance: Some(Coin { denom: req.denom, amount: amount.to_string() }) })
}

pub async fn all_balances<S: StateRead>(state: &S, req: QueryAllBalancesRequest) -> Result<QueryAllBalancesResponse, QueryError> {
    let addr = Address::parse_query(&req.address, "account")?;
    let amount = state.balance(&addr).await?;
    let balances = if amount == 0 { vec![] } else { vec![Coin { denom: DENOM.to_string(), amount: amount.to_string() }] };
    let total = balances.len() as u64;
    Ok(QueryAllBalancesResponse { balances, pagination: Some(PageResponse { next_key: vec![], total }) })
}

pub async fn total_supply<S: StateRead>(state: &S, _req: QueryTotalSupplyRequest) -> Result<QueryTotalSupplyResponse, QueryError> {
    let supply = state.supply().await?;
    Ok(QueryTotalSupplyResponse {
        supply: vec![Coin { denom: DENOM.to_string(), amount: supply.to_string() }],
        pagination: Some(PageResponse { next_key: vec![], total: 1 }),
    })
}

pub async fn supply_of<S: StateRead>(state: &S, req: QuerySupplyOfRequest) -> Result<QuerySupplyOfResponse, QueryError> {
    if req.denom.is_empty() {
        return Err(QueryError::invalid_argument("invalid denom: empty"));
    }
    // The chain has one denom; any other has supply 0, as in the Cosmos SDK.
    let amount = if req.denom == DENOM { state.supply().await? } else { 0 };
    Ok(QuerySupplyOfResponse { amount: Some(Coin { denom: req.denom, amount: amount.to_string() }) })
}

/// OPEN: base `uopen`, displayed as `open` with 6 decimals.
pub fn denom_metadata() -> Metadata {
    Metadata {
        description: "OPEN, the token of the OpenLedger chain: gas, inference fees and stakes".into(),
        denom_units: vec![
            DenomUnit { denom: DENOM.into(), exponent: 0, aliases: vec!["microopen".into()] },
            DenomUnit { denom: "open".into(), exponent: 6, aliases: vec![] },
        ],
        base: DENOM.into(),
        display: "open".into(),
        name: "OpenLedger".into(),
        symbol: "OPEN".into(),
        uri: String::new(),
        uri_hash: String::new(),
    }
}

pub async fn denom_metadata_query<S: StateRead>(
    _state: &S,
    req: QueryDenomMetadataRequest,
) -> Result<QueryDenomMetadataResponse, QueryError> {
    if req.denom != DENOM {
        return Err(QueryError::not_found(format!("client metadata for denom {}", req.denom)));
    }
    Ok(QueryDenomMetadataResponse { metadata: Some(denom_metadata()) })
}

pub async fn bech32_prefix<S: StateRead>(_state: &S, _req: Bech32PrefixRequest) -> Result<Bech32PrefixResponse, QueryError> {
    Ok(Bech32PrefixResponse { bech32_prefix: openledger_framework::address::ACCOUNT_PREFIX.to_string() })
}

pub async fn params<S: StateRead>(state: &S, _req: QueryParamsRequest) -> Result<QueryParamsResponse, QueryError> {
    Ok(QueryParamsResponse { params: Some(state.token_params().await?) })
}

pub async fn supply<S: StateRead>(state: &S, _req: QuerySupplyRequest) -> Result<QuerySupplyResponse, QueryError> {
    Ok(QuerySupplyResponse { denom: DENOM.to_string(), amount: state.supply().await?.to_string() })
}

pub async fn module_accounts(ctx: &QueryCtx, _req: QueryModuleAccountsRequest) -> Result<QueryModuleAccountsResponse, QueryError> {
    let state = &ctx.snapshot;
    let mut accounts = Vec::with_capacity(ctx.module_accounts.len());
    for m in ctx.module_accounts {
        let (name, addr) = (m.name(), m.address());
        accounts.push(ModuleAccountInfo {
            name: name.to_string(),
            address: addr.to_string(),
            balance: state.balance(&addr).await?.to_string(),
        });
    }
    Ok(QueryModuleAccountsResponse { accounts })
}

pub async fn validator_accounts<S: StateRead>(
    state: &S,
    _req: QueryValidatorAccountsRequest,
) -> Result<QueryValidatorAccountsResponse, QueryError> {
    Ok(QueryValidatorAccountsResponse { accounts: crate::component::validator_accounts(state).await? })
}
