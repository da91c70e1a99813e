//! The attribution module's messages, one file each: a stateless check at decode (so
//! CheckTx refuses a malformed message before it reaches a block), then execution.
//! Every refusal is an `attribution` (or `token`) error with a stable code, and a
//! refused message changes nothing (the app runs each tx's messages in an overlay that
//! is dropped on error).
use openledger_proto::openledger::attribution::v1::{MsgClaimRewards, MsgPayInference, MsgSubmitAttribution, MsgSubmitReceipt};

pub mod claim;
pub(crate) mod fields;
pub mod pay;
pub mod receipt;
pub mod submit;

// No message here hints keys to prefetch: the keys a receipt reads follow from its
// output (index entries, then the top contributions), and prefetching named
// contributions measured slower than reading them in execution (BENCHMARKS.md, run F):
// the reads are CPU-bound and compete with signature verification for the same cores.

openledger_framework::module_msgs! {
    /// An attribution message, checked.
    pub AttributionMsg, module "attribution" {
        Pay(MsgPayInference) => pay,
        Submit(MsgSubmitAttribution) => submit,
        Receipt(MsgSubmitReceipt) => receipt,
        Claim(MsgClaimRewards) => claim,
    }
}
