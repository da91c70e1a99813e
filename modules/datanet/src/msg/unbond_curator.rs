//! `MsgUnbondCurator`: a curator starts taking back part or all of its bond. It stops
//! earning and acting at once, stays slashable while unbonding, and is paid back after
//! `Params.curator_unbonding_blocks` (end of block).
use cnidarium::StateWrite;
use openledger_framework::{Address, ChainError, MsgCtx};
use openledger_proto::openledger::datanet::v1::{MsgUnbondCurator, MsgUnbondCuratorResponse};

use super::fields::uopen;
use crate::records::{amount_of, get_datanet};
use crate::state_ext::DatanetRead;
use crate::{curators, error};

/// Without state: the curator, the datanet id and a positive uopen amount.
pub fn check(m: &MsgUnbondCurator) -> Result<Address, ChainError> {
    super::bond_curator::curator_amount(&m.curator, m.datanet_id, m.amount.as_ref())
}

pub async fn execute<S: StateWrite>(
    state: &mut S,
    m: &MsgUnbondCurator,
    curator: &Address,
    ctx: MsgCtx,
) -> Result<MsgUnbondCuratorResponse, ChainError> {
    let p = state.datanet_params().await?;
    let d = get_datanet(state, m.datanet_id).await?;
    let mut b = curators::bond(state, d.id, curator).await?;
    if amount_of(&b.bonded)? == 0 {
        return Err(error::not_bonded(format!("{curator} has nothing bonded to datanet {}", d.id)));
    }
    curators::unbond(state, &mut b, uopen(m.amount.as_ref(), "amount")?, ctx.height, &p).await?;
    Ok(MsgUnbondCuratorResponse { bonded: b.bonded, unbonding: b.unbonding, release_height: b.release_height })
}
