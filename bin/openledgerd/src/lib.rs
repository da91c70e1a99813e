//! `openledgerd`, the node process: its home and config, `init`, the genesis and config
//! commands, `start` (the app from `openledger-app` served to CometBFT over ABCI, with
//! gRPC and REST), the one-command local chain `dev`, and the allocator it runs with.
//! A library as well as the binary so that tests and benches reach the same functions.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]
pub mod allocator;
pub mod dev;
pub mod failstop;
pub mod node;
