//! The auth module owns what every transaction is checked against before its messages
//! run: the auth params (size, memo and message limits, the gas schedule, the gas limit
//! of one tx), and the genesis account list (numbers, sequences and keys, so an export
//! carries them over). The ante step in the app reads these params through
//! `AuthRead`; nothing else writes them.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]
use std::future::Future;

use cnidarium::{StateRead, StateWrite};
use cosmos_sdk_proto::cosmos::crypto::{ed25519, secp256k1};
use openledger_framework::gas::GasCosts;
use openledger_framework::module::is_type_url;
use openledger_framework::{sdk, Address, ChainError, Module, NoMsg, StoreRead, StoreWrite};
use openledger_proto::openledger::auth::v1::{GenesisAccount, GenesisPubKey, GenesisState, Params};
use openledger_token::state_ext::TokenWrite;
use prost::Message;

pub mod state_key {
    //! Every storage key of the auth module.
    pub fn params() -> &'static str {
        "auth/params"
    }
}

pub trait AuthRead: StateRead {
    fn auth_params(&self) -> impl Future<Output = Result<Params, ChainError>> + Send {
        async move { self.get_proto::<Params>(state_key::params()).await?.ok_or_else(|| sdk::internal("auth params missing")) }
    }
}
impl<S: StateRead + ?Sized> AuthRead for S {}

trait AuthWrite: StateWrite {
    fn put_auth_params(&mut self, p: &Params) {
        self.put_proto(state_key::params().to_string(), p);
    }
}
impl<S: StateWrite + ?Sized> AuthWrite for S {}

/// The gas schedule of state access, from the auth params.
pub fn gas_costs(p: &Params) -> GasCosts {
    GasCosts {
        read_flat: p.read_cost_flat,
        read_per_byte: p.read_cost_per_byte,
        write_flat: p.write_cost_flat,
        write_per_byte: p.write_cost_per_byte,
    }
}

/// The gas schedule follows the Cosmos SDK's defaults, so fees estimated by standard
/// clients are in the right range.
pub fn default_params() -> Params {
    Params {
        max_tx_bytes: 64 * 1024,
        max_memo_chars: 256,
        max_msgs_per_tx: 64,
        tx_size_cost_per_byte: 10,
        sig_verify_cost_secp256k1: 1000,
        sig_verify_cost_ed25519: 590,
        read_cost_flat: 1000,
        read_cost_per_byte: 3,
        write_cost_flat: 2000,
        write_cost_per_byte: 30,
        max_tx_gas: 10_000_000,
        max_block_gas: DEFAULT_MAX_BLOCK_GAS,
        min_gas_price: DEFAULT_MIN_GAS_PRICE.to_string(),
    }
}

/// The default block gas limit: 100 transactions at the largest gas limit, or 10,000
/// transfers at the loader's 100,000 gas each.
pub const DEFAULT_MAX_BLOCK_GAS: u64 = 1_000_000_000;

/// The default consensus minimum gas price (a validator's mempool default, 0.025uopen,
/// is 25 times higher).
pub const DEFAULT_MIN_GAS_PRICE: &str = "0.001uopen";

/// The consensus minimum gas price in 10^-18 uopen per gas.
pub fn min_gas_price_atto(p: &Params) -> Result<u128, ChainError> {
    openledger_framework::amount::parse_gas_price(&p.min_gas_price, openledger_token::DENOM)
        .map_err(|e| sdk::invalid_request(format!("auth params: min_gas_price {:?}: {e}", p.min_gas_price)))
}

/// Genesis params with the fields an older genesis leaves unset filled with their
/// defaults, checked.
fn checked_params(mut params: Params) -> Result<Params, ChainError> {
    if params.max_block_gas == 0 {
        params.max_block_gas = DEFAULT_MAX_BLOCK_GAS;
    }
    if params.min_gas_price.is_empty() {
        params.min_gas_price = DEFAULT_MIN_GAS_PRICE.to_string();
    }
    if params.max_tx_bytes == 0 || params.max_tx_gas == 0 || params.max_msgs_per_tx == 0 {
        return Err(sdk::invalid_request("genesis auth params: limits must be positive"));
    }
    if params.max_block_gas < params.max_tx_gas || params.max_block_gas > i64::MAX as u64 {
        return Err(sdk::invalid_request(format!(
            "genesis auth params: max_block_gas {} must be at least max_tx_gas {} (and fit CometBFT's int64)",
            params.max_block_gas, params.max_tx_gas
        )));
    }
    min_gas_price_atto(&params)?;
    Ok(params)
}

