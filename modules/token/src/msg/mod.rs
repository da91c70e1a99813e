//! The token module's messages, one file each: a stateless check at decode (so CheckTx
//! refuses a malformed message before it reaches a block), then execution.
use std::collections::BTreeSet;

use cnidarium::StateWrite;
use cosmos_sdk_proto::cosmos::bank::v1beta1::MsgSend;
use openledger_framework::module::{decode_msg, is_type_url, response_any};
use openledger_framework::{type_url_of, Address, ChainError, ModuleMsg, MsgCtx};

pub mod send;

pub use send::CheckedSend;

/// A token message, checked.
#[derive(Debug, Clone, PartialEq)]
pub enum TokenMsg {
    Send(CheckedSend),
}

impl ModuleMsg for TokenMsg {
    fn decode(type_url: &str, value: &[u8]) -> Option<Result<Self, ChainError>> {
        if is_type_url::<MsgSend>(type_url) {
            return Some(decode_msg::<MsgSend>(value).and_then(|m| send::check(&m)).map(TokenMsg::Send));
        }
        None
    }

    fn signer(&self) -> Address {
        match self {
            TokenMsg::Send(s) => s.from(),
        }
    }

    fn type_url(&self) -> &'static str {
        match self {
            TokenMsg::Send(_) => type_url_of!(MsgSend),
        }
    }

    fn event_module(&self) -> &'static str {
        "bank"
    }

    fn prefetch_keys(&self, out: &mut BTreeSet<String>) {
        match self {
            TokenMsg::Send(s) => {
                out.insert(crate::state_key::account(&s.to()));
            }
        }
    }

    async fn execute<S: StateWrite>(&self, state: &mut S, ctx: MsgCtx) -> Result<prost_types::Any, ChainError> {
        match self {
            TokenMsg::Send(s) => Ok(response_any(&send::execute(state, s, ctx).await?)),
        }
    }
}
