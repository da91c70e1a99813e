//! Field checks the attribution messages share.
use crate::error;

openledger_framework::field_checks!(invalid_field: error::invalid_field, invalid_address: error::invalid_address, invalid_coins: error::invalid_coins);
