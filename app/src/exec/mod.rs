//! How a block executes: transaction decoding and its stateless checks (`tx`), the ante
//! step (`ante`), one tx's execution in its overlays (`pipeline`), the block itself
//! (`block`), and the node-local caches that make it fast without changing any result
//! (`perf`, each with its safety argument).
pub mod ante;
pub mod block;
pub mod perf;
pub mod pipeline;
pub mod proposal;
pub mod tx;

pub use block::{BlockInput, BlockOutcome};
