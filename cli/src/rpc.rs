//! A small CometBFT JSON-RPC client: status, broadcast, tx lookup and ABCI query.
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use base64::Engine;
use serde_json::{json, Value};

pub struct CometRpc {
    url: String,
    http: reqwest::Client,
}

#[derive(Debug, Clone)]
pub struct AbciQueryResult {
    pub code: u32,
    pub codespace: String,
    pub log: String,
    pub value: Vec<u8>,
    pub height: u64,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct TxResult {
    pub txhash: String,
    pub height: u64,
    pub code: u32,
    pub codespace: String,
    pub raw_log: String,
    pub gas_wanted: u64,
    pub gas_used: u64,
    /// `TxMsgData`: the message responses.
    #[serde(skip)]
    pub data: Vec<u8>,
}

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::STANDARD
}

pub fn num(v: &Value) -> u64 {
    match v {
        Value::String(s) => s.parse().unwrap_or(0),
        Value::Number(n) => n.as_u64().unwrap_or(0),
        _ => 0,
    }
}

impl CometRpc {
    pub fn new(url: &str) -> Self {
        let url = url.trim_end_matches('/').replace("tcp://", "http://");
        CometRpc { url, http: reqwest::Client::builder().timeout(Duration::from_secs(20)).build().unwrap_or_default() }
    }

    pub async fn call(&self, method: &str, params: Value) -> Result<Value> {
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        let resp = self
            .http
            .post(&self.url)
            .json(&body)
            .send()
            .await
            .with_context(|| format!("cannot reach the node at {} (is it running? see --node)", self.url))?;
        let v: Value = resp.json().await.with_context(|| format!("bad answer from {}", self.url))?;
        if let Some(e) = v.get("error") {
            bail!("{}", e.get("data").and_then(|d| d.as_str()).or_else(|| e.get("message").and_then(|m| m.as_str())).unwrap_or("rpc error"));
        }
        v.get("result").cloned().ok_or_else(|| anyhow!("node answer has no result"))
    }

    pub async fn status(&self) -> Result<Value> {
        self.call("status", json!({})).await
    }

    pub async fn chain_id(&self) -> Result<String> {
        let s = self.status().await?;
        s["node_info"]["network"].as_str().map(str::to_string).ok_or_else(|| anyhow!("status has no network"))
    }

    pub async fn abci_query(&self, path: &str, data: &[u8], height: u64) -> Result<AbciQueryResult> {
        let r = self
            .call("abci_query", json!({"path": path, "data": hex::encode(data), "height": height.to_string(), "prove": false}))
            .await?;
        let r = &r["response"];
        Ok(AbciQueryResult {
            code: num(&r["code"]) as u32,
            codespace: r["codespace"].as_str().unwrap_or("").to_string(),
            log: r["log"].as_str().unwrap_or("").to_string(),
            value: r["value"].as_str().map(|s| b64().decode(s)).transpose()?.unwrap_or_default(),
            height: num(&r["height"]),
        })
    }

    /// broadcast_tx_sync: returns (hash, CheckTx code, codespace, log).
    pub async fn broadcast_sync(&self, tx: &[u8]) -> Result<(String, u32, String, String)> {
        let r = self.call("broadcast_tx_sync", json!({"tx": b64().encode(tx)})).await?;
        Ok((
            r["hash"].as_str().unwrap_or("").to_string(),
            num(&r["code"]) as u32,
            r["codespace"].as_str().unwrap_or("").to_string(),
            r["log"].as_str().unwrap_or("").to_string(),
        ))
    }

    pub async fn tx(&self, hash_hex: &str) -> Result<Option<TxResult>> {
        let hash = b64().encode(hex::decode(hash_hex).context("tx hash is not hex")?);
        match self.call("tx", json!({"hash": hash, "prove": false})).await {
            Ok(r) => {
                let res = &r["tx_result"];
                Ok(Some(TxResult {
                    txhash: hash_hex.to_uppercase(),
                    height: num(&r["height"]),
                    code: num(&res["code"]) as u32,
                    codespace: res["codespace"].as_str().unwrap_or("").to_string(),
                    raw_log: res["log"].as_str().unwrap_or("").to_string(),
                    gas_wanted: num(&res["gas_wanted"]),
                    gas_used: num(&res["gas_used"]),
                    data: res["data"].as_str().map(|s| b64().decode(s)).transpose()?.unwrap_or_default(),
                }))
            }
            Err(e) if e.to_string().contains("not found") => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Poll until the tx is in a block, or `timeout` passes.
    pub async fn wait_for_tx(&self, hash_hex: &str, timeout: Duration) -> Result<TxResult> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(r) = self.tx(hash_hex).await? {
                return Ok(r);
            }
            if tokio::time::Instant::now() >= deadline {
                bail!("tx {hash_hex} was accepted into the mempool but not included within {}s", timeout.as_secs());
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}
