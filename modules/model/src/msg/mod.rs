//! The model module's messages, one file each: a stateless check at decode (so CheckTx
//! refuses a malformed message before it reaches a block), then execution against
//! state. Every refusal is a `model` (or `token`) error with a stable code, and a
//! refused message changes nothing (the app runs each tx's messages in an overlay that
//! is dropped on error).
use openledger_proto::openledger::model::v1::{MsgRegisterModel, MsgUpdateModel, MsgWithdrawBond};

pub(crate) mod fields;
pub mod register;
pub mod update;
pub mod withdraw_bond;

openledger_framework::module_msgs! {
    /// A model message, checked.
    pub ModelMsg, module "model" {
        Register(MsgRegisterModel) => register,
        Update(MsgUpdateModel) => update,
        WithdrawBond(MsgWithdrawBond) => withdraw_bond,
    }
}
