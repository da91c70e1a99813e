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

/// The base denomination: 1 OPEN = 10^6 uopen.
pub const DENOM: &str = "uopen";

pub use component::TokenModule;

/// The module account block fees are collected in until they are paid out.
pub const FEE_COLLECTOR: ModuleAccount = ModuleAccount::new("fee_collector");

pub fn fee_collector() -> Address {
    FEE_COLLECTOR.address()
}

/// The uopen amount of a coin field (any other denom is refused).
pub fn parse_uopen(coin: Option<&openledger_proto::cosmos::base::v1beta1::Coin>, what: &str) -> Result<openledger_framework::Amount, String> {
    let Some(c) = coin else { return Err(format!("{what} is required")) };
    if c.denom != DENOM {
        return Err(format!("{what} must be in {DENOM}, got {:?}", c.denom));
    }
    openledger_framework::amount::parse_amount(&c.amount).map_err(|e| format!("{what}: {e}"))
}

/// `amount` as a uopen coin.
pub fn uopen_coin(amount: openledger_framework::Amount) -> openledger_proto::cosmos::base::v1beta1::Coin {
    openledger_proto::cosmos::base::v1beta1::Coin { denom: DENOM.to_string(), amount: amount.to_string() }
}
