//! Errors of the token module, codespace `token`. Codes are stable: never renumber.
use openledger_framework::ChainError;

pub const CODESPACE: &str = "token";

pub fn insufficient_funds(msg: impl Into<String>) -> ChainError {
    ChainError::new(CODESPACE, 2, msg)
}
pub fn invalid_coins(msg: impl Into<String>) -> ChainError {
    ChainError::new(CODESPACE, 3, msg)
}
pub fn unknown_denom(msg: impl Into<String>) -> ChainError {
    ChainError::new(CODESPACE, 4, msg)
}
pub fn send_disabled(msg: impl Into<String>) -> ChainError {
    ChainError::new(CODESPACE, 5, msg)
}
pub fn invalid_address(msg: impl Into<String>) -> ChainError {
    ChainError::new(CODESPACE, 6, msg)
}
pub fn overflow(msg: impl Into<String>) -> ChainError {
    ChainError::new(CODESPACE, 7, msg)
}
pub fn invalid_genesis(msg: impl Into<String>) -> ChainError {
    ChainError::new(CODESPACE, 8, msg)
}
/// A plain transfer named a module account (an escrow, pool or bond holding) as its
/// recipient: only its module moves funds into it, so its books always match its balance.
pub fn module_account_recipient(msg: impl Into<String>) -> ChainError {
    ChainError::new(CODESPACE, 9, msg)
}
