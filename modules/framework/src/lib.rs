//! The module framework shared by every OpenLedger state-machine module: addresses,
//! the amount type, errors with stable codes (those three from `openledger-types`),
//! deterministic gas, typed store access and the event builder. Modules depend on this crate, never on each other's keys.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]
pub mod events;
pub mod gas;
pub mod index;
pub mod module;
pub mod msg;
pub mod store;

// Addresses, amounts and errors are pure (no storage) and shared with clients: they live
// in `openledger-types`, re-exported so every `openledger_framework::…` path stays.
pub use openledger_types::{address, amount, canonical, error, keys, module_errors, type_url, type_url_of};

pub use address::Address;
pub use amount::Amount;
pub use error::{sdk, ChainError, QueryError};
pub use gas::{GasCosts, GasMeter, Metered};
pub use module::{BlockCtx, ExecMode, Module, ModuleAccount, ModuleMsg, MsgCtx, NoMsg, QueryCtx, QueryRoute, Vote};
pub use store::{StoreRead, StoreWrite};