/// A genesis key as the `Any` an account records (both key types are `{bytes key = 1}`).
fn pub_key_any(addr: &Address, k: &GenesisPubKey) -> Result<prost_types::Any, ChainError> {
    use base64::Engine;
    let bad = |why: String| sdk::invalid_pubkey(format!("genesis account {addr}: {why}"));
    let key = base64::engine::general_purpose::STANDARD.decode(&k.key).map_err(|e| bad(format!("pub_key.key is not base64: {e}")))?;
    let len_ok = if is_type_url::<secp256k1::PubKey>(&k.type_url) {
        key.len() == 33
    } else if is_type_url::<ed25519::PubKey>(&k.type_url) {
        key.len() == 32
    } else {
        return Err(bad(format!("unsupported pub_key type {:?}", k.type_url)));
    };
    if !len_ok {
        return Err(bad(format!("a {} key of {} bytes", k.type_url, key.len())));
    }
    let value = secp256k1::PubKey { key }.encode_to_vec();
    Ok(prost_types::Any { type_url: k.type_url.clone(), value })
}

/// Inverse of `pub_key_any`; refuses a recorded key it could not write back identically.
fn genesis_pub_key(addr: &Address, any: &prost_types::Any) -> Result<GenesisPubKey, ChainError> {
    use base64::Engine;
    let inner = secp256k1::PubKey::decode(any.value.as_slice()).map_err(|_| sdk::internal(format!("account {addr}: undecodable key")))?;
    let k = GenesisPubKey { type_url: any.type_url.clone(), key: base64::engine::general_purpose::STANDARD.encode(&inner.key) };
    if pub_key_any(addr, &k).ok().as_ref() != Some(any) {
        return Err(sdk::internal(format!("account {addr}: key of type {:?} does not round-trip through genesis", any.type_url)));
    }
    Ok(k)
}

pub struct AuthModule;

impl Module for AuthModule {
    const NAME: &'static str = "auth";
    type Msg = NoMsg;
    type Genesis = GenesisState;

    /// The params, then the listed accounts first of all, so their account numbers
    /// follow the genesis order.
    async fn init_genesis<S: StateWrite>(state: &mut S, genesis: &GenesisState) -> Result<(), ChainError> {
        let params = checked_params(genesis.params.clone().unwrap_or_else(default_params))?;
        state.put_auth_params(&params);
        for a in &genesis.accounts {
            let addr = Address::parse(&a.address).map_err(|e| sdk::invalid_address(format!("genesis account: {e}")))?;
            let mut account = state.ensure_account(&addr).await?;
            if a.account_number != 0 && a.account_number != account.account_number {
                return Err(sdk::invalid_request(format!(
                    "genesis account {addr} has account_number {} but is number {} in the list: list accounts by account number, without gaps or repeats",
                    a.account_number, account.account_number
                )));
            }
            if a.sequence != 0 || a.pub_key.is_some() {
                account.sequence = a.sequence;
                account.pub_key = a.pub_key.as_ref().map(|k| pub_key_any(&addr, k)).transpose()?;
                state.set_account_auth(&account, &addr).await?;
            }
        }
        Ok(())
    }

    /// Every account is listed, by account number, with its sequence and key, so
    /// numbers and nonces carry over to a chain started from the export.
    async fn export_genesis<S: StateRead>(state: &S) -> Result<GenesisState, ChainError> {
        let mut accounts = Vec::new();
        for (addr, st) in openledger_token::component::accounts(state).await? {
            accounts.push(GenesisAccount {
                address: addr.to_string(),
                account_number: st.account_number,
                sequence: st.sequence,
                pub_key: st.pub_key.as_ref().map(|k| genesis_pub_key(&addr, k)).transpose()?,
            });
        }
        Ok(GenesisState { params: Some(state.auth_params().await?), accounts })
    }
}
