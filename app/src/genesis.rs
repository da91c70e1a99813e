//! Genesis `app_state`: one JSON object per module, in the Cosmos snake_case shape.
//!
//! ```json
//! { "auth":  { "params": { … }, "accounts": [ { "address": "open1…" } ] },
//!   "token": { "params": { "denom": "uopen", "send_enabled": true },
//!              "balances": [ { "address": "open1…", "coins": [ { "denom": "uopen", "amount": "1000" } ] } ],
//!              "validator_accounts": [ { "consensus_address": "HEX", "operator_address": "open1…" } ] } }
//! ```
use cnidarium::StateWrite;
use openledger_framework::{sdk, Address, ChainError};
use openledger_proto::openledger::auth::v1::{GenesisAccount, GenesisPubKey, GenesisState as AuthGenesis, Params as AuthParams};
use openledger_proto::openledger::datanet::v1::GenesisState as DatanetGenesis;
use openledger_proto::openledger::model::v1::GenesisState as ModelGenesis;
use openledger_proto::openledger::attribution::v1::GenesisState as AttributionGenesis;
use openledger_proto::openledger::token::v1::GenesisState as TokenGenesis;
use cnidarium::StateRead;
use openledger_token::state_ext::TokenWrite;
use prost::Message;
use serde::{Deserialize, Serialize};

use crate::ante::{AnteRead, AnteWrite};

const SECP256K1_PUBKEY: &str = "/cosmos.crypto.secp256k1.PubKey";
const ED25519_PUBKEY: &str = "/cosmos.crypto.ed25519.PubKey";

/// A genesis key as the `Any` an account records (both key types are `{bytes key = 1}`).
fn pub_key_any(addr: &Address, k: &GenesisPubKey) -> Result<prost_types::Any, ChainError> {
    use base64::Engine;
    let bad = |why: String| sdk::invalid_pubkey(format!("genesis account {addr}: {why}"));
    let key = base64::engine::general_purpose::STANDARD.decode(&k.key).map_err(|e| bad(format!("pub_key.key is not base64: {e}")))?;
    let len_ok = match k.type_url.as_str() {
        SECP256K1_PUBKEY => key.len() == 33,
        ED25519_PUBKEY => key.len() == 32,
        other => return Err(bad(format!("unsupported pub_key type {other:?}"))),
    };
    if !len_ok {
        return Err(bad(format!("a {} key of {} bytes", k.type_url, key.len())));
    }
    let value = cosmos_sdk_proto::cosmos::crypto::secp256k1::PubKey { key }.encode_to_vec();
    Ok(prost_types::Any { type_url: k.type_url.clone(), value })
}

/// Inverse of `pub_key_any`; refuses a recorded key it could not write back identically.
fn genesis_pub_key(addr: &Address, any: &prost_types::Any) -> Result<GenesisPubKey, ChainError> {
    use base64::Engine;
    let inner = cosmos_sdk_proto::cosmos::crypto::secp256k1::PubKey::decode(any.value.as_slice())
        .map_err(|_| sdk::internal(format!("account {addr}: undecodable key")))?;
    let k = GenesisPubKey { type_url: any.type_url.clone(), key: base64::engine::general_purpose::STANDARD.encode(&inner.key) };
    if pub_key_any(addr, &k).ok().as_ref() != Some(any) {
        return Err(sdk::internal(format!("account {addr}: key of type {:?} does not round-trip through genesis", any.type_url)));
    }
    Ok(k)
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AppState {
    #[serde(default)]
    pub auth: AuthGenesis,
    #[serde(default)]
    pub token: TokenGenesis,
    #[serde(default)]
    pub datanet: DatanetGenesis,
    #[serde(default)]
    pub model: ModelGenesis,
    #[serde(default)]
    pub attribution: AttributionGenesis,
}

/// The gas schedule follows the Cosmos SDK's defaults, so fees estimated by standard
/// clients are in the right range.
pub fn default_auth_params() -> AuthParams {
    AuthParams {
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
    }
}

impl AppState {
    pub fn from_json(bytes: &[u8]) -> Result<AppState, ChainError> {
        if bytes.is_empty() {
            return Ok(AppState::default());
        }
        serde_json::from_slice(bytes).map_err(|e| sdk::invalid_request(format!("genesis app_state: {e}")))
    }
}

pub async fn init_genesis<S: StateWrite>(state: &mut S, app_state: &AppState) -> Result<(), ChainError> {
    let params = app_state.auth.params.unwrap_or_else(default_auth_params);
    if params.max_tx_bytes == 0 || params.max_tx_gas == 0 || params.max_msgs_per_tx == 0 {
        return Err(sdk::invalid_request("genesis auth params: limits must be positive"));
    }
    state.put_auth_params(&params);
    // Listed accounts first, so their account numbers follow the genesis order.
    for a in &app_state.auth.accounts {
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
    openledger_token::component::init_genesis(state, &app_state.token).await?;
    openledger_datanet::component::init_genesis(state, &app_state.datanet).await?;
    // After datanet: every model's training set names published datanet versions.
    openledger_model::component::init_genesis(state, &app_state.model).await?;
    openledger_attribution::component::init_genesis(state, &app_state.attribution).await
}

/// The whole `app_state` from committed state: the exact inverse of `init_genesis`. A
/// chain started from it holds the same state under every module key (the per-block
/// `app/block_*` keys are rewritten by its first block). Every account is listed, by
/// account number, with its sequence and key, so numbers and nonces carry over.
pub async fn export_app_state<S: StateRead>(state: &S) -> Result<AppState, ChainError> {
    let mut accounts = Vec::new();
    for (addr, st) in openledger_token::component::accounts(state).await? {
        accounts.push(GenesisAccount {
            address: addr.to_string(),
            account_number: st.account_number,
            sequence: st.sequence,
            pub_key: st.pub_key.as_ref().map(|k| genesis_pub_key(&addr, k)).transpose()?,
        });
    }
    Ok(AppState {
        auth: AuthGenesis { params: Some(state.auth_params().await?), accounts },
        token: openledger_token::component::export_genesis(state).await?,
        datanet: openledger_datanet::component::export_genesis(state).await?,
        model: openledger_model::component::export_genesis(state).await?,
        attribution: openledger_attribution::component::export_genesis(state).await?,
    })
}
