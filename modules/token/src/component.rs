//! Genesis import and the end-of-block hook: the fees collected in a block are paid
//! to the validators who signed the previous block, in proportion to voting power.
use cnidarium::StateWrite;
use openledger_framework::amount::parse_amount;
use openledger_framework::{Address, ChainError};
use openledger_proto::openledger::token::v1::{GenesisState, Params};

use crate::state_ext::{TokenRead, TokenWrite};
use crate::{error, events, fee_collector, DENOM};

pub fn default_params() -> Params {
    Params { denom: DENOM.to_string(), send_enabled: true }
}

pub async fn init_genesis<S: StateWrite>(state: &mut S, genesis: &GenesisState) -> Result<(), ChainError> {
    let params = genesis.params.clone().unwrap_or_else(default_params);
    if params.denom != DENOM {
        return Err(error::invalid_genesis(format!("params.denom must be {DENOM}, got {:?}", params.denom)));
    }
    state.put_token_params(&params);
    for b in &genesis.balances {
        let addr = Address::parse(&b.address).map_err(|e| error::invalid_genesis(format!("balance: {e}")))?;
        for coin in &b.coins {
            if coin.denom != DENOM {
                return Err(error::invalid_genesis(format!("balance of {addr}: unknown denom {:?}", coin.denom)));
            }
            let amount = parse_amount(&coin.amount).map_err(|e| error::invalid_genesis(format!("balance of {addr}: {e}")))?;
            state.mint(&addr, amount).await?;
        }
    }
    state.ensure_account(&fee_collector()).await?;
    for v in &genesis.validator_accounts {
        let cons = parse_consensus_address(&v.consensus_address)
            .ok_or_else(|| error::invalid_genesis(format!("validator account: bad consensus address {:?}", v.consensus_address)))?;
        let op = Address::parse(&v.operator_address).map_err(|e| error::invalid_genesis(format!("validator account: {e}")))?;
        state.put_validator_operator(&cons, &op);
    }
    Ok(())
}

/// Upper- or lower-case hex of 20 bytes, as CometBFT prints validator addresses.
pub fn parse_consensus_address(s: &str) -> Option<[u8; 20]> {
    crate::state_key::parse_hex_address(&s.to_ascii_lowercase()).map(|a| a.0)
}

/// One entry of the last commit: who voted and with how much power.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Vote {
    pub consensus_address: [u8; 20],
    pub power: u64,
    pub signed: bool,
}

/// Pay out the fee collector's balance to the signers of the last commit by power.
/// Integer shares: each validator gets floor(pool × power / total); the remainder, and
/// the share of any validator with no operator account, stays in the fee collector and
/// is paid with the next block's fees. Nothing is created or lost.
pub async fn end_block<S: StateWrite>(state: &mut S, last_commit: &[Vote]) -> Result<(), ChainError> {
    let collector = fee_collector();
    let pool = state.balance(&collector).await?;
    let total_power: u128 = last_commit.iter().filter(|v| v.signed).map(|v| v.power as u128).sum();
    if pool == 0 || total_power == 0 {
        return Ok(());
    }
    for vote in last_commit.iter().filter(|v| v.signed && v.power > 0) {
        let Some(operator) = state.validator_operator(&vote.consensus_address).await? else { continue };
        // pool ≤ supply ≤ u128::MAX and power < 2^63: the product is computed with a
        // checked multiply and falls back to a division-first form that cannot overflow.
        let share = match pool.checked_mul(vote.power as u128) {
            Some(p) => p / total_power,
            None => pool / total_power * vote.power as u128,
        };
        if share == 0 {
            continue;
        }
        state.transfer(&collector, &operator, share, DENOM, None).await?;
        let cons_hex: String = vote.consensus_address.iter().map(|b| format!("{b:02X}")).collect();
        state.record(events::fees_distributed(&cons_hex, &operator, share, vote.power));
    }
    Ok(())
}
