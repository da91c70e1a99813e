//! `openledgerd export`: the genesis document of a new chain that starts from a node's
//! committed state. `app_state` is `genesis::export_app_state` (the inverse of genesis
//! import for every module); the consensus parameters and validators are the node's
//! genesis ones (this chain never changes either after genesis).
//!
//! The new chain starts at height 1: cnidarium numbers store versions from genesis, so a
//! chain cannot begin at `initial_height` H+1 yet. Heights recorded in module state
//! (windows, deadlines) keep their values, so a window open at export closes that many
//! blocks later on the new chain.
use anyhow::{bail, Context, Result};
use cnidarium::Storage;
use serde_json::{json, Value};

use crate::app::{block_time_seconds, App};

/// The genesis, for chain `new_chain_id`, of the state at `height` (default the latest
/// committed one). Only the latest state and the recent snapshots a running store keeps
/// in memory are readable; a reopened store has only its latest.
///
/// The new chain must have a chain id of its own: every account's number and sequence
/// carry over, so a tx signed for the old chain (whose sign bytes name its chain id)
/// and not yet included would otherwise be valid on the new one.
pub async fn genesis_doc(storage: &Storage, height: Option<u64>, base: &Value, new_chain_id: &str) -> Result<Value> {
    let latest = storage.latest_snapshot();
    let top = latest.version();
    if top == u64::MAX {
        bail!("the store has no committed state yet");
    }
    let snap = match height {
        None => latest,
        Some(h) if h == top => latest,
        Some(h) if h > top => bail!("height {h} is above the latest committed height {top}"),
        Some(h) => storage.snapshot(h).with_context(|| {
            format!(
                "height {h} is not available: this store can be read at its latest height {top} only \
                 (older versions are kept only as a running node's last few snapshots); stop the node at the height to export"
            )
        })?,
    };
    let chain_error = |e: openledger_framework::ChainError| anyhow::anyhow!("{} (codespace {}, code {})", e.message, e.codespace, e.code);
    let app_state = crate::genesis::export_app_state(&snap).await.map_err(chain_error)?;
    let chain_id = App::chain_id(&snap).await.map_err(chain_error)?;
    if new_chain_id == chain_id {
        bail!("the exported chain needs a chain id other than {chain_id:?}: txs signed for {chain_id:?} would replay on it");
    }
    if new_chain_id.is_empty() || new_chain_id.len() > 50 || !new_chain_id.chars().all(|c| c.is_ascii_graphic()) {
        bail!("chain id {new_chain_id:?}: 1 to 50 printable ASCII characters, no spaces (CometBFT's rule)");
    }
    let genesis_time = match block_time_seconds(&snap).await.map_err(chain_error)? {
        Some(secs) => tendermint::Time::from_unix_timestamp(secs, 0).context("block time out of range")?.to_rfc3339(),
        None => base["genesis_time"].as_str().context("genesis has no genesis_time")?.to_string(),
    };
    for field in ["consensus_params", "validators"] {
        if base.get(field).is_none() {
            bail!("the node's genesis has no {field}");
        }
    }
    Ok(json!({
        "genesis_time": genesis_time,
        "chain_id": new_chain_id,
        "initial_height": "1",
        "consensus_params": base["consensus_params"],
        "validators": base["validators"],
        "app_hash": "",
        "app_state": serde_json::to_value(&app_state)?,
    }))
}
