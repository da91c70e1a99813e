//! Errors of the model module, codespace `model`. Codes are stable: never renumber.
pub const CODESPACE: &str = "model";

openledger_framework::module_errors! { CODESPACE;
    invalid_field = 2;
    unauthorized = 3;
    not_found = 4;
    invalid_training_set = 5;
    invalid_fee_split = 6;
    insufficient_bond = 7;
    retired = 8;
    invalid_address = 9;
    invalid_coins = 10;
    invalid_genesis = 11;
    invalid_operators = 12;
    below_datanet_terms = 13;
    bond_locked = 14;
}
