//! The datanet module's messages, one file each: a stateless check at decode (so CheckTx
//! refuses a malformed message before it reaches a block), then execution against
//! state. Every refusal is a `datanet` (or `token`) error with a stable code, and a
//! refused message changes nothing (the app runs each tx's messages in an overlay that
//! is dropped on error).
use openledger_proto::openledger::datanet::v1::*;

pub mod appeal;
pub mod bond_curator;
pub mod challenge;
pub mod claim_curator;
pub mod commit;
pub mod create;
pub(crate) mod fields;
pub mod publish;
pub mod resolve;
pub mod review;
pub mod submit;
pub mod unbond_curator;
pub mod update;
pub mod withdraw;

openledger_framework::module_msgs! {
    /// A datanet message, checked.
    pub DatanetMsg, module "datanet" {
        Create(MsgCreateDatanet) => create,
        Update(MsgUpdateDatanet) => update,
        Commit(MsgCommitContribution) => commit,
        Submit(MsgSubmitContribution) => submit,
        Review(MsgReviewContribution) => review,
        Withdraw(MsgWithdrawContribution) => withdraw,
        Publish(MsgPublishVersion) => publish,
        Challenge(MsgChallengeContribution) => challenge,
        Resolve(MsgResolveChallenge) => resolve,
        BondCurator(MsgBondCurator) => bond_curator,
        UnbondCurator(MsgUnbondCurator) => unbond_curator,
        ClaimCuratorRewards(MsgClaimCuratorRewards) => claim_curator,
        Appeal(MsgAppealChallenge) => appeal,
    }
}
