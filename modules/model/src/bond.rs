//! The operator bond a model posts at registration, held in the `model_bonds` account.
//! Only this module changes it: attribution slashes it through `slash` when a
//! challenge of one of the model's reports is upheld.
use cnidarium::StateWrite;
use openledger_framework::amount::bps_of;
use openledger_framework::{sdk, Address, Amount, ChainError};
use openledger_token::state_ext::TokenWrite;
use openledger_token::uopen_coin;

use crate::msg::fields::uopen;
use crate::state_ext::{ModelRead, ModelWrite};
use crate::BONDS;

/// What a slash took, and where it went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slashed {
    pub total: Amount,
    /// To the first recipient (`first_bps` of the total).
    pub to_first: Amount,
    /// To the second (the rest, rounding included).
    pub to_rest: Amount,
}

/// Slash `bps` of model `id`'s bond: its record falls by the slashed amount, and that
/// amount leaves `model_bonds` — `first_bps` of it to `first`, the rest to `rest`.
pub async fn slash<S: StateWrite>(
    state: &mut S,
    id: u64,
    bps: u32,
    first: &Address,
    first_bps: u32,
    rest: &Address,
    msg_index: Option<u32>,
) -> Result<Slashed, ChainError> {
    let mut model = state.model(id).await?.ok_or_else(|| sdk::internal(format!("model {id} missing")))?;
    let bond = uopen(model.bond.as_ref(), "bond")?;
    let total = bps_of(bond, bps);
    let to_first = bps_of(total, first_bps);
    let to_rest = total - to_first;
    model.bond = Some(uopen_coin(bond - total));
    state.put_model(&model);
    if to_first > 0 {
        state.send_from_module(&BONDS, first, to_first, msg_index).await?;
    }
    if to_rest > 0 {
        state.send_from_module(&BONDS, rest, to_rest, msg_index).await?;
    }
    Ok(Slashed { total, to_first, to_rest })
}
