//! Account addresses: 20 bytes, shown as bech32 with the `open` prefix.
//!
//! secp256k1 keys map to RIPEMD160(SHA256(compressed pubkey)), as in the Cosmos SDK;
//! ed25519 keys map to the first 20 bytes of SHA256(pubkey). Module accounts map to
//! the first 20 bytes of SHA256("module" || name), so no key can own them.

use std::fmt;
use std::str::FromStr;

use ripemd::Ripemd160;
use sha2::{Digest, Sha256};

/// The human-readable part of every account address on this chain.
pub const ACCOUNT_PREFIX: &str = "open";

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Address(pub [u8; 20]);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AddressError {
    #[error("invalid bech32 address {0:?}: {1}")]
    Bech32(String, String),
    #[error("address {0:?} has prefix {1:?}, expected {ACCOUNT_PREFIX:?}")]
    WrongPrefix(String, String),
    #[error("address {0:?} decodes to {1} bytes, expected 20")]
    WrongLength(String, usize),
}

impl Address {
    pub fn from_secp256k1_pubkey(compressed: &[u8]) -> Self {
        let sha = Sha256::digest(compressed);
        let rip = Ripemd160::digest(sha);
        let mut out = [0u8; 20];
        out.copy_from_slice(&rip);
        Address(out)
    }

    pub fn from_ed25519_pubkey(key: &[u8]) -> Self {
        let sha = Sha256::digest(key);
        let mut out = [0u8; 20];
        out.copy_from_slice(&sha[..20]);
        Address(out)
    }

    /// The account of a module (fee collector, escrow, treasuries): derived from its name.
    pub fn module(name: &str) -> Self {
        let mut h = Sha256::new();
        h.update(b"module");
        h.update(name.as_bytes());
        let sha = h.finalize();
        let mut out = [0u8; 20];
        out.copy_from_slice(&sha[..20]);
        Address(out)
    }

    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        <[u8; 20]>::try_from(bytes).ok().map(Address)
    }

    pub fn as_bytes(&self) -> &[u8; 20] {
        &self.0
    }

    /// Parse an address given in a query: a bad one is an `InvalidArgument`.
    pub fn parse_query(s: &str, what: &str) -> Result<Self, crate::error::QueryError> {
        if s.is_empty() {
            return Err(crate::error::QueryError::invalid_argument(format!("{what}: empty address string is not allowed")));
        }
        Address::parse(s).map_err(|e| crate::error::QueryError::invalid_argument(format!("invalid {what} address: {e}")))
    }

    /// Parse a bech32 `open1…` address (the only textual form accepted on chain).
    pub fn parse(s: &str) -> Result<Self, AddressError> {
        let (hrp, data) = bech32::decode(s).map_err(|e| AddressError::Bech32(s.to_string(), e.to_string()))?;
        if hrp.as_str() != ACCOUNT_PREFIX {
            return Err(AddressError::WrongPrefix(s.to_string(), hrp.to_string()));
        }
        Address::from_slice(&data).ok_or(AddressError::WrongLength(s.to_string(), data.len()))
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let buf = encode_bech32(&self.0);
        // Every byte written by encode_bech32 is ASCII from the charset or the prefix.
        f.write_str(std::str::from_utf8(&buf).map_err(|_| fmt::Error)?)
    }
}

