//! The OpenLedger ABCI 2.0 application, in layers: the module registry (`registry`,
//! with `genesis`), block execution (`exec`, its caches in `exec/perf`), mempool
//! bookkeeping (`mempool`), the ABCI application and its socket server (`abci`), the
//! RPC surfaces over the one query table (`rpc`: gRPC, REST, Cosmos services) and the
//! indexer block stream (`stream`). The `openledgerd` binary (`bin/openledgerd`) wires
//! them to CometBFT.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]
pub mod abci;
pub mod app;
pub mod exec;
pub mod export;
pub mod failpoint;
pub mod genesis;
pub mod mempool;
pub mod prune;
pub mod registry;
pub mod rpc;
pub mod stream;

pub use app::{open_storage, state_prefixes, App, NodeSettings};
pub use exec::{BlockInput, BlockOutcome};
