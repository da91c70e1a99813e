//! Executing transactions against a state delta. Used by FinalizeBlock, CheckTx (ante
//! only) and simulation, so all of them run the same code; the `ExecMode` says which.
use cnidarium::{StateDelta, StateWrite};
use cosmos_sdk_proto::cosmos::base::abci::v1beta1::TxMsgData;
use openledger_framework::events::event;
use openledger_framework::{ChainError, ExecMode, GasMeter, Metered, MsgCtx};
use prost::Message;
use tendermint::abci::Event;

use crate::app::ChainConstants;
use crate::exec::ante::{self, AnteContext, Preverified};
use crate::exec::tx::DecodedTx;

/// What one transaction did, in ABCI terms.
#[derive(Debug, Clone, Default)]
pub struct TxOutcome {
    pub code: u32,
    pub codespace: String,
    pub log: String,
    pub data: Vec<u8>,
    pub gas_wanted: u64,
    pub gas_used: u64,
    pub events: Vec<Event>,
}

impl TxOutcome {
    pub fn failed(e: &ChainError, gas_wanted: u64, gas_used: u64) -> TxOutcome {
        TxOutcome { code: e.code, codespace: e.codespace.to_string(), log: e.message.clone(), gas_wanted, gas_used, ..Default::default() }
    }
}

/// Where a tx runs: the chain's constants (id, auth params, consensus minimum gas
/// price), the height, why it runs, and per signer a signature verification done earlier
/// (`None` entries are verified in the ante step).
pub struct TxEnv<'a> {
    pub constants: &'a ChainConstants,
    pub height: u64,
    pub mode: ExecMode,
    pub preverified: &'a [Option<Preverified>],
}

/// Run one tx on `state`: the ante step in one overlay, the messages in a nested one.
/// A failed ante leaves no trace; failed messages leave only the ante's fee and
/// sequence bump. In CheckTx, its recheck and proposal checks only the ante runs.
///
/// `Err` is a node fault (`ChainError::is_node_fault`: the store failed), never a tx
/// result: the caller stops rather than record an outcome other nodes would not.
pub async fn execute_tx<S: StateWrite>(state: &mut S, tx: &DecodedTx, env: &TxEnv<'_>) -> Result<TxOutcome, ChainError> {
    // A simulation measures, up to the most any tx may use (`max_tx_gas`, within the
    // block limit): public endpoints run it for anyone, so its cost is bounded as a
    // tx's is, and a tx that needs more could never be included anyway.
    let gas_limit = if env.mode.is_simulation() { env.constants.params.max_tx_gas } else { tx.gas_limit() };
    let meter = GasMeter::new(gas_limit);
    let costs = openledger_auth::gas_costs(&env.constants.params);

    let mut ante_delta = StateDelta::new(&mut *state);
    let ctx = AnteContext { env, meter: &meter };
    let ante_result = {
        let mut metered = Metered::new(&mut ante_delta, meter.clone(), costs);
        ante::run(&mut metered, tx, &ctx).await
    };
    if let Err(e) = ante_result {
        if e.is_node_fault() {
            return Err(e);
        }
        let e = if meter.is_exhausted() { ante::out_of_gas_error(&meter) } else { e };
        return Ok(TxOutcome::failed(&e, tx.gas_limit(), meter.used()));
    }
    if meter.is_exhausted() {
        return Ok(TxOutcome::failed(&ante::out_of_gas_error(&meter), tx.gas_limit(), meter.used()));
    }

    if !env.mode.runs_messages() {
        let (_, events) = ante_delta.apply();
        return Ok(TxOutcome { gas_wanted: tx.gas_limit(), gas_used: meter.used(), events, ..Default::default() });
    }

    let mut msg_delta = StateDelta::new(&mut ante_delta);
    let msg_result = {
        let mut metered = Metered::new(&mut msg_delta, meter.clone(), costs);
        run_msgs_on(&mut metered, tx, env.height).await
    };
    let msg_result = match msg_result {
        Err(e) if e.is_node_fault() => return Err(e),
        Ok(_) if meter.is_exhausted() => Err(ante::out_of_gas_error(&meter)),
        Err(_) if meter.is_exhausted() => Err(ante::out_of_gas_error(&meter)),
        other => other,
    };
    match msg_result {
        Ok(data) => {
            let (_, msg_events) = msg_delta.apply();
            let (_, mut events) = ante_delta.apply();
            events.extend(msg_events);
            Ok(TxOutcome { data, gas_wanted: tx.gas_limit(), gas_used: meter.used(), events, ..Default::default() })
        }
        Err(e) => {
            drop(msg_delta);
            let (_, events) = ante_delta.apply();
            Ok(TxOutcome { events, ..TxOutcome::failed(&e, tx.gas_limit(), meter.used()) })
        }
    }
}

fn response_any(r: prost_types::Any) -> cosmos_sdk_proto::Any {
    cosmos_sdk_proto::Any { type_url: r.type_url, value: r.value }
}

/// Execute the messages in order; the result data is a `TxMsgData` of their responses.
async fn run_msgs_on<S: StateWrite>(state: &mut S, tx: &DecodedTx, height: u64) -> Result<Vec<u8>, ChainError> {
    let mut responses = Vec::with_capacity(tx.msgs().len());
    for (i, msg) in tx.msgs().iter().enumerate() {
        let idx = i as u32;
        state.record(event(
            "message",
            [
                ("action", msg.type_url().to_string()),
                ("sender", msg.signer().to_string()),
                ("module", msg.event_module().to_string()),
                ("msg_index", idx.to_string()),
            ],
        ));
        responses.push(response_any(
            msg.execute(state, MsgCtx { height, msg_index: idx, module_accounts: crate::registry::module_accounts() }).await?,
        ));
    }
    Ok(TxMsgData { msg_responses: responses, ..Default::default() }.encode_to_vec())
}
