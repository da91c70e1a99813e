//! The attribution module's messages, one file each: a stateless check at decode (so
//! CheckTx refuses a malformed message before it reaches a block), then execution.
//! Every refusal is an `attribution` (or `token`) error with a stable code, and a
//! refused message changes nothing (the app runs each tx's messages in an overlay that
//! is dropped on error).
use openledger_proto::openledger::attribution::v1::{MsgChallengeAttribution, MsgClaimRewards, MsgPayInference, MsgSubmitAttribution};

pub mod challenge;
pub mod claim;
pub(crate) mod fields;
pub mod pay;
pub mod submit;

pub use submit::settled_weights;

// No message here hints keys to prefetch: reports name contributions, but prefetching
// them measured slower than reading them in execution (BENCHMARKS.md, run F): the reads
// are CPU-bound and compete with signature verification for the same cores.

openledger_framework::module_msgs! {
    /// An attribution message, checked.
    pub AttributionMsg, module "attribution" {
        Pay(MsgPayInference) => pay,
        Submit(MsgSubmitAttribution) => submit,
        Challenge(MsgChallengeAttribution) => challenge,
        Claim(MsgClaimRewards) => claim,
    }
}
