//! Store keys of the model module. Records are in the verifiable store; lists
//! (`model/ix/…`) are in the non-verifiable store (see `openledger_framework::index`).
use openledger_framework::index::be;
use openledger_framework::Address;

pub const PARAMS: &str = "model/params";
pub const NEXT_MODEL_ID: &str = "model/next_model_id";

pub fn model(id: u64) -> String {
    format!("model/m/{id:016x}")
}
pub fn model_prefix() -> &'static str {
    "model/m/"
}

// Non-verifiable lists: prefix, then the big-endian model id that orders the entry.
pub fn ix_all() -> Vec<u8> {
    b"model/ix/all/".to_vec()
}
pub fn ix_owner(owner: &Address) -> Vec<u8> {
    [b"model/ix/owner/".as_slice(), owner.as_bytes(), b"/"].concat()
}
/// Models trained on any version of `datanet_id` (once each, whatever the versions).
pub fn ix_datanet(datanet_id: u64) -> Vec<u8> {
    [b"model/ix/datanet/".as_slice(), &be(datanet_id)].concat()
}
