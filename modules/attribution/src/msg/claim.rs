//! `MsgClaimRewards`: a contributor withdraws what its contributions have accrued —
//! direct credits and their share of the version pools — for a listed set or for all
//! of them, page by page.
use cnidarium::StateWrite;
use futures::StreamExt;
use openledger_framework::events::typed;
use openledger_framework::{sdk, Address, Amount, ChainError, MsgCtx};
use openledger_proto::openledger::attribution::v1::{MsgClaimRewards, MsgClaimRewardsResponse};

use super::fields::{address, positive_id};
use crate::error;
use crate::pools::take_invalidations as settle_invalidations;
use crate::records::get_contribution;
use crate::settle;
use crate::state_ext::{add, AttributionRead};

/// Without state: the contributor, and a listed claim without `start_after`, each
/// contribution named once.
pub fn check(m: &MsgClaimRewards) -> Result<Address, ChainError> {
    let contributor = address(&m.contributor, "contributor")?;
    if !m.contribution_ids.is_empty() && m.start_after != 0 {
        return Err(error::invalid_field("start_after goes with claiming all contributions, not a list"));
    }
    for (i, id) in m.contribution_ids.iter().enumerate() {
        positive_id(*id, "contribution id")?;
        if m.contribution_ids[..i].contains(id) {
            return Err(error::invalid_field(format!("contribution {id} is listed twice")));
        }
    }
    Ok(contributor)
}

pub async fn execute<S: StateWrite>(
    state: &mut S,
    m: &MsgClaimRewards,
    contributor: &Address,
    ctx: MsgCtx,
) -> Result<MsgClaimRewardsResponse, ChainError> {
    settle_invalidations(state, ctx.height).await?;
    let p = state.attribution_params().await?;
    let max = p.max_claim_contributions as usize;
    let mine = contributor.to_string();
    let (ids, next) = if m.contribution_ids.is_empty() {
        // The contributor's contributions in id order after start_after (a verifiable
        // list: cost grows with the claimant's own contributions only).
        let stream = state.prefix_raw(&openledger_datanet::state_key::by_contributor_prefix(contributor));
        let mut stream = std::pin::pin!(stream);
        let mut ids = Vec::with_capacity(max);
        let mut next = 0;
        while let Some(item) = stream.next().await {
            let (key, _) = item?;
            let id = key
                .rsplit('/')
                .next()
                .and_then(|h| u64::from_str_radix(h, 16).ok())
                .ok_or_else(|| sdk::internal(format!("corrupt contributor list key {key}")))?;
            if id <= m.start_after {
                continue;
            }
            if ids.len() == max {
                next = ids.last().copied().unwrap_or(0);
                break;
            }
            ids.push(id);
        }
        (ids, next)
    } else {
        if m.contribution_ids.len() > max {
            return Err(error::invalid_field(format!("{} contributions listed; at most {max} per claim", m.contribution_ids.len())));
        }
        (m.contribution_ids.clone(), 0)
    };
    let mut total: Amount = 0;
    let mut seen: Vec<u64> = Vec::with_capacity(ids.len());
    for id in &ids {
        if seen.contains(id) {
            return Err(error::invalid_field(format!("contribution {id} is listed twice")));
        }
        seen.push(*id);
        let c = get_contribution(state, *id).await?;
        if c.contributor != mine {
            return Err(error::unauthorized(format!("contribution {id} belongs to {}, not {mine}", c.contributor)));
        }
        total = add(total, settle::claim_contribution(state, &c, contributor, ctx.height, Some(ctx.msg_index)).await?, "claim")?;
    }
    state.record(typed(openledger_proto::openledger::attribution::v1::EventRewardsClaimed {
        contributor: mine,
        amount: total.to_string(),
        contributions: ids.len().to_string(),
    }));
    Ok(MsgClaimRewardsResponse { claimed: total.to_string(), contributions: ids.len() as u32, next_start_after: next })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_refuses_a_list_with_start_after_a_repeat_and_a_zero_id() {
        let ok = MsgClaimRewards { contributor: Address([1; 20]).to_string(), contribution_ids: vec![1, 2], start_after: 0 };
        assert!(check(&ok).is_ok());
        assert!(check(&MsgClaimRewards { contribution_ids: vec![], start_after: 5, ..ok.clone() }).is_ok());
        for bad in [
            MsgClaimRewards { start_after: 1, ..ok.clone() },
            MsgClaimRewards { contribution_ids: vec![3, 3], ..ok.clone() },
            MsgClaimRewards { contribution_ids: vec![0], ..ok.clone() },
        ] {
            let e = check(&bad).unwrap_err();
            assert_eq!((e.codespace, e.code), (error::CODESPACE, 2), "{bad:?}: {}", e.message);
        }
        assert_eq!(check(&MsgClaimRewards { contributor: String::new(), ..ok }).unwrap_err().code, 13);
    }
}
