//! The token module in the registry: genesis import and export, its queries, and the
//! conservation invariant (supply equals the sum of balances).
use cnidarium::{StateRead, StateWrite};
use futures::StreamExt;
use openledger_framework::amount::parse_amount;
use openledger_framework::{sdk, Address, ChainError, Module, ModuleAccount, QueryRoute};
use openledger_proto::openledger::token::v1::{AccountState, GenesisBalance, GenesisCoin, GenesisState, Params, ValidatorAccount};
use prost::Message;

use crate::msg::TokenMsg;
use crate::state_ext::{TokenRead, TokenWrite};
use crate::{error, fee_collector, state_key, DENOM, FEE_COLLECTOR};
use openledger_framework::StoreRead;

/// OPEN: accounts, balances, supply, transfers.
pub struct TokenModule;

impl Module for TokenModule {
    const NAME: &'static str = "token";
    const MODULE_ACCOUNTS: &'static [ModuleAccount] = &[FEE_COLLECTOR];
    type Msg = TokenMsg;
    type Genesis = GenesisState;

    fn query_routes() -> Vec<QueryRoute> {
        crate::query::routes()
    }

    async fn init_genesis<S: StateWrite>(state: &mut S, genesis: &GenesisState) -> Result<(), ChainError> {
        let params = genesis.params.clone().unwrap_or_else(default_params);
        if params.denom != DENOM {
            return Err(error::invalid_genesis(format!("params.denom must be {DENOM}, got {:?}", params.denom)));
        }
        crate::state_ext::put_token_params(state, &params);
        for b in &genesis.balances {
            let addr = Address::parse(&b.address).map_err(|e| error::invalid_genesis(format!("balance: {e}")))?;
            for coin in &b.coins {
                if coin.denom != DENOM {
                    return Err(error::invalid_genesis(format!("balance of {addr}: unknown denom {:?}", coin.denom)));
                }
                let amount = parse_amount(&coin.amount).map_err(|e| error::invalid_genesis(format!("balance of {addr}: {e}")))?;
                crate::state_ext::mint(state, &addr, amount).await?;
            }
        }
        state.ensure_account(&fee_collector()).await?;
        for v in &genesis.validator_accounts {
            let cons = parse_consensus_address(&v.consensus_address)
                .ok_or_else(|| error::invalid_genesis(format!("validator account: bad consensus address {:?}", v.consensus_address)))?;
            let op = Address::parse(&v.operator_address).map_err(|e| error::invalid_genesis(format!("validator account: {e}")))?;
            crate::state_ext::put_validator_operator(state, &cons, &op);
        }
        Ok(())
    }

    /// The token module's genesis from state: the exact inverse of `init_genesis` (given
    /// the accounts listed first, in `accounts` order). Balances are listed by account number;
    /// supply is not listed, genesis recomputes it as the sum of balances.
    async fn export_genesis<S: StateRead>(state: &S) -> Result<GenesisState, ChainError> {
        let params = state.token_params().await?;
        let mut balances = Vec::new();
        for (addr, st) in accounts(state).await? {
            let amount = crate::state_ext::balance_of(&st)?;
            if amount > 0 {
                balances.push(GenesisBalance {
                    address: addr.to_string(),
                    coins: vec![GenesisCoin { denom: DENOM.to_string(), amount: amount.to_string() }],
                });
            }
        }
        Ok(GenesisState { params: Some(params), balances, validator_accounts: validator_accounts(state).await? })
    }

    async fn check_invariants<S: StateRead>(state: &S) -> Result<(), String> {
        let supply = state.supply().await.map_err(|e| e.message)?;
        let sum = crate::state_ext::sum_of_balances(state).await.map_err(|e| e.message)?;
        if supply != sum {
            return Err(format!("supply {supply} != sum of balances {sum}"));
        }
        Ok(())
    }
}

pub fn default_params() -> Params {
    Params { denom: DENOM.to_string(), send_enabled: true }
}

/// Every account record, in account-number order (the order genesis recreates them in).
/// Account numbers are handed out one by one and accounts are never removed, so they
/// run 0, 1, 2, … without a gap; a store where they do not is refused.
pub async fn accounts<S: StateRead>(state: &S) -> Result<Vec<(Address, AccountState)>, ChainError> {
    let prefix = state_key::account_prefix();
    let mut stream = std::pin::pin!(state.prefix_raw(prefix));
    let mut out = Vec::new();
    while let Some(item) = stream.next().await {
        let (key, value) = item?;
        let addr = key
            .strip_prefix(prefix)
            .and_then(state_key::parse_hex_address)
            .ok_or_else(|| sdk::internal(format!("corrupt account key {key:?}")))?;
        let st = AccountState::decode(value.as_slice()).map_err(|_| sdk::internal(format!("corrupt account record of {addr}")))?;
        out.push((addr, st));
    }
    out.sort_by_key(|(_, st)| st.account_number);
    for (i, (addr, st)) in out.iter().enumerate() {
        if st.account_number != i as u64 {
            return Err(sdk::internal(format!("account numbers are not contiguous: {addr} has {} at place {i}", st.account_number)));
        }
    }
    let next = state.get_u64(state_key::next_account_number()).await?.unwrap_or(0);
    if next != out.len() as u64 {
        return Err(sdk::internal(format!("next account number is {next} but there are {} accounts", out.len())));
    }
    Ok(out)
}

/// Every validator's operator account, by consensus address.
pub async fn validator_accounts<S: StateRead>(state: &S) -> Result<Vec<ValidatorAccount>, ChainError> {
    let prefix = state_key::validator_account_prefix();
    let mut stream = std::pin::pin!(state.prefix_raw(prefix));
    let mut accounts = Vec::new();
    while let Some(item) = stream.next().await {
        let (key, value) = item?;
        let cons = key.strip_prefix(prefix).unwrap_or_default().to_ascii_uppercase();
        let op = Address::from_slice(&value).ok_or_else(|| sdk::internal("corrupt validator account"))?;
        accounts.push(ValidatorAccount { consensus_address: cons, operator_address: op.to_string() });
    }
    Ok(accounts)
}

/// Upper- or lower-case hex of 20 bytes, as CometBFT prints validator addresses.
pub fn parse_consensus_address(s: &str) -> Option<[u8; 20]> {
    crate::state_key::parse_hex_address(&s.to_ascii_lowercase()).map(|a| a.0)
}
