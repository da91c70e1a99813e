//! The Cosmos SDK services standard clients (CosmJS, cosmpy, wallets) call besides the
//! modules' queries: `cosmos.tx.v1beta1.Service`, `cosmos.base.tendermint.v1beta1.Service`
//! and `cosmos.consensus.v1.Query`. Simulation and ABCI queries are answered by the app;
//! transactions and blocks come from the CometBFT node this app runs beside, through
//! its RPC (`[cometbft] rpc` in app.toml), and are converted to the Cosmos shapes.
use std::collections::BTreeMap;
use std::sync::Arc;

use base64::Engine;
use cosmos_sdk_proto::cosmos::base::abci::v1beta1 as abciv;
use cosmos_sdk_proto::cosmos::base::tendermint::v1beta1 as tmv;
use cosmos_sdk_proto::cosmos::tx::v1beta1 as txv;
use cosmos_sdk_proto::tendermint as tmp;
use openledger_client::rpc::{num, CometRpc};
use openledger_proto::cosmos::consensus::v1 as consv;
use openledger_proto::tendermint::types as tmparams;
use prost::Message;
use serde_json::{json, Value};
use tonic::{Request, Response, Status};

use crate::App;

/// The Cosmos SDK API generation this chain's transactions, accounts and queries follow
/// (what `GetNodeInfo` reports as `cosmos_sdk_version`; clients parse it as a version).
pub const COSMOS_SDK_API_VERSION: &str = "v0.50.0";

/// Most txs a `GetTxsEvent` page returns (CometBFT's `tx_search` cap).
const MAX_TXS_PAGE: u64 = 100;

#[derive(Clone)]
pub struct CosmosServices {
    app: App,
    rpc: Option<Arc<CometRpc>>,
    rpc_url: String,
}

impl CosmosServices {
    pub fn new(app: App, cometbft_rpc: Option<String>) -> Self {
        let rpc_url = cometbft_rpc.clone().unwrap_or_default();
        CosmosServices { app, rpc: cometbft_rpc.map(|u| Arc::new(CometRpc::new(&u))), rpc_url }
    }

    #[allow(clippy::result_large_err)] // tonic::Status is what every handler returns
    fn rpc(&self) -> Result<&CometRpc, Status> {
        self.rpc
            .as_deref()
            .ok_or_else(|| Status::unavailable("this gRPC server has no CometBFT RPC configured ([cometbft] rpc in app.toml)"))
    }

    async fn call(&self, method: &str, params: Value) -> Result<Value, Status> {
        let rpc = self.rpc()?;
        rpc.call(method, params).await.map_err(|e| {
            let msg = format!("{e:#}");
            if msg.contains("cannot reach") {
                Status::unavailable(format!("CometBFT RPC at {}: {msg}", self.rpc_url))
            } else if msg.contains("not found") {
                Status::not_found(msg)
            } else {
                Status::invalid_argument(msg)
            }
        })
    }

    /// The block time of `height` (RFC 3339, as CometBFT prints it).
    async fn block_time(&self, height: u64, cache: &mut BTreeMap<u64, String>) -> Result<String, Status> {
        if let Some(t) = cache.get(&height) {
            return Ok(t.clone());
        }
        let h = self.call("header", json!({ "height": height.to_string() })).await?;
        let t = h["header"]["time"].as_str().unwrap_or_default().to_string();
        cache.insert(height, t.clone());
        Ok(t)
    }

    /// A CometBFT `tx` / `tx_search` result as the Cosmos (Tx, TxResponse) pair.
    async fn tx_pair(&self, r: &Value, times: &mut BTreeMap<u64, String>) -> Result<(txv::Tx, abciv::TxResponse), Status> {
        let bytes = b64(&r["tx"]);
        let tx = tx_from_raw(&bytes).map_err(|e| Status::internal(format!("stored tx does not decode: {e}")))?;
        let res = &r["tx_result"];
        let height = num(&r["height"]);
        let resp = abciv::TxResponse {
            height: height as i64,
            txhash: r["hash"].as_str().unwrap_or_default().to_uppercase(),
            codespace: str_of(&res["codespace"]),
            code: num(&res["code"]) as u32,
            data: hex::encode_upper(b64(&res["data"])),
            raw_log: str_of(&res["log"]),
            logs: vec![],
            info: str_of(&res["info"]),
            gas_wanted: num(&res["gas_wanted"]) as i64,
            gas_used: num(&res["gas_used"]) as i64,
            tx: Some(cosmos_sdk_proto::Any { type_url: "/cosmos.tx.v1beta1.Tx".into(), value: tx.encode_to_vec() }),
            timestamp: self.block_time(height, times).await?,
            events: events(&res["events"]),
        };
        Ok((tx, resp))
    }
}

