//! What every module's message handlers share: where a message runs, and the field
//! checks whose wording should read the same in every module. The checks return the
//! message; `field_checks!` gives a module the same checks in its own codespace.
pub use openledger_proto::cosmos::base::v1beta1::Coin;

use crate::{Address, Amount};

pub use crate::module::MsgCtx;

/// A bech32 address field.
pub fn address(s: &str, what: &str) -> Result<Address, String> {
    if s.is_empty() {
        return Err(format!("{what} address is empty"));
    }
    Address::parse(s).map_err(|e| format!("{what}: {e}"))
}

/// A text field of at most `max` characters (non-blank when `required`).
pub fn text(value: &str, what: &str, max: u32, required: bool) -> Result<(), String> {
    if required && value.trim().is_empty() {
        return Err(format!("{what} is required"));
    }
    let n = value.chars().count();
    if n > max as usize {
        return Err(format!("{what} is {n} characters, the maximum is {max}"));
    }
    Ok(())
}

/// A text field that must not be blank (its length is checked against params later).
pub fn required(value: &str, what: &str) -> Result<(), String> {
    if value.trim().is_empty() {
        return Err(format!("{what} is required"));
    }
    Ok(())
}

/// Ids start at 1: a zero id names nothing.
pub fn positive_id(id: u64, what: &str) -> Result<(), String> {
    if id == 0 {
        return Err(format!("{what} must be positive"));
    }
    Ok(())
}

/// A uopen amount from an optional coin.
pub fn uopen(coin: Option<&Coin>, what: &str) -> Result<Amount, String> {
    openledger_types::parse_uopen(coin, what)
}

/// The shared field checks in one module's codespace: `field_checks!(invalid_field:
/// error::invalid_field, invalid_address: error::invalid_address, invalid_coins:
/// error::invalid_coins)` defines `address`, `text`, `required`, `positive_id` and
/// `uopen` in the calling module, each the check above with its message in that
/// module's error.
#[macro_export]
macro_rules! field_checks {
    (invalid_field: $field:path, invalid_address: $addr:path, invalid_coins: $coins:path $(,)?) => {
        #[allow(dead_code)]
        pub(crate) fn address(s: &str, what: &str) -> Result<$crate::Address, $crate::ChainError> {
            $crate::msg::address(s, what).map_err($addr)
        }
        #[allow(dead_code)]
        pub(crate) fn text(value: &str, what: &str, max: u32, required: bool) -> Result<(), $crate::ChainError> {
            $crate::msg::text(value, what, max, required).map_err($field)
        }
        #[allow(dead_code)]
        pub(crate) fn required(value: &str, what: &str) -> Result<(), $crate::ChainError> {
            $crate::msg::required(value, what).map_err($field)
        }
        #[allow(dead_code)]
        pub(crate) fn positive_id(id: u64, what: &str) -> Result<(), $crate::ChainError> {
            $crate::msg::positive_id(id, what).map_err($field)
        }
        #[allow(dead_code)]
        pub(crate) fn uopen(coin: Option<&$crate::msg::Coin>, what: &str) -> Result<$crate::Amount, $crate::ChainError> {
            $crate::msg::uopen(coin, what).map_err($coins)
        }
    };
}
