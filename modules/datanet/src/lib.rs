//! The datanet module: communities pool curated, versioned data.
//!
//! A datanet's contributions are staked (spam costs money), reviewed by accountable
//! curators (a rejection slashes a datanet-set share of the stake, fixed when the
//! contribution was made), challengeable for a window after acceptance (with a bond),
//! and frozen into numbered versions committed by a Merkle root that anyone can check
//! inclusion against offline. Models train on versions; attribution pays through them.
//!
//! Reward weight of an accepted contribution: `quality_bps × new hashes`, where its new
//! hashes are the fingerprint hashes it is the first accepted contribution of the
//! datanet to bring (not held by another, not boilerplate). A fingerprint is every
//! sampled 8-word shingle of the content, so weight measures new content:
//! - splitting a file into k pieces splits its hashes among them (the pieces weigh the
//!   whole at most: shingles across a cut are lost);
//! - repeating content inside a file adds nothing (hashes are unique), and repeating
//!   content already in the datanet adds nothing (its hashes have a holder);
//! - padding adds exactly the new shingles it brings, which curators judge by quality.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]
pub mod component;
pub mod curators;
pub mod error;
pub mod fp_index;
pub mod merkle;
pub mod msg;
pub mod query;
pub mod records;
pub mod state_ext;
pub mod state_key;

/// Fingerprints are pure, computed by clients too: they live in `openledger-types`.
pub use openledger_types::fingerprint;

use openledger_framework::{Address, ModuleAccount};

pub use component::DatanetModule;

/// The module account holding contribution stakes, challenge bonds, curator bonds and
/// curators' unclaimed income.
pub const ESCROW: ModuleAccount = ModuleAccount::new("datanet_escrow");

pub fn escrow() -> Address {
    ESCROW.address()
}

/// The treasury of one datanet: slashed stakes and forfeited bonds are paid here.
pub fn treasury(datanet_id: u64) -> Address {
    Address::module(&format!("datanet_treasury/{datanet_id}"))
}

/// `quality_bps × new_hashes`.
pub fn reward_weight(quality_bps: u32, new_hashes: u64) -> u128 {
    u128::from(quality_bps) * u128::from(new_hashes)
}
