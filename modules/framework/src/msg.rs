//! What every module's message handlers share: where a message runs, and the field
//! checks whose wording should read the same in every module. The checks return the
//! message; each module wraps it in its own codespace's error.
use crate::Address;

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
