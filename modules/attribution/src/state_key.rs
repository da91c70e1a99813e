//! Store keys of the attribution module. Records, pools, queues and books are in the
//! verifiable store; lists (`attribution/ix/…`) and earnings histories in the
//! non-verifiable store (see `openledger_framework::index`).
use openledger_framework::index::be;
use openledger_framework::Address;

pub const PARAMS: &str = "attribution/params";
pub const NEXT_INFERENCE_ID: &str = "attribution/next_inference_id";
pub const ACCOUNTING: &str = "attribution/accounting";

pub fn inference(id: u64) -> String {
    format!("attribution/i/{id:016x}")
}
pub const INFERENCES: &str = "attribution/i/";

/// Default-settlement queue: one prefix per report deadline, ids in order under it.
pub fn due(deadline: u64, id: u64) -> String {
    format!("attribution/due/{deadline:016x}/{id:016x}")
}
/// The whole queue (end-block never scans it from here: see `DUE_CURSOR`).
pub const DUE: &str = "attribution/due/";
pub fn due_at(deadline: u64) -> String {
    format!("attribution/due/{deadline:016x}/")
}
/// Every queued deadline is at or above this height (so end-block never scans the
/// queue's settled past, whose deletions RocksDB keeps as tombstones until compaction).
pub const DUE_CURSOR: &str = "attribution/due_cursor";
/// Entries in the queue.
pub const DUE_COUNT: &str = "attribution/due_count";

pub fn pool(datanet_id: u64, version: u64) -> String {
    format!("attribution/pool/{datanet_id:016x}/{version:016x}")
}
pub const POOLS: &str = "attribution/pool/";

pub fn rewards(contribution_id: u64) -> String {
    format!("attribution/cr/{contribution_id:016x}")
}
pub const REWARDS: &str = "attribution/cr/";

/// A node of one of a datanet's pool trees (`pools.rs`): `tree` is `acc`, `rmf` or
/// `rmt`, `i` the Fenwick index.
pub fn tree_node(tree: &str, datanet_id: u64, i: u64) -> String {
    format!("attribution/tree/{tree}/{datanet_id:016x}/{i:016x}")
}

pub fn model_stats(model_id: u64) -> String {
    format!("attribution/ms/{model_id:016x}")
}
pub const MODEL_STATS: &str = "attribution/ms/";

pub fn datanet_stats(datanet_id: u64) -> String {
    format!("attribution/ds/{datanet_id:016x}")
}
pub const DATANET_STATS: &str = "attribution/ds/";

/// Marks a contributor as paid by a datanet (counted once in its stats).
pub fn paid(datanet_id: u64, contributor: &Address) -> String {
    format!("attribution/paid/{datanet_id:016x}/{contributor}")
}
pub const PAID: &str = "attribution/paid/";

// Non-verifiable lists: prefix, then the big-endian id (or sequence) ordering entries.
pub fn ix_model(model_id: u64) -> Vec<u8> {
    [b"attribution/ix/model/".as_slice(), &be(model_id)].concat()
}
pub fn ix_consumer(consumer: &Address) -> Vec<u8> {
    [b"attribution/ix/consumer/".as_slice(), consumer.as_bytes(), b"/"].concat()
}
/// A contribution's earnings history, by sequence number.
pub fn ix_history(contribution_id: u64) -> Vec<u8> {
    [b"attribution/ix/earn/".as_slice(), &be(contribution_id)].concat()
}
pub const IX_HISTORY: &[u8] = b"attribution/ix/earn/";
