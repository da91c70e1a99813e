//! Operations on datanet records that the messages, genesis and the end-block hook
//! share: lookups with their not-found errors, list indexes, status moves, refunds.
use cnidarium::StateWrite;
use openledger_framework::events::typed;
use openledger_framework::index::{be, IndexImport, IndexWrite};
use openledger_framework::{Address, Amount, ChainError, StoreRead};
use openledger_proto::openledger::datanet::v1::{Contribution, ContributionStatus, Datanet};
use openledger_token::state_ext::TokenWrite;

use crate::msg::fields::{address, uopen};
use crate::state_ext::DatanetRead;
use crate::{error, state_key, ESCROW};

pub(crate) async fn get_datanet<S: StoreRead>(state: &S, id: u64) -> Result<Datanet, ChainError> {
    state.datanet(id).await?.ok_or_else(|| error::not_found(format!("datanet {id} not found")))
}

pub(crate) async fn get_contribution<S: StoreRead>(state: &S, id: u64) -> Result<Contribution, ChainError> {
    state.contribution(id).await?.ok_or_else(|| error::not_found(format!("contribution {id} not found")))
}

/// The owner and the listed curators may curate.
pub(crate) fn is_curator(d: &Datanet, who: &Address) -> bool {
    let s = who.to_string();
    d.owner == s || d.curators.contains(&s)
}

pub(crate) fn status_name(s: i32) -> &'static str {
    ContributionStatus::try_from(s).map(|s| s.as_str_name()).unwrap_or("CONTRIBUTION_STATUS_UNSPECIFIED")
}

pub(crate) fn amount_of(s: &str) -> Result<Amount, ChainError> {
    s.parse().map_err(|_| openledger_framework::sdk::internal(format!("corrupt amount {s:?}")))
}

/// Reject a pending contribution: the datanet's share of its stake (by the terms it was
/// submitted under) slashed to the treasury, the rest refunded. A rejected contribution
/// does not hold its content: a copier whose submission of someone's file is rejected
/// must not lock the file's real author out. Returns (slashed, refunded).
pub(crate) async fn reject<S: StateWrite>(
    state: &mut S,
    c: &mut Contribution,
    reason: String,
    msg_index: Option<u32>,
) -> Result<(Amount, Amount), ChainError> {
    let stake = uopen(c.stake.as_ref(), "stake")?;
    let contributor = address(&c.contributor, "contributor")?;
    let slashed = openledger_framework::amount::bps_of(stake, c.terms.map_or(0, |t| t.reject_slash_bps));
    let refunded = stake - slashed;
    if slashed > 0 {
        state.send_from_module(&ESCROW, &crate::treasury(c.datanet_id), slashed, msg_index).await?;
    }
    if refunded > 0 {
        state.send_from_module(&ESCROW, &contributor, refunded, msg_index).await?;
    }
    c.reject_reason = reason;
    state.delete(state_key::content(c.datanet_id, &c.content_hash));
    set_status(state, c, ContributionStatus::Rejected).await?;
    Ok((slashed, refunded))
}

/// Move a contribution between status lists.
pub(crate) async fn set_status<S: StateWrite>(state: &mut S, c: &mut Contribution, status: ContributionStatus) -> Result<(), ChainError> {
    state.index_remove(&state_key::ix_datanet_status(c.datanet_id, c.status), &be(c.id)).await?;
    c.status = status as i32;
    state.index_insert(&state_key::ix_datanet_status(c.datanet_id, c.status), &be(c.id), be(c.id).to_vec()).await
}

pub(crate) async fn index_datanet<S: StateWrite>(state: &mut S, d: &Datanet) -> Result<(), ChainError> {
    let id = be(d.id);
    state.index_insert(&state_key::ix_all(), &id, id.to_vec()).await?;
    state.index_insert(&state_key::ix_owner(&address(&d.owner, "owner")?), &id, id.to_vec()).await?;
    for t in &d.tags {
        state.index_insert(&state_key::ix_tag(t), &id, id.to_vec()).await?;
    }
    Ok(())
}

pub(crate) async fn index_contribution<S: StateWrite>(state: &mut S, c: &Contribution, contributor: &Address) -> Result<(), ChainError> {
    // In the verifiable store: a claim of all one's rewards walks this list, so it
    // decides consensus outcomes (the lists below only serve queries).
    state.put_raw(state_key::by_contributor(contributor, c.id), vec![]);
    let id = be(c.id);
    for list in contribution_lists(c, contributor) {
        state.index_insert(&list, &id, id.to_vec()).await?;
    }
    Ok(())
}

/// `index_contribution` for a genesis import: the same writes, the lists' counts kept by `lists`.
pub(crate) fn import_contribution_index<S: StateWrite>(state: &mut S, lists: &mut IndexImport, c: &Contribution, contributor: &Address) {
    state.put_raw(state_key::by_contributor(contributor, c.id), vec![]);
    let id = be(c.id);
    for list in contribution_lists(c, contributor) {
        lists.insert(state, &list, &id, id.to_vec());
    }
}

/// The query lists a contribution is in: its datanet's, its datanet's of its status, its contributor's.
fn contribution_lists(c: &Contribution, contributor: &Address) -> [Vec<u8>; 3] {
    [
        state_key::ix_datanet_contributions(c.datanet_id),
        state_key::ix_datanet_status(c.datanet_id, c.status),
        state_key::ix_contributor(contributor),
    ]
}

/// Refund an accepted contribution's stake if its window has passed (and no challenge
/// holds it). Used at the end of the window and when a challenge ends.
pub(crate) async fn refund_if_due<S: StateWrite>(
    state: &mut S,
    c: &mut Contribution,
    height: u64,
    msg_index: Option<u32>,
) -> Result<(), ChainError> {
    if c.stake_release_height == 0 || c.stake_release_height > height {
        return Ok(());
    }
    let stake = uopen(c.stake.as_ref(), "stake")?;
    let contributor = address(&c.contributor, "contributor")?;
    state.send_from_module(&ESCROW, &contributor, stake, msg_index).await?;
    c.stake_release_height = 0;
    state.record(typed(openledger_proto::openledger::datanet::v1::EventStakeRefunded {
        contribution_id: c.id.to_string(),
        contributor: c.contributor.clone(),
        amount: stake.to_string(),
    }));
    Ok(())
}
