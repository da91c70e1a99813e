//! `MsgCommitContribution`: commit to a contribution before revealing it. A copier who
//! sees the reveal in the mempool has no commitment of its own from an earlier block,
//! so its claim to the content is later, and the earliest claim wins
//! (`submit::claim_content`).
use cnidarium::StateWrite;
use openledger_framework::events::typed;
use openledger_framework::{Address, ChainError, MsgCtx, StoreRead, StoreWrite};
use openledger_proto::openledger::datanet::v1::{EventContributionCommitted, MsgCommitContribution, MsgCommitContributionResponse};

use super::fields::{address, positive_id};
use crate::records::get_datanet;
use crate::{error, state_key};

pub use openledger_types::commit::commitment;

/// Without state: the contributor, the datanet id and a 32-byte commitment.
pub fn check(m: &MsgCommitContribution) -> Result<Address, ChainError> {
    let contributor = address(&m.contributor, "contributor")?;
    positive_id(m.datanet_id, "datanet_id")?;
    if m.commitment.len() != 32 {
        return Err(error::invalid_field(format!("commitment must be 32 bytes (a SHA-256), got {}", m.commitment.len())));
    }
    Ok(contributor)
}

pub async fn execute<S: StateWrite>(
    state: &mut S,
    m: &MsgCommitContribution,
    contributor: &Address,
    ctx: MsgCtx,
) -> Result<MsgCommitContributionResponse, ChainError> {
    let d = get_datanet(state, m.datanet_id).await?;
    let key = state_key::commitment(d.id, &m.commitment);
    if state.get_u64(&key).await?.is_some() {
        return Err(error::duplicate_content(format!("commitment {} is already recorded in datanet {}", hex::encode(&m.commitment), d.id)));
    }
    state.put_u64(key, ctx.height);
    state.record(typed(EventContributionCommitted {
        datanet_id: d.id.to_string(),
        contributor: contributor.to_string(),
        commitment: hex::encode(&m.commitment),
    }));
    Ok(MsgCommitContributionResponse {})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_refuses_a_short_commitment_and_a_zero_datanet() {
        let a = Address([1; 20]);
        let base = commitment(1, &a, &[7; 32], b"salt-salt-salt-1");
        let m = MsgCommitContribution { contributor: a.to_string(), datanet_id: 1, commitment: base.to_vec() };
        assert!(check(&m).is_ok());
        assert_eq!(check(&MsgCommitContribution { commitment: vec![1; 31], ..m.clone() }).unwrap_err().code, 2);
        assert_eq!(check(&MsgCommitContribution { datanet_id: 0, ..m }).unwrap_err().code, 2);
    }
}
