//! Store keys of the datanet module. Records (`datanet/…`) are in the verifiable store,
//! in the app's `datanet` substore; lists (`ix/datanet/…`) and the version trees' node
//! history (`tree/datanet/…`) are in the non-verifiable store (see
//! `openledger_framework::index` and `merkle.rs`). Non-verifiable keys must not start
//! with a substore's prefix: cnidarium's non-verifiable range scan returns keys without
//! the substore prefix, which would break the lists' paging.
use openledger_framework::index::be;
use openledger_framework::Address;

pub const PARAMS: &str = "datanet/params";
pub const NEXT_DATANET_ID: &str = "datanet/next_datanet_id";
pub const NEXT_CONTRIBUTION_ID: &str = "datanet/next_contribution_id";
pub const NEXT_CHALLENGE_ID: &str = "datanet/next_challenge_id";

pub fn datanet(id: u64) -> String {
    format!("datanet/d/{id:016x}")
}
pub fn datanet_prefix() -> &'static str {
    "datanet/d/"
}
pub fn contribution(id: u64) -> String {
    format!("datanet/c/{id:016x}")
}
/// A contributor's contributions, in id order (verifiable: see `index_contribution`).
pub fn by_contributor(contributor: &Address, id: u64) -> String {
    format!("datanet/bc/{contributor}/{id:016x}")
}
pub fn by_contributor_prefix(contributor: &Address) -> String {
    format!("datanet/bc/{contributor}/")
}
pub fn contribution_prefix() -> &'static str {
    "datanet/c/"
}
pub fn version(datanet_id: u64, version: u64) -> String {
    format!("datanet/v/{datanet_id:016x}/{version:016x}")
}
pub fn version_prefix() -> &'static str {
    "datanet/v/"
}
pub fn challenge(id: u64) -> String {
    format!("datanet/ch/{id:016x}")
}
pub fn challenge_prefix() -> &'static str {
    "datanet/ch/"
}
/// Content hash → contribution id, per datanet: the duplicate check.
pub fn content(datanet_id: u64, hash: &[u8]) -> String {
    format!("datanet/hash/{datanet_id:016x}/{}", hex::encode(hash))
}
/// The fingerprint index: (datanet, hash) → the accepted contributions with the hash.
/// Where the fingerprint index lives.
pub const POSTING_PREFIX: &str = "datanet/fp/";

pub fn posting(datanet_id: u64, hash: u64) -> String {
    format!("{POSTING_PREFIX}{datanet_id:016x}/{hash:016x}")
}
/// Contributions invalidated in the current block, for the attribution module to take
/// out of its reward pools (it drains the queue before any pool payment or claim and
/// at the end of the block, so the queue is empty between blocks).
pub fn invalidated(contribution_id: u64) -> String {
    format!("datanet/invq/{contribution_id:016x}")
}
pub const INVALIDATED: &str = "datanet/invq/";
/// Entries in that queue: a point read tells the hot path there is nothing to drain.
pub const INVALIDATED_COUNT: &str = "datanet/invq_count";
/// A commitment to a contribution not yet revealed → the height it was made at.
pub fn commitment(datanet_id: u64, commitment: &[u8]) -> String {
    format!("datanet/commit/{datanet_id:016x}/{}", hex::encode(commitment))
}
pub fn commitment_prefix() -> &'static str {
    "datanet/commit/"
}
/// Stakes to refund at the end of block `height`.
pub fn release(height: u64, contribution_id: u64) -> String {
    format!("datanet/release/{height:016x}/{contribution_id:016x}")
}
pub fn release_prefix(height: u64) -> String {
    format!("datanet/release/{height:016x}/")
}
/// A curator's bond in a datanet.
pub fn curator_bond(datanet_id: u64, curator: &Address) -> String {
    format!("datanet/cb/{datanet_id:016x}/{curator}")
}
pub fn curator_bond_prefix(datanet_id: u64) -> String {
    format!("datanet/cb/{datanet_id:016x}/")
}
pub const CURATOR_BONDS: &str = "datanet/cb/";
/// A datanet's curator pool: the bonds' sum and their income.
pub fn curator_pool(datanet_id: u64) -> String {
    format!("datanet/cp/{datanet_id:016x}")
}
pub const CURATOR_POOLS: &str = "datanet/cp/";
/// Unbonding curator bonds paid back at the end of block `height`.
pub fn curator_release(height: u64, datanet_id: u64, curator: &Address) -> String {
    format!("datanet/cbrelease/{height:016x}/{datanet_id:016x}/{curator}")
}
pub fn curator_release_prefix(height: u64) -> String {
    format!("datanet/cbrelease/{height:016x}/")
}
/// Challenges that escalate (open) or expire (escalated) at the end of block `height`.
pub fn expiry(height: u64, challenge_id: u64) -> String {
    format!("datanet/expiry/{height:016x}/{challenge_id:016x}")
}
pub fn expiry_prefix(height: u64) -> String {
    format!("datanet/expiry/{height:016x}/")
}

// Non-verifiable lists: prefix, then the big-endian id that orders the entry.
pub fn ix_all() -> Vec<u8> {
    b"ix/datanet/all/".to_vec()
}
pub fn ix_owner(owner: &Address) -> Vec<u8> {
    [b"ix/datanet/owner/".as_slice(), owner.as_bytes(), b"/"].concat()
}
pub fn ix_tag(tag: &str) -> Vec<u8> {
    // Tags are [a-z0-9-], so the 0 byte cannot occur inside one.
    [b"ix/datanet/tag/".as_slice(), tag.as_bytes(), b"\0"].concat()
}
pub fn ix_datanet_contributions(datanet_id: u64) -> Vec<u8> {
    [b"ix/datanet/dc/".as_slice(), &be(datanet_id)].concat()
}
pub fn ix_datanet_status(datanet_id: u64, status: i32) -> Vec<u8> {
    [b"ix/datanet/ds/".as_slice(), &be(datanet_id), &(status as u32).to_be_bytes()].concat()
}
pub fn ix_contributor(contributor: &Address) -> Vec<u8> {
    [b"ix/datanet/contributor/".as_slice(), contributor.as_bytes(), b"/"].concat()
}
pub fn ix_versions(datanet_id: u64) -> Vec<u8> {
    [b"ix/datanet/versions/".as_slice(), &be(datanet_id)].concat()
}

/// The current value of one tree node (verifiable: what the next version's root is
/// computed from).
pub fn tree_current(datanet_id: u64, level: u8, index: u64) -> String {
    format!("datanet/t/{datanet_id:016x}/{level:02x}/{index:016x}")
}

/// History of one tree node: prefix, then the inverted epoch (newest first).
pub fn tree_node(datanet_id: u64, level: u8, index: u64) -> Vec<u8> {
    [b"tree/datanet/".as_slice(), &be(datanet_id), &[level], &be(index)].concat()
}
