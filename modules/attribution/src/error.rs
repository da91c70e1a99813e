//! Errors of the attribution module, codespace `attribution`. Codes are stable: never
//! renumber.
pub const CODESPACE: &str = "attribution";

openledger_framework::module_errors! { CODESPACE;
    invalid_field = 2;
    unauthorized = 3;
    not_found = 4;
    wrong_status = 5;
    fee_too_high = 6;
    window_closed = 7;
    invalid_entries = 8;
    not_in_training_set = 9;
    invalid_fingerprint = 10;
    challenge_refused = 11;
    invalid_genesis = 12;
    invalid_address = 13;
    invalid_coins = 14;
    overflow = 15;
    model_retired = 16;
}
