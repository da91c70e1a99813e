//! Proof of attribution: every paid inference settles on chain, and its fee flows back
//! to the data the model was trained on.
//!
//! - **Pay**: the consumer pays `units × price` of an active model into escrow; the
//!   model's terms at that moment (price, fee split, training set, owner) are recorded
//!   with the inference and are what it settles by.
//! - **Receipt**: within the report window the consumer's receipt — the output's hash
//!   and fingerprint, signed with the consumer's account key — settles the inference,
//!   delivered by an operator of the model (`MsgSubmitAttribution`) or by the consumer
//!   (`MsgSubmitReceipt`). The chain chooses the credited contributions itself from the
//!   output (`score.rs`): nobody paid by the inference decides how its fee is split.
//! - **Default**: with no receipt in the window, the inference settles at end of block
//!   (a bounded number per block) by the training weights alone.
//! - **Settle**: owner / datanet owners / protocol shares are `⌊fee × bps / 10⁴⌋`; the
//!   contributors get the rest: the top-scored contributions their share of the total
//!   score as direct credits, and the rest into the reward pools of the training
//!   versions by training weight.
//! - **Pools** (`pools.rs`): a version pool is a reward-per-weight accumulator in
//!   fixed point (× 10¹⁸) with an exact remainder, so paying a version costs the same
//!   whatever its size; a datanet's accumulators are summed by a Fenwick tree, so a
//!   contribution claims `weight × Σ acc − claimed` over every version it is in with
//!   O(log versions) reads, and an invalidated contribution leaves every pool at once.
//! - **Conservation**: `paid_in = paid_out + escrowed + credits + pools` at every height,
//!   with the module accounts holding exactly the last three (`component::check_books`).
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]
pub mod component;
pub mod error;
pub mod msg;
pub mod pools;
pub mod query;
pub mod receipt;
mod records;
pub mod score;
pub mod settle;
pub mod state_ext;
pub mod state_key;

#[cfg(test)]
mod tests;

use openledger_framework::{Address, ModuleAccount};

pub use component::AttributionModule;

/// Fees of inferences not yet settled.
pub const ESCROW: ModuleAccount = ModuleAccount::new("inference_escrow");
/// Direct credits and version pools not yet claimed.
pub const REWARDS: ModuleAccount = ModuleAccount::new("attribution_rewards");

pub fn escrow() -> Address {
    ESCROW.address()
}

pub fn rewards() -> Address {
    REWARDS.address()
}

/// Fixed-point scale of pool accumulators.
pub const SCALE: u128 = 1_000_000_000_000_000_000;
