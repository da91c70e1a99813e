//! The model module: models registered against published datanet versions.
//!
//! A model names its artifact (SHA-256 and URI), the datanet versions it was trained
//! on with a weight each (summing to 10,000 bps), the operators allowed to serve it,
//! its price per inference unit and how each fee is split (owner / contributors /
//! datanet owners / protocol). Registering posts an operator bond, held by the module
//! account `model_bonds`. An owner may change the price, the operators or retire the
//! model (final); each change of price or operators bumps `terms_version`, so that a
//! payment can record the terms it was made under — changes never apply
//! retroactively.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]
pub mod component;
pub mod error;
pub mod msg;
pub mod query;
pub mod records;
pub mod state_ext;
pub mod state_key;

#[cfg(test)]
mod tests;

use openledger_framework::{Address, ModuleAccount};

pub use component::ModelModule;

/// The module account holding operator bonds.
pub const BONDS: ModuleAccount = ModuleAccount::new("model_bonds");

pub fn bonds() -> Address {
    BONDS.address()
}

pub const BPS: u64 = 10_000;
