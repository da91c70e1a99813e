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
use openledger_framework::{sdk, Vote};

use crate::app::App;
use crate::exec::pipeline::TxOutcome;
use crate::exec::proposal::{Vet, Vetted};
use crate::exec::BlockInput;

pub const APP_VERSION: u64 = 1;

/// Stop the node: a fault while handling a consensus request (the store failed, or the
/// request cannot be for this state). Nothing of the block is committed; restarted once
/// the fault is fixed, CometBFT's handshake replays from the last committed height.
pub(crate) fn fault(request: &str, height: Option<i64>, e: &openledger_framework::ChainError) -> ! {
    let at = height.map(|h| format!(" at height {h}")).unwrap_or_default();
    let line = format!(
        "FATAL: {request}{at} failed: {} (codespace {}, code {}); stopping before anything of this block is committed: fix the fault and restart, the node resumes from its last committed height",
        e.message, e.codespace, e.code
    );
    tracing::error!("{line}");
    if !tracing::dispatcher::has_been_set() {
        // Embedded (a test, say) without a log subscriber: the reason must still show.
        eprintln!("{line}");
    }
    std::process::exit(1)
}

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
        match self.abci_init_chain(req) {
            Ok(resp) => resp,
            // A genesis this app cannot read is fatal: stop rather than run a wrong chain.
            // (The socket server answers a refused one without stopping.)
            Err(e) => fault("InitChain", None, &e),
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
        let txs: Vec<Vec<u8>> = req.txs.iter().map(|t| t.to_vec()).collect();
        match self.block_on(self.vet_proposal(&txs, Vet::Prepare { max_bytes })) {
            Ok(Vetted::Valid(kept)) => {
                let mut req_txs = req.txs;
                let mut out = Vec::with_capacity(kept.len());
                for i in kept {
                    out.push(std::mem::take(&mut req_txs[i]));
                }
                if out.len() < txs.len() {
                    tracing::debug!(height = req.height, offered = txs.len(), kept = out.len(), "prepared a proposal");
                }
                ResponsePrepareProposal { txs: out }
            }
            Ok(Vetted::Invalid { .. }) => ResponsePrepareProposal { txs: vec![] },
            Err(e) => fault("PrepareProposal", Some(req.height), &e),
        }
    }

    fn process_proposal(&self, req: RequestProcessProposal) -> ResponseProcessProposal {
        let txs: Vec<Vec<u8>> = req.txs.iter().map(|t| t.to_vec()).collect();
        let status = match self.block_on(self.vet_proposal(&txs, Vet::Process)) {
            Ok(Vetted::Valid(_)) => ProposalStatus::Accept,
            Ok(Vetted::Invalid { index, refusal }) => {
                tracing::warn!(
                    height = req.height,
                    "rejecting the proposal: tx {index} of {}: {} (codespace {}, code {})",
                    txs.len(),
                    refusal.log,
                    refusal.codespace,
                    refusal.code
                );
                ProposalStatus::Reject
            }
            Err(e) => fault("ProcessProposal", Some(req.height), &e),
        };
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
            // A storage failure or a height mismatch: continuing would fork this node.
            Err(e) => fault("FinalizeBlock", Some(height as i64), &e),
        }
    }

    fn commit(&self) -> ResponseCommit {
        match self.commit() {
            Ok(height) => {
                tracing::debug!(height, "committed");
                ResponseCommit { retain_height: retain_height(height, self.settings().retain_blocks) }
            }
            Err(e) => fault("Commit", None, &e),
        }
    }

    /// CometBFT's public `abci_query` lands here: the same deadline as gRPC and REST, and
    /// the same low-priority runtime.
    fn query(&self, req: RequestQuery) -> ResponseQuery {
        let limit = self.settings().rpc.request_timeout;
        let app = self.clone();
        let answered = self.rpc_runtime().block_on(self.rpc_runtime().spawn(async move {
            let started = std::time::Instant::now();
            match tokio::time::timeout(limit, app.abci_query(req)).await {
                Ok(r) if started.elapsed() <= limit => Some(r),
                _ => None,
            }
        }));
        let e = match answered {
            Ok(Some(r)) => return r,
            Ok(None) => sdk::internal(format!("query not answered within this node's {} ms limit", limit.as_millis())),
            Err(e) => sdk::internal(format!("query failed: {e}")),
        };
        ResponseQuery { code: e.code, codespace: e.codespace.into(), log: e.message, ..Default::default() }
    }
}

/// The lowest height CometBFT must keep after committing `height` so that the latest
/// `keep` blocks remain (0: keep everything, as 0 tells CometBFT).
pub fn retain_height(height: u64, keep: u64) -> i64 {
    if keep == 0 {
        return 0;
    }
    i64::try_from(height.saturating_add(1).saturating_sub(keep)).unwrap_or(0)
}

/// Whether an InitChain error is a refusal (`sdk::invalid_height`: the chain is past
/// genesis, or this process already initialised it) rather than a genesis that fails.
pub(crate) fn init_chain_refused(e: &openledger_framework::ChainError) -> bool {
    e.codespace == sdk::CODESPACE && e.code == sdk::invalid_height("").code
}

impl App {
    /// InitChain: genesis written (or found written by an earlier start that crashed
    /// before block 1), and CometBFT told the block gas limit, a chain rule
    /// (`max_block_gas`), so its mempool reaps blocks within it. Refused — `Err` with
    /// `sdk::invalid_height`, which the socket server answers as an exception without
    /// stopping — once this process has handled one, or once the chain is past genesis.
    pub fn abci_init_chain(&self, req: RequestInitChain) -> Result<ResponseInitChain, openledger_framework::ChainError> {
        if self.inner.init_chain_done.swap(true, std::sync::atomic::Ordering::SeqCst) {
            return Err(sdk::invalid_height("InitChain refused: this process has already handled one"));
        }
        let app_hash = self.block_on(self.init_chain(&req.chain_id, &req.app_state_bytes)).inspect_err(|e| {
            if init_chain_refused(e) {
                // Not this process's InitChain: a later, legitimate one may still come.
                self.inner.init_chain_done.store(false, std::sync::atomic::Ordering::SeqCst);
            }
        })?;
        let params = self.block_on(self.storage().latest_snapshot().auth_params())?;
        let consensus_params = req.consensus_params.map(|mut cp| {
            let mut block = cp.block.unwrap_or_default();
            block.max_gas = params.max_block_gas as i64;
            cp.block = Some(block);
            cp
        });
        Ok(ResponseInitChain { consensus_params, validators: req.validators, app_hash: app_hash.into() })
    }

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
