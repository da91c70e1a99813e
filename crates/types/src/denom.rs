//! The chain's one denomination and its coin fields.
use openledger_proto::cosmos::base::v1beta1::Coin;

use crate::amount::{parse_amount, Amount};

/// The base denomination: 1 OPEN = 10^6 uopen.
pub const DENOM: &str = "uopen";

/// The uopen amount of a coin field (any other denom is refused).
pub fn parse_uopen(coin: Option<&Coin>, what: &str) -> Result<Amount, String> {
    let Some(c) = coin else { return Err(format!("{what} is required")) };
    if c.denom != DENOM {
        return Err(format!("{what} must be in {DENOM}, got {:?}", c.denom));
    }
    parse_amount(&c.amount).map_err(|e| format!("{what}: {e}"))
}

/// `amount` as a uopen coin.
pub fn uopen_coin(amount: Amount) -> Coin {
    Coin { denom: DENOM.to_string(), amount: amount.to_string() }
}
