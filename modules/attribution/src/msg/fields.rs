//! Field checks the attribution messages share.
use openledger_framework::{Address, ChainError};

use crate::error;

pub(crate) fn address(s: &str, what: &str) -> Result<Address, ChainError> {
    openledger_framework::msg::address(s, what).map_err(error::invalid_address)
}

/// Ids start at 1: a zero id names nothing.
pub(crate) fn positive_id(id: u64, what: &str) -> Result<(), ChainError> {
    if id == 0 {
        return Err(error::invalid_field(format!("{what} must be positive")));
    }
    Ok(())
}
