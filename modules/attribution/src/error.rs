//! Errors of the attribution module, codespace `attribution`. Codes are stable: never
//! renumber. Retired, never to be reused: 8 (invalid entries), 9 (not in the training
//! set), 10 (invalid fingerprint) and 11 (challenge refused) — operators named entries
//! and could be challenged before receipts made the chain choose the entries itself.
pub const CODESPACE: &str = "attribution";

openledger_framework::module_errors! { CODESPACE;
    invalid_field = 2;
    unauthorized = 3;
    not_found = 4;
    wrong_status = 5;
    fee_too_high = 6;
    window_closed = 7;
    invalid_genesis = 12;
    invalid_address = 13;
    invalid_coins = 14;
    overflow = 15;
    model_retired = 16;
    invalid_receipt = 17;
    bad_receipt_signature = 18;
}
