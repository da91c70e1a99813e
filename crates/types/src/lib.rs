//! The pure domain types and functions the chain and its clients share: addresses,
//! amounts and the denomination, errors with stable codes, content fingerprints and the
//! version tree's hashing and proof check. No storage: the CLI links this crate, not
//! RocksDB.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]
pub mod address;
pub mod amount;
pub mod canonical;
pub mod commit;
pub mod denom;
pub mod error;
pub mod fingerprint;
pub mod keys;
pub mod merkle;
pub mod receipt;
pub mod type_url;

pub use address::Address;
pub use amount::Amount;
pub use denom::{parse_uopen, uopen_coin, DENOM};
pub use error::{sdk, ChainError, QueryError};
pub use keys::{verify_signature, PubKey};