fn str_of(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

fn b64(v: &Value) -> Vec<u8> {
    v.as_str().and_then(|s| base64::engine::general_purpose::STANDARD.decode(s).ok()).unwrap_or_default()
}

fn hexb(v: &Value) -> Vec<u8> {
    v.as_str().and_then(|s| hex::decode(s).ok()).unwrap_or_default()
}

fn time(v: &Value) -> Option<tmp::google::protobuf::Timestamp> {
    let t = tendermint::Time::parse_from_rfc3339(v.as_str()?).ok()?;
    Some(t.into())
}

fn events(v: &Value) -> Vec<tmp::abci::Event> {
    v.as_array()
        .map(|es| {
            es.iter()
                .map(|e| tmp::abci::Event {
                    r#type: str_of(&e["type"]),
                    attributes: e["attributes"]
                        .as_array()
                        .map(|a| {
                            a.iter()
                                .map(|a| tmp::abci::EventAttribute {
                                    key: str_of(&a["key"]),
                                    value: str_of(&a["value"]),
                                    index: a["index"].as_bool().unwrap_or(false),
                                })
                                .collect()
                        })
                        .unwrap_or_default(),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// TxRaw bytes as a Tx (body and auth info decoded).
pub fn tx_from_raw(bytes: &[u8]) -> Result<txv::Tx, prost::DecodeError> {
    let raw = txv::TxRaw::decode(bytes)?;
    Ok(txv::Tx {
        body: Some(txv::TxBody::decode(raw.body_bytes.as_slice())?),
        auth_info: Some(txv::AuthInfo::decode(raw.auth_info_bytes.as_slice())?),
        signatures: raw.signatures,
    })
}

/// A Tx as TxRaw bytes (the deprecated `SimulateRequest.tx` field).
pub fn tx_to_raw(tx: &txv::Tx) -> Vec<u8> {
    txv::TxRaw {
        body_bytes: tx.body.as_ref().map(Message::encode_to_vec).unwrap_or_default(),
        auth_info_bytes: tx.auth_info.as_ref().map(Message::encode_to_vec).unwrap_or_default(),
        signatures: tx.signatures.clone(),
    }
    .encode_to_vec()
}

fn block_id(v: &Value) -> tmp::types::BlockId {
    tmp::types::BlockId {
        hash: hexb(&v["hash"]),
        part_set_header: Some(tmp::types::PartSetHeader { total: num(&v["parts"]["total"]) as u32, hash: hexb(&v["parts"]["hash"]) }),
    }
}

/// The fields both header shapes share; the proposer differs (bytes vs bech32).
struct HeaderParts {
    version: tmp::version::Consensus,
    chain_id: String,
    height: i64,
    time: Option<tmp::google::protobuf::Timestamp>,
    last_block_id: tmp::types::BlockId,
    hashes: [Vec<u8>; 8],
    proposer: Vec<u8>,
}

fn header_parts(h: &Value) -> HeaderParts {
    let f = |k: &str| hexb(&h[k]);
    HeaderParts {
        version: tmp::version::Consensus { block: num(&h["version"]["block"]), app: num(&h["version"]["app"]) },
        chain_id: str_of(&h["chain_id"]),
        height: num(&h["height"]) as i64,
        time: time(&h["time"]),
        last_block_id: block_id(&h["last_block_id"]),
        hashes: [
            f("last_commit_hash"),
            f("data_hash"),
            f("validators_hash"),
            f("next_validators_hash"),
            f("consensus_hash"),
            f("app_hash"),
            f("last_results_hash"),
            f("evidence_hash"),
        ],
        proposer: f("proposer_address"),
    }
}

fn commit(c: &Value) -> tmp::types::Commit {
    tmp::types::Commit {
        height: num(&c["height"]) as i64,
        round: num(&c["round"]) as i32,
        block_id: Some(block_id(&c["block_id"])),
        signatures: c["signatures"]
            .as_array()
            .map(|s| {
                s.iter()
                    .map(|s| tmp::types::CommitSig {
                        block_id_flag: num(&s["block_id_flag"]) as i32,
                        validator_address: hexb(&s["validator_address"]),
                        timestamp: time(&s["timestamp"]),
                        signature: b64(&s["signature"]),
                    })
                    .collect()
            })
            .unwrap_or_default(),
    }
}

/// A CometBFT `block` result as (block id, block, SDK block).
fn blocks(r: &Value) -> (tmp::types::BlockId, tmp::types::Block, tmv::Block) {
    let b = &r["block"];
    let data = tmp::types::Data { txs: b["data"]["txs"].as_array().map(|t| t.iter().map(b64).collect()).unwrap_or_default() };
    let last_commit = commit(&b["last_commit"]);
    let p = header_parts(&b["header"]);
    let [last_commit_hash, data_hash, validators_hash, next_validators_hash, consensus_hash, app_hash, last_results_hash, evidence_hash] =
        p.hashes;
    let proposer_bech32 = cosmrs::AccountId::new("openvalcons", &p.proposer).map(|a| a.to_string()).unwrap_or_default();
    let header = tmp::types::Header {
        version: Some(p.version),
        chain_id: p.chain_id.clone(),
        height: p.height,
        time: p.time,
        last_block_id: Some(p.last_block_id.clone()),
        last_commit_hash: last_commit_hash.clone(),
        data_hash: data_hash.clone(),
        validators_hash: validators_hash.clone(),
        next_validators_hash: next_validators_hash.clone(),
        consensus_hash: consensus_hash.clone(),
        app_hash: app_hash.clone(),
        last_results_hash: last_results_hash.clone(),
        evidence_hash: evidence_hash.clone(),
        proposer_address: p.proposer,
    };
    let sdk_header = tmv::Header {
        version: Some(p.version),
        chain_id: p.chain_id,
        height: p.height,
        time: p.time,
        last_block_id: Some(p.last_block_id),
        last_commit_hash,
        data_hash,
        validators_hash,
        next_validators_hash,
        consensus_hash,
        app_hash,
        last_results_hash,
        evidence_hash,
        proposer_address: proposer_bech32,
    };
    let evidence = tmp::types::EvidenceList { evidence: vec![] };
    let block = tmp::types::Block {
        header: Some(header),
        data: Some(data.clone()),
        evidence: Some(evidence.clone()),
        last_commit: Some(last_commit.clone()),
    };
    let sdk_block = tmv::Block { header: Some(sdk_header), data: Some(data), evidence: Some(evidence), last_commit: Some(last_commit) };
    (block_id(&r["block_id"]), block, sdk_block)
}

#[tonic::async_trait]
impl txv::service_server::Service for CosmosServices {
    async fn simulate(&self, request: Request<txv::SimulateRequest>) -> Result<Response<txv::SimulateResponse>, Status> {
        let r = self.app.simulate_request(request.into_inner()).await.map_err(crate::rpc::grpc::status)?;
        Ok(Response::new(r))
    }

    async fn get_tx(&self, request: Request<txv::GetTxRequest>) -> Result<Response<txv::GetTxResponse>, Status> {
        let hash = request.into_inner().hash;
        let bytes = hex::decode(&hash)
            .ok()
            .filter(|b| b.len() == 32)
            .ok_or_else(|| Status::invalid_argument(format!("tx hash {hash:?} is not 64 hex characters")))?;
        let r = match self.call("tx", json!({ "hash": base64::engine::general_purpose::STANDARD.encode(bytes), "prove": false })).await {
            Err(s) if s.code() == tonic::Code::NotFound => return Err(Status::not_found(format!("tx not found: {}", hash.to_uppercase()))),
            other => other?,
        };
        let (tx, resp) = self.tx_pair(&r, &mut BTreeMap::new()).await?;
        Ok(Response::new(txv::GetTxResponse { tx: Some(tx), tx_response: Some(resp) }))
    }

    async fn broadcast_tx(&self, request: Request<txv::BroadcastTxRequest>) -> Result<Response<txv::BroadcastTxResponse>, Status> {
        let req = request.into_inner();
        let method = match txv::BroadcastMode::try_from(req.mode) {
            Ok(txv::BroadcastMode::Sync) => "broadcast_tx_sync",
            Ok(txv::BroadcastMode::Async) => "broadcast_tx_async",
            _ => return Err(Status::invalid_argument("broadcast mode must be BROADCAST_MODE_SYNC or BROADCAST_MODE_ASYNC")),
        };
        if req.tx_bytes.is_empty() {
            return Err(Status::invalid_argument("tx_bytes is empty"));
        }
        let r = self.call(method, json!({ "tx": base64::engine::general_purpose::STANDARD.encode(&req.tx_bytes) })).await?;
        Ok(Response::new(txv::BroadcastTxResponse {
            tx_response: Some(abciv::TxResponse {
                txhash: str_of(&r["hash"]).to_uppercase(),
                code: num(&r["code"]) as u32,
                codespace: str_of(&r["codespace"]),
                raw_log: str_of(&r["log"]),
                data: hex::encode_upper(b64(&r["data"])),
                ..Default::default()
            }),
        }))
    }

    async fn get_txs_event(&self, request: Request<txv::GetTxsEventRequest>) -> Result<Response<txv::GetTxsEventResponse>, Status> {
        let req = request.into_inner();
        #[allow(deprecated)]
        let query = if req.query.is_empty() { req.events.join(" AND ") } else { req.query };
        if query.trim().is_empty() {
            return Err(Status::invalid_argument("query cannot be empty (e.g. \"message.sender='open1…'\")"));
        }
        let limit = match req.limit {
            0 => MAX_TXS_PAGE,
            l if l > MAX_TXS_PAGE => return Err(Status::invalid_argument(format!("limit {l} exceeds {MAX_TXS_PAGE}"))),
            l => l,
        };
        let order = if req.order_by == txv::OrderBy::Desc as i32 { "desc" } else { "asc" };
        let r = self
            .call("tx_search", json!({ "query": query, "prove": false, "page": req.page.max(1).to_string(), "per_page": limit.to_string(), "order_by": order }))
            .await?;
        let mut times = BTreeMap::new();
        let mut txs = Vec::new();
        let mut tx_responses = Vec::new();
        for t in r["txs"].as_array().cloned().unwrap_or_default() {
            let (tx, resp) = self.tx_pair(&t, &mut times).await?;
            txs.push(tx);
            tx_responses.push(resp);
        }
        #[allow(deprecated)]
        Ok(Response::new(txv::GetTxsEventResponse { txs, tx_responses, pagination: None, total: num(&r["total_count"]) }))
    }

    async fn get_block_with_txs(&self, _: Request<txv::GetBlockWithTxsRequest>) -> Result<Response<txv::GetBlockWithTxsResponse>, Status> {
        Err(Status::unimplemented(
            "GetBlockWithTxs is not served; use cosmos.base.tendermint.v1beta1.Service/GetBlockByHeight or the block stream",
        ))
    }

    async fn tx_decode(&self, request: Request<txv::TxDecodeRequest>) -> Result<Response<txv::TxDecodeResponse>, Status> {
        let tx =
            tx_from_raw(&request.into_inner().tx_bytes).map_err(|e| Status::invalid_argument(format!("tx_bytes do not decode: {e}")))?;
        Ok(Response::new(txv::TxDecodeResponse { tx: Some(tx) }))
    }

    async fn tx_encode(&self, request: Request<txv::TxEncodeRequest>) -> Result<Response<txv::TxEncodeResponse>, Status> {
        let tx = request.into_inner().tx.ok_or_else(|| Status::invalid_argument("tx is missing"))?;
        Ok(Response::new(txv::TxEncodeResponse { tx_bytes: tx_to_raw(&tx) }))
    }

    async fn tx_encode_amino(&self, _: Request<txv::TxEncodeAminoRequest>) -> Result<Response<txv::TxEncodeAminoResponse>, Status> {
        Err(Status::unimplemented("amino JSON is not supported: sign with SIGN_MODE_DIRECT"))
    }

    async fn tx_decode_amino(&self, _: Request<txv::TxDecodeAminoRequest>) -> Result<Response<txv::TxDecodeAminoResponse>, Status> {
        Err(Status::unimplemented("amino JSON is not supported: sign with SIGN_MODE_DIRECT"))
    }
}

#[tonic::async_trait]
impl tmv::service_server::Service for CosmosServices {
    async fn get_node_info(&self, _: Request<tmv::GetNodeInfoRequest>) -> Result<Response<tmv::GetNodeInfoResponse>, Status> {
        let s = self.call("status", json!({})).await?;
        let n = &s["node_info"];
        let pv = &n["protocol_version"];
        let info = tmp::p2p::DefaultNodeInfo {
            protocol_version: Some(tmp::p2p::ProtocolVersion { p2p: num(&pv["p2p"]), block: num(&pv["block"]), app: num(&pv["app"]) }),
            default_node_id: str_of(&n["id"]),
            listen_addr: str_of(&n["listen_addr"]),
            network: str_of(&n["network"]),
            version: str_of(&n["version"]),
            channels: hexb(&n["channels"]),
            moniker: str_of(&n["moniker"]),
            other: Some(tmp::p2p::DefaultNodeInfoOther {
                tx_index: str_of(&n["other"]["tx_index"]),
                rpc_address: str_of(&n["other"]["rpc_address"]),
            }),
        };
        let version = tmv::VersionInfo {
            name: "openledger".into(),
            app_name: "openledgerd".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            cosmos_sdk_version: COSMOS_SDK_API_VERSION.into(),
            ..Default::default()
        };
        Ok(Response::new(tmv::GetNodeInfoResponse { default_node_info: Some(info), application_version: Some(version) }))
    }

    async fn get_syncing(&self, _: Request<tmv::GetSyncingRequest>) -> Result<Response<tmv::GetSyncingResponse>, Status> {
        let s = self.call("status", json!({})).await?;
        Ok(Response::new(tmv::GetSyncingResponse { syncing: s["sync_info"]["catching_up"].as_bool().unwrap_or(false) }))
    }

    async fn get_latest_block(&self, _: Request<tmv::GetLatestBlockRequest>) -> Result<Response<tmv::GetLatestBlockResponse>, Status> {
        let r = self.call("block", json!({})).await?;
        let (id, block, sdk_block) = blocks(&r);
        #[allow(deprecated)]
        Ok(Response::new(tmv::GetLatestBlockResponse { block_id: Some(id), block: Some(block), sdk_block: Some(sdk_block) }))
    }

    async fn get_block_by_height(
        &self,
        request: Request<tmv::GetBlockByHeightRequest>,
    ) -> Result<Response<tmv::GetBlockByHeightResponse>, Status> {
        let height = request.into_inner().height;
        if height <= 0 {
            return Err(Status::invalid_argument(format!("height {height} must be positive")));
        }
        let r = self.call("block", json!({ "height": height.to_string() })).await?;
        let (id, block, sdk_block) = blocks(&r);
        #[allow(deprecated)]
        Ok(Response::new(tmv::GetBlockByHeightResponse { block_id: Some(id), block: Some(block), sdk_block: Some(sdk_block) }))
    }

    async fn get_latest_validator_set(
        &self,
        _: Request<tmv::GetLatestValidatorSetRequest>,
    ) -> Result<Response<tmv::GetLatestValidatorSetResponse>, Status> {
        Err(Status::unimplemented("validator sets are served by CometBFT's RPC (/validators)"))
    }

    async fn get_validator_set_by_height(
        &self,
        _: Request<tmv::GetValidatorSetByHeightRequest>,
    ) -> Result<Response<tmv::GetValidatorSetByHeightResponse>, Status> {
        Err(Status::unimplemented("validator sets are served by CometBFT's RPC (/validators)"))
    }

    async fn abci_query(&self, request: Request<tmv::AbciQueryRequest>) -> Result<Response<tmv::AbciQueryResponse>, Status> {
        let q = request.into_inner();
        let r = self
            .app
            .abci_query(tendermint_proto::v0_38::abci::RequestQuery { data: q.data.into(), path: q.path, height: q.height, prove: q.prove })
            .await;
        Ok(Response::new(tmv::AbciQueryResponse {
            code: r.code,
            log: r.log,
            info: r.info,
            index: r.index,
            key: r.key.to_vec(),
            value: r.value.to_vec(),
            proof_ops: None,
            height: r.height,
            codespace: r.codespace,
        }))
    }
}

#[tonic::async_trait]
impl consv::query_server::Query for CosmosServices {
    async fn params(&self, _: Request<consv::QueryParamsRequest>) -> Result<Response<consv::QueryParamsResponse>, Status> {
        let r = self.call("consensus_params", json!({})).await?;
        let p = &r["consensus_params"];
        let signed = |v: &Value| -> i64 {
            match v {
                Value::String(s) => s.parse().unwrap_or(0),
                Value::Number(n) => n.as_i64().unwrap_or(0),
                _ => 0,
            }
        };
        let params = tmparams::ConsensusParams {
            block: Some(tmparams::BlockParams { max_bytes: signed(&p["block"]["max_bytes"]), max_gas: signed(&p["block"]["max_gas"]) }),
            evidence: Some(tmparams::EvidenceParams {
                max_age_num_blocks: signed(&p["evidence"]["max_age_num_blocks"]),
                max_age_duration: {
                    let ns = signed(&p["evidence"]["max_age_duration"]);
                    Some(prost_types::Duration { seconds: ns / 1_000_000_000, nanos: (ns % 1_000_000_000) as i32 })
                },
                max_bytes: signed(&p["evidence"]["max_bytes"]),
            }),
            validator: Some(tmparams::ValidatorParams {
                pub_key_types: p["validator"]["pub_key_types"].as_array().map(|a| a.iter().map(str_of).collect()).unwrap_or_default(),
            }),
            version: Some(tmparams::VersionParams { app: num(&p["version"]["app"]) }),
            abci: Some(tmparams::AbciParams { vote_extensions_enable_height: signed(&p["abci"]["vote_extensions_enable_height"]) }),
        };
        Ok(Response::new(consv::QueryParamsResponse { params: Some(params) }))
    }
}
