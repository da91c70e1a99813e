//! Genesis `app_state`: one JSON object per module, in the Cosmos snake_case shape,
//! its sections and their order given by the registry.
//!
//! ```json
//! { "auth":  { "params": { … }, "accounts": [ { "address": "open1…" } ] },
//!   "token": { "params": { "denom": "uopen", "send_enabled": true },
//!              "balances": [ { "address": "open1…", "coins": [ { "denom": "uopen", "amount": "1000" } ] } ],
//!              "validator_accounts": [ { "consensus_address": "HEX", "operator_address": "open1…" } ] },
//!   "datanet": { … }, "model": { … }, "attribution": { … }, "fees": {} }
//! ```
use cnidarium::{StateRead, StateWrite};
use openledger_framework::{sdk, ChainError};

pub use crate::registry::AppState;
pub use openledger_auth::default_params as default_auth_params;

impl AppState {
    pub fn from_json(bytes: &[u8]) -> Result<AppState, ChainError> {
        if bytes.is_empty() {
            return Ok(AppState::default());
        }
        serde_json::from_slice(bytes).map_err(|e| sdk::invalid_request(format!("genesis app_state: {e}")))
    }
}

/// Every module's genesis, in registry order.
pub async fn init_genesis<S: StateWrite>(state: &mut S, app_state: &AppState) -> Result<(), ChainError> {
    crate::registry::init_genesis(state, app_state).await
}

/// The whole `app_state` from committed state: the exact inverse of `init_genesis`. A
/// chain started from it holds the same state under every module key (the per-block
/// `app/block_*` keys are rewritten by its first block).
pub async fn export_app_state<S: StateRead>(state: &S) -> Result<AppState, ChainError> {
    crate::registry::export_genesis(state).await
}
