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
            bail!(
                "{}",
                e.get("data").and_then(|d| d.as_str()).or_else(|| e.get("message").and_then(|m| m.as_str())).unwrap_or("rpc error")
            );
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
        let r =
            self.call("abci_query", json!({"path": path, "data": hex::encode(data), "height": height.to_string(), "prove": false})).await?;
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
            Ok(r) => Ok(Some(tx_result(hash_hex, num(&r["height"]), &r["tx_result"])?)),
            Err(e) if e.to_string().contains("not found") => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Poll until the tx is in a block, or `timeout` passes. A node that does not index
    /// txs (validators usually run with `tx_index.indexer = "null"`) is asked for its new
    /// blocks instead, from a little before the call.
    pub async fn wait_for_tx(&self, hash_hex: &str, timeout: Duration) -> Result<TxResult> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut scan_from: Option<u64> = None;
        loop {
            match scan_from {
                None => match self.tx(hash_hex).await {
                    Ok(Some(r)) => return Ok(r),
                    Ok(None) => {}
                    Err(e) if e.to_string().contains("indexing is disabled") => {
                        let latest = num(&self.status().await?["sync_info"]["latest_block_height"]);
                        // The tx was broadcast just before: at most a block or two ago.
                        scan_from = Some(latest.saturating_sub(2).max(1));
                        continue;
                    }
                    Err(e) => return Err(e),
                },
                Some(from) => {
                    let (found, next) = self.find_tx_in_blocks(hash_hex, from).await?;
                    if let Some(r) = found {
                        return Ok(r);
                    }
                    scan_from = Some(next);
                }
            }
            if tokio::time::Instant::now() >= deadline {
                bail!("tx {hash_hex} was accepted into the mempool but not included within {}s", timeout.as_secs());
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// The last height the app has committed (`abci_info`). CometBFT stores a block before
    /// executing it, and its `block_results` only once the app has finalized it, so the
    /// block store's height (`status`) can be one ahead of the heights with results.
    pub async fn app_height(&self) -> Result<u64> {
        Ok(app_height_of(&self.call("abci_info", json!({})).await?))
    }

    /// Look for the tx in the committed blocks from `from` to the app's last committed
    /// height; returns it (with its result from `block_results`) or the next height to
    /// look at. Works on a node that does not index txs.
    pub async fn find_tx_in_blocks(&self, hash_hex: &str, from: u64) -> Result<(Option<TxResult>, u64)> {
        let want = hex::decode(hash_hex).context("tx hash is not hex")?;
        let latest = self.app_height().await?;
        let mut h = from;
        while h <= latest {
            let block = self.call("block", json!({"height": h.to_string()})).await?;
            if let Some(i) = block_tx_hashes(&block)?.iter().position(|t| t.as_slice() == want.as_slice()) {
                let results = self.call("block_results", json!({"height": h.to_string()})).await?;
                return Ok((Some(tx_result(hash_hex, h, &results["txs_results"][i])?), h));
            }
            h += 1;
        }
        Ok((None, h))
    }
}

/// The app's last committed height in an `abci_info` result.
pub fn app_height_of(abci_info: &Value) -> u64 {
    num(&abci_info["response"]["last_block_height"])
}

/// A tx's result (CometBFT's `ExecTxResult` JSON) at `height`.
fn tx_result(hash_hex: &str, height: u64, res: &Value) -> Result<TxResult> {
    Ok(TxResult {
        txhash: hash_hex.to_uppercase(),
        height,
        code: num(&res["code"]) as u32,
        codespace: res["codespace"].as_str().unwrap_or("").to_string(),
        raw_log: res["log"].as_str().unwrap_or("").to_string(),
        gas_wanted: num(&res["gas_wanted"]),
        gas_used: num(&res["gas_used"]),
        data: res["data"].as_str().map(|s| b64().decode(s)).transpose()?.unwrap_or_default(),
    })
}

/// The hashes (SHA-256, as CometBFT names txs) of the txs of a `block` RPC result, in order.
pub fn block_tx_hashes(block: &Value) -> Result<Vec<[u8; 32]>> {
    use sha2::Digest;
    let txs = block["block"]["data"]["txs"].as_array().map(Vec::as_slice).unwrap_or_default();
    txs.iter()
        .map(|t| {
            let bytes = b64().decode(t.as_str().unwrap_or_default()).context("block tx is not base64")?;
            Ok(sha2::Sha256::digest(&bytes).into())
        })
        .collect()
}