/// bech32 (BIP-173) of 20 bytes under `ACCOUNT_PREFIX`, without allocating: addresses
/// are formatted for every event of every tx, so this is on the block's hot path.
/// Tested against the `bech32` crate.
fn encode_bech32(data: &[u8; 20]) -> [u8; BECH32_LEN] {
    const CHARSET: &[u8; 32] = b"qpzry9x8gf2tvdw0s3jn54khce6mua7l";
    const GEN: [u32; 5] = [0x3b6a_57b2, 0x2650_8e6d, 0x1ea1_19fa, 0x3d42_33dd, 0x2a14_62b3];
    fn step(chk: u32, v: u8) -> u32 {
        let top = chk >> 25;
        let mut chk = ((chk & 0x01ff_ffff) << 5) ^ u32::from(v);
        for (i, g) in GEN.iter().enumerate() {
            if (top >> i) & 1 == 1 {
                chk ^= g;
            }
        }
        chk
    }
    let hrp = ACCOUNT_PREFIX.as_bytes();
    let mut chk = 1u32;
    for c in hrp {
        chk = step(chk, c >> 5);
    }
    chk = step(chk, 0);
    for c in hrp {
        chk = step(chk, c & 31);
    }
    let mut out = [0u8; BECH32_LEN];
    out[..hrp.len()].copy_from_slice(hrp);
    out[hrp.len()] = b'1';
    let mut pos = hrp.len() + 1;
    // 160 bits regroup into exactly 32 five-bit groups: no padding.
    let (mut acc, mut bits) = (0u32, 0u32);
    for b in data {
        acc = (acc << 8) | u32::from(*b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            let v = ((acc >> bits) & 31) as u8;
            chk = step(chk, v);
            out[pos] = CHARSET[usize::from(v)];
            pos += 1;
        }
    }
    for _ in 0..6 {
        chk = step(chk, 0);
    }
    chk ^= 1;
    for i in 0..6 {
        out[pos + i] = CHARSET[((chk >> (5 * (5 - i))) & 31) as usize];
    }
    out
}

/// "open" + "1" + 32 data characters + 6 checksum characters.
const BECH32_LEN: usize = ACCOUNT_PREFIX.len() + 1 + 32 + 6;

impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Address({self})")
    }
}

impl FromStr for Address {
    type Err = AddressError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Address::parse(s)
    }
}

#[cfg(test)]
fn hex_lower(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use bech32::{Bech32, Hrp};

    #[test]
    fn hand_written_bech32_matches_the_bech32_crate() {
        let hrp = Hrp::parse_unchecked(ACCOUNT_PREFIX);
        let mut bytes = [0u8; 20];
        for seed in 0u32..2000 {
            for (i, b) in bytes.iter_mut().enumerate() {
                *b = (seed.wrapping_mul(2_654_435_761).rotate_left(i as u32 * 3) >> (i % 24)) as u8 ^ (i as u8).wrapping_mul(seed as u8);
            }
            let ours = Address(bytes).to_string();
            assert_eq!(ours, bech32::encode::<Bech32>(hrp, &bytes).unwrap());
            assert_eq!(Address::parse(&ours).unwrap(), Address(bytes));
        }
        assert_eq!(Address([0; 20]).to_string(), bech32::encode::<Bech32>(hrp, &[0; 20]).unwrap());
        assert_eq!(Address([0xff; 20]).to_string(), bech32::encode::<Bech32>(hrp, &[0xff; 20]).unwrap());
    }

    #[test]
    fn bech32_round_trip_and_prefix_check() {
        let a = Address([7u8; 20]);
        let s = a.to_string();
        assert!(s.starts_with("open1"));
        assert_eq!(Address::parse(&s).unwrap(), a);
        let cosmos = bech32::encode::<Bech32>(Hrp::parse_unchecked("cosmos"), &[7u8; 20]).unwrap();
        assert!(matches!(Address::parse(&cosmos), Err(AddressError::WrongPrefix(..))));
        assert!(matches!(Address::parse("open1xyz"), Err(AddressError::Bech32(..))));
        let short = bech32::encode::<Bech32>(Hrp::parse_unchecked("open"), &[7u8; 19]).unwrap();
        assert!(matches!(Address::parse(&short), Err(AddressError::WrongLength(_, 19))));
    }

    #[test]
    fn secp256k1_address_matches_cosmos_derivation() {
        // Known vector: the Cosmos SDK derives this address (with prefix cosmos) from this key.
        let pk = [
            0x02, 0x79, 0xbe, 0x66, 0x7e, 0xf9, 0xdc, 0xbb, 0xac, 0x55, 0xa0, 0x62, 0x95, 0xce, 0x87, 0x0b, 0x07, 0x02, 0x9b, 0xfc, 0xdb,
            0x2d, 0xce, 0x28, 0xd9, 0x59, 0xf2, 0x81, 0x5b, 0x16, 0xf8, 0x17, 0x98,
        ];
        let a = Address::from_secp256k1_pubkey(&pk);
        // RIPEMD160(SHA256(G compressed)) = 751e76e8199196d454941c45d1b3a323f1433bd6
        assert_eq!(hex_lower(&a.0), "751e76e8199196d454941c45d1b3a323f1433bd6");
    }
}
