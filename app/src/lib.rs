//! The OpenLedger ABCI 2.0 application: transaction pipeline, storage, query routing
//! and the gRPC server. The `openledgerd` binary (`bin/openledgerd`) wires them to
//! CometBFT.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]
pub mod abci;
pub mod abci_server;
pub mod ante;
pub mod app;
pub mod cosmos_services;
pub mod export;
pub mod genesis;
pub mod grpc;
pub mod pipeline;
pub mod prefetch;
pub mod registry;
pub mod rest;
pub mod sigverify;
pub mod stream;
pub mod testing;
pub mod tx;

pub use app::{open_storage, state_prefixes, App, BlockInput, BlockOutcome, NodeSettings};
