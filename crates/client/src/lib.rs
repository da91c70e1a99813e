//! What a client of the chain needs, without the chain's storage: building and signing
//! transactions, the keyring, the CometBFT RPC client, and printing answers as proto3
//! JSON. The CLI, the node's `dev` command, the load generator and the tests share it,
//! so what the tests prove is what users send.
pub mod keyring;
pub mod output;
pub mod responses;
pub mod rpc;
pub mod txbuilder;
