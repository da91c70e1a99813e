//! The fees module: at the end of every block, the fees the token module collected are
//! paid to the validators who signed the previous block, in proportion to their voting
//! power, at the operator accounts genesis names for them (token's validator accounts).
//!
//! It is a module of its own, and the last in the registry, because its hook must run
//! after every module that pays into the fee collector in the same block (attribution
//! pays protocol shares there), while the token module, whose genesis creates the
//! accounts, comes first.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]
use cnidarium::{StateRead, StateWrite};
use openledger_framework::events::typed;
use openledger_framework::module::NoGenesis;
use openledger_framework::{Address, Amount, BlockCtx, ChainError, Module, NoMsg, Vote};
use openledger_token::state_ext::{TokenRead, TokenWrite};
use openledger_token::{fee_collector, FEE_COLLECTOR};
use tendermint::abci::Event;

pub struct FeesModule;

impl Module for FeesModule {
    const NAME: &'static str = "fees";
    type Msg = NoMsg;
    type Genesis = NoGenesis;

    async fn init_genesis<S: StateWrite>(_state: &mut S, _genesis: &NoGenesis) -> Result<(), ChainError> {
        Ok(())
    }

    async fn export_genesis<S: StateRead>(_state: &S) -> Result<NoGenesis, ChainError> {
        Ok(NoGenesis {})
    }

    async fn end_block<S: StateWrite>(state: &mut S, ctx: &BlockCtx<'_>) -> Result<(), ChainError> {
        pay_out(state, ctx.votes).await
    }
}

/// Pay out the fee collector's balance to the signers of the last commit by power.
/// Integer shares: each validator gets floor(pool × power / total); the remainder, and
/// the share of any validator with no operator account, stays in the fee collector and
/// is paid with the next block's fees. Nothing is created or lost.
pub async fn pay_out<S: StateWrite>(state: &mut S, last_commit: &[Vote]) -> Result<(), ChainError> {
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
        state.send_from_module(&FEE_COLLECTOR, &operator, share, None).await?;
        let cons_hex: String = vote.consensus_address.iter().map(|b| format!("{b:02X}")).collect();
        state.record(fees_distributed(&cons_hex, &operator, share, vote.power));
    }
    Ok(())
}

fn fees_distributed(consensus_address: &str, operator: &Address, amount: Amount, power: u64) -> Event {
    typed(openledger_proto::openledger::token::v1::EventFeesDistributed {
        consensus_address: consensus_address.to_string(),
        operator_address: operator.to_string(),
        amount: amount.to_string(),
        power: i64::try_from(power).unwrap_or(i64::MAX),
    })
}
