//! Every storage key of the token module. Nobody else formats these strings.
use openledger_framework::Address;

pub fn params() -> &'static str {
    "token/params"
}

pub fn supply() -> &'static str {
    "token/supply"
}

pub fn next_account_number() -> &'static str {
    "token/next_account_number"
}

pub fn account(addr: &Address) -> String {
    format!("token/account/{}", hex(addr.as_bytes()))
}

/// Every account's record (number, sequence, key and balance) lives under this prefix.
pub fn account_prefix() -> &'static str {
    "token/account/"
}

pub fn validator_account(consensus_address: &[u8; 20]) -> String {
    format!("token/validator_account/{}", hex(consensus_address))
}

pub fn validator_account_prefix() -> &'static str {
    "token/validator_account/"
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

/// Inverse of the hex in a balance key's suffix (used when iterating balances).
pub fn parse_hex_address(s: &str) -> Option<Address> {
    if s.len() != 40 {
        return None;
    }
    let mut out = [0u8; 20];
    for (i, chunk) in s.as_bytes().chunks(2).enumerate() {
        let hi = (chunk[0] as char).to_digit(16)?;
        let lo = (chunk[1] as char).to_digit(16)?;
        out[i] = (hi * 16 + lo) as u8;
    }
    Some(Address(out))
}
