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
use openledger_proto::openledger::auth::v1::{GenesisState as AuthGenesis, Params as AuthParams};
use openledger_proto::openledger::datanet::v1::GenesisState as DatanetGenesis;
use openledger_proto::openledger::model::v1::GenesisState as ModelGenesis;
use openledger_proto::openledger::attribution::v1::GenesisState as AttributionGenesis;
use openledger_proto::openledger::token::v1::GenesisState as TokenGenesis;
use openledger_token::state_ext::TokenWrite;
use serde::{Deserialize, Serialize};

use crate::ante::AnteWrite;

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
        state.ensure_account(&addr).await?;
    }
    openledger_token::component::init_genesis(state, &app_state.token).await?;
    openledger_datanet::component::init_genesis(state, &app_state.datanet).await?;
    // After datanet: every model's training set names published datanet versions.
    openledger_model::component::init_genesis(state, &app_state.model).await?;
    openledger_attribution::component::init_genesis(state, &app_state.attribution).await
}
