//! The token module owns OPEN: accounts (number, sequence, public key), balances,
//! total supply, module accounts and the payment of fees to validators. Other modules
//! move tokens only through `state_ext::TokenWrite`.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]
pub mod component;
pub mod error;
pub mod events;
pub mod msg_server;
pub mod query;
pub mod state_ext;
pub mod state_key;

use openledger_framework::Address;

/// The denomination and its coin fields are pure, shared with clients: defined once in
/// `openledger-types`.
pub use openledger_types::{parse_uopen, uopen_coin, DENOM};

/// Module accounts the token module knows of (name → address derived from the name).
pub const MODULE_ACCOUNTS: &[&str] = &["fee_collector", "datanet_escrow", "model_bonds", "inference_escrow", "attribution_rewards"];

pub fn fee_collector() -> Address {
    Address::module("fee_collector")
}
