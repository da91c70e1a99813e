//! The RPC surfaces, all over the registry's one query table: gRPC (`grpc`, with the
//! Cosmos services of `cosmos` and reflection), REST in the Cosmos gateway's shapes
//! (`rest`).
pub mod cosmos;
pub mod grpc;
pub mod limits;
pub mod rest;
pub mod runtime;
