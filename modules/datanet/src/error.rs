//! Errors of the datanet module, codespace `datanet`. Codes are stable: never renumber.
pub const CODESPACE: &str = "datanet";

openledger_framework::module_errors! { CODESPACE;
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
    near_duplicate = 16;
    nothing_new = 17;
    not_bonded = 18;
    already_voted = 19;
    nothing_to_claim = 20;
}
