//! The ABCI 2.0 surface: translates CometBFT requests to `App` calls and back (the
//! socket loop that carries them is `server`).
//! Nothing a proposer sends can panic here: every decode is checked and every
//! failure becomes a response code.
pub mod server;

use tendermint_abci::Application;
use tendermint_proto::v0_38::abci::{
    self as pb, response_process_proposal::ProposalStatus, RequestCheckTx, RequestFinalizeBlock, RequestInfo, RequestInitChain,
    RequestPrepareProposal, RequestProcessProposal, RequestQuery, ResponseCheckTx, ResponseCommit, ResponseFinalizeBlock, ResponseInfo,
    ResponseInitChain, ResponsePrepareProposal, ResponseProcessProposal, ResponseQuery,
};
use tendermint_proto::v0_38::types::BlockIdFlag;

use openledger_auth::AuthRead;
use openledger_framework::{sdk, ExecMode, Vote};

use crate::app::App;
use crate::exec::pipeline::TxOutcome;
use crate::exec::tx;
use crate::exec::BlockInput;

pub const APP_VERSION: u64 = 1;

fn to_pb_events(events: Vec<tendermint::abci::Event>) -> Vec<pb::Event> {
    events.into_iter().map(Into::into).collect()
}

fn exec_result(o: TxOutcome) -> pb::ExecTxResult {
    pb::ExecTxResult {
        code: o.code,
        data: o.data.into(),
        log: o.log,
        info: String::new(),
        gas_wanted: o.gas_wanted as i64,
        gas_used: o.gas_used as i64,
        events: to_pb_events(o.events),
        codespace: o.codespace,
    }
}

impl Application for App {
    fn info(&self, _req: RequestInfo) -> ResponseInfo {
        let (height, app_hash) = match self.block_on(self.last_committed()) {
            Ok(v) => v,
            Err(e) => {
                // Without a readable store the node must not pretend to be at genesis.
                tracing::error!("cannot read the store: {e:#}");
                std::process::exit(1);
            }
        };
        ResponseInfo {
            data: "openledger".to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            app_version: APP_VERSION,
            last_block_height: height as i64,
            last_block_app_hash: app_hash.into(),
        }
    }

    fn init_chain(&self, req: RequestInitChain) -> ResponseInitChain {
        match self.block_on(self.init_chain(&req.chain_id, &req.app_state_bytes)) {
            Ok(app_hash) => ResponseInitChain { consensus_params: None, validators: req.validators, app_hash: app_hash.into() },
            Err(e) => {
                // A genesis this app cannot read is fatal: stop rather than run a wrong chain.
                tracing::error!("InitChain failed: {} (codespace {}, code {})", e.message, e.codespace, e.code);
                std::process::exit(1);
            }
        }
    }

    fn check_tx(&self, req: RequestCheckTx) -> ResponseCheckTx {
        let recheck = req.r#type == tendermint_proto::v0_38::abci::CheckTxType::Recheck as i32;
        let o = self.block_on(self.check_tx(&req.tx, recheck));
        ResponseCheckTx {
            code: o.code,
            data: Default::default(),
            log: o.log,
            info: String::new(),
            gas_wanted: o.gas_wanted as i64,
            gas_used: o.gas_used as i64,
            events: to_pb_events(o.events),
            codespace: o.codespace,
        }
    }

    fn prepare_proposal(&self, req: RequestPrepareProposal) -> ResponsePrepareProposal {
        let max_bytes = usize::try_from(req.max_tx_bytes).unwrap_or(0);
        let params = self.block_on(self.storage().latest_snapshot().auth_params()).ok();
        let mut total = 0usize;
        let mut txs = Vec::with_capacity(req.txs.len());
        for t in req.txs {
            // Drop what would fail to decode; stop at the byte budget.
            let ok = params.as_ref().is_some_and(|p| tx::decode(&t, p, ExecMode::Finalize).is_ok());
            if !ok {
                continue;
            }
            if total.saturating_add(t.len()) > max_bytes {
                break;
            }
            total += t.len();
            txs.push(t);
        }
        ResponsePrepareProposal { txs }
    }

    fn process_proposal(&self, req: RequestProcessProposal) -> ResponseProcessProposal {
        let params = self.block_on(self.storage().latest_snapshot().auth_params()).ok();
        let all_decode = params.as_ref().is_some_and(|p| req.txs.iter().all(|t| tx::decode(t, p, ExecMode::Finalize).is_ok()));
        let status = if all_decode { ProposalStatus::Accept } else { ProposalStatus::Reject };
        ResponseProcessProposal { status: status as i32 }
    }

