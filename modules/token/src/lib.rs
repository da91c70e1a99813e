//! The token module owns OPEN: accounts (number, sequence, public key), balances,
//! total supply and the validators' fee accounts. Other modules move tokens only
//! through `state_ext::TokenWrite`.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]
pub mod component;
pub mod error;
pub mod events;
pub mod msg;
pub mod query;
pub mod state_ext;
pub mod state_key;

use openledger_framework::{Address, ModuleAccount};

/// The denomination and its coin fields are pure, shared with clients: defined once in
/// `openledger-types`.
pub use openledger_types::{parse_uopen, uopen_coin, DENOM};

pub use component::TokenModule;

/// The module account block fees are collected in until they are paid out.
pub const FEE_COLLECTOR: ModuleAccount = ModuleAccount::new("fee_collector");

pub fn fee_collector() -> Address {
    FEE_COLLECTOR.address()
}
