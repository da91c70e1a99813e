//! The module framework shared by every OpenLedger state-machine module: addresses,
//! the amount type, errors with stable codes, deterministic gas, typed store access
//! and the event builder. Modules depend on this crate, never on each other's keys.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]
pub mod address;
pub mod amount;
pub mod error;
pub mod events;
pub mod gas;
pub mod index;
pub mod module;
pub mod msg;
pub mod store;

pub use address::Address;
pub use amount::Amount;
pub use error::{sdk, ChainError, QueryError};
pub use gas::{GasCosts, GasMeter, Metered};
pub use module::{BlockCtx, ExecMode, Module, ModuleAccount, ModuleMsg, MsgCtx, NoMsg, QueryCtx, QueryRoute, Vote};
pub use store::{StoreRead, StoreWrite};
