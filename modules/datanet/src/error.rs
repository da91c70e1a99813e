//! Errors of the datanet module, codespace `datanet`. Codes are stable: never renumber.
use openledger_framework::ChainError;

pub const CODESPACE: &str = "datanet";

macro_rules! errors {
    ($($name:ident = $code:expr;)*) => {
        $(pub fn $name(msg: impl Into<String>) -> ChainError { ChainError::new(CODESPACE, $code, msg) })*
    };
}

errors! {
    invalid_field = 2;
    unauthorized = 3;
    not_found = 4;
    duplicate_content = 5;
    insufficient_stake = 6;
    wrong_status = 7;
    invalid_fingerprint = 8;
    not_allowed = 9;
    window_closed = 10;
    nothing_to_publish = 11;
    invalid_genesis = 12;
    invalid_address = 13;
    invalid_coins = 14;
    challenge_open = 15;
}
