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

/// The base denomination: 1 OPEN = 10^6 uopen.
pub const DENOM: &str = "uopen";

/// Module accounts the token module knows of (name → address derived from the name).
pub const MODULE_ACCOUNTS: &[&str] = &["fee_collector", "datanet_escrow", "model_bonds", "inference_escrow", "attribution_rewards"];

pub fn fee_collector() -> Address {
    Address::module("fee_collector")
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