    fn finalize_block(&self, req: RequestFinalizeBlock) -> ResponseFinalizeBlock {
        let votes: Vec<Vote> = req
            .decided_last_commit
            .as_ref()
            .map(|c| {
                c.votes
                    .iter()
                    .filter_map(|v| {
                        let val = v.validator.as_ref()?;
                        let addr = <[u8; 20]>::try_from(val.address.as_ref()).ok()?;
                        Some(Vote {
                            consensus_address: addr,
                            power: u64::try_from(val.power).unwrap_or(0),
                            signed: v.block_id_flag == BlockIdFlag::Commit as i32,
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        let txs: Vec<Vec<u8>> = req.txs.iter().map(|t| t.to_vec()).collect();
        let height = u64::try_from(req.height).unwrap_or(0);
        let (time_seconds, time_nanos) = req.time.as_ref().map_or((0, 0), |t| (t.seconds, t.nanos));
        match self.block_on(self.finalize_block(BlockInput { height, time_seconds, time_nanos, txs: &txs, last_commit: &votes })) {
            Ok(out) => ResponseFinalizeBlock {
                events: to_pb_events(out.events),
                tx_results: out.tx_results.into_iter().map(exec_result).collect(),
                validator_updates: vec![],
                consensus_param_updates: None,
                app_hash: out.app_hash.into(),
            },
            Err(e) => {
                // Storage failure or a height mismatch: continuing would fork this node.
                tracing::error!("FinalizeBlock({height}) failed: {}", e.message);
                std::process::exit(1);
            }
        }
    }

    fn commit(&self) -> ResponseCommit {
        match self.commit() {
            Ok(height) => {
                tracing::debug!(height, "committed");
                ResponseCommit { retain_height: 0 }
            }
            Err(e) => {
                tracing::error!("Commit failed: {}", e.message);
                std::process::exit(1);
            }
        }
    }

    fn query(&self, req: RequestQuery) -> ResponseQuery {
        self.block_on(self.abci_query(req))
    }
}

impl App {
    pub async fn abci_query(&self, req: RequestQuery) -> ResponseQuery {
        let height = u64::try_from(req.height).unwrap_or(0);
        let err = |e: openledger_framework::QueryError, h: u64| {
            let (codespace, code) = e.abci_code();
            ResponseQuery { code, log: e.to_string(), codespace: codespace.to_string(), height: h as i64, ..Default::default() }
        };
        if req.path == "/cosmos.tx.v1beta1.Service/Simulate" {
            // Simulation runs on the latest state; clients (CosmJS) require its height.
            let h = self.storage().latest_snapshot().version();
            return match self.simulate_query(&req.data).await {
                Ok(v) => ResponseQuery { value: v.into(), height: h as i64, ..Default::default() },
                Err(e) => err(e, 0),
            };
        }
        let Some(route) = crate::registry::query_route(&req.path) else {
            let e = sdk::unknown_request(format!("unknown query path {:?}", req.path));
            return ResponseQuery { code: e.code, codespace: e.codespace.into(), log: e.message, ..Default::default() };
        };
        let snap = match self.snapshot_at(height) {
            Ok(s) => s,
            Err(e) => return err(e, height),
        };
        let h = snap.version();
        match (route.handler)(crate::registry::query_ctx(snap), req.data.to_vec()).await {
            Ok(value) => ResponseQuery { code: 0, value: value.into(), height: h as i64, ..Default::default() },
            Err(e) => err(e, h),
        }
    }

    async fn simulate_query(&self, data: &[u8]) -> Result<Vec<u8>, openledger_framework::QueryError> {
        use cosmos_sdk_proto::cosmos::tx::v1beta1::SimulateRequest;
        use prost::Message;
        let req = SimulateRequest::decode(data)
            .map_err(|e| openledger_framework::QueryError::invalid_argument(format!("cannot decode request: {e}")))?;
        Ok(self.simulate_request(req).await?.encode_to_vec())
    }

    /// `cosmos.tx.v1beta1.Service/Simulate`, over ABCI query and gRPC: the tx from
    /// `tx_bytes`, or from the deprecated `tx` field (cosmpy sends that one).
    pub async fn simulate_request(
        &self,
        req: cosmos_sdk_proto::cosmos::tx::v1beta1::SimulateRequest,
    ) -> Result<cosmos_sdk_proto::cosmos::tx::v1beta1::SimulateResponse, openledger_framework::QueryError> {
        use cosmos_sdk_proto::cosmos::base::abci::v1beta1::{GasInfo, Result as AbciResult};
        use cosmos_sdk_proto::cosmos::tx::v1beta1::SimulateResponse;
        use prost::Message;
        #[allow(deprecated)]
        let bytes = match (req.tx_bytes.is_empty(), req.tx.as_ref()) {
            (true, Some(tx)) => crate::rpc::cosmos::tx_to_raw(tx),
            _ => req.tx_bytes,
        };
        if bytes.is_empty() {
            return Err(openledger_framework::QueryError::invalid_argument("empty tx: set tx_bytes (or the deprecated tx)"));
        }
        let o = self.simulate(&bytes).await?;
        if o.code != 0 {
            return Err(openledger_framework::QueryError::invalid_argument(format!(
                "simulation failed: {} (codespace {}, code {})",
                o.log, o.codespace, o.code
            )));
        }
        let events = o.events.into_iter().map(|e| {
            let p: pb::Event = e.into();
            cosmos_sdk_proto::tendermint::v0_38::abci::Event {
                r#type: p.r#type,
                attributes: p
                    .attributes
                    .into_iter()
                    .map(|a| cosmos_sdk_proto::tendermint::v0_38::abci::EventAttribute { key: a.key, value: a.value, index: a.index })
                    .collect(),
            }
        });
        let msg_responses = cosmos_sdk_proto::cosmos::base::abci::v1beta1::TxMsgData::decode(o.data.as_slice())
            .map(|d| d.msg_responses)
            .unwrap_or_default();
        Ok(SimulateResponse {
            gas_info: Some(GasInfo { gas_wanted: o.gas_wanted, gas_used: o.gas_used }),
            result: Some(AbciResult { log: o.log, events: events.collect(), msg_responses, ..Default::default() }),
        })
    }
}
