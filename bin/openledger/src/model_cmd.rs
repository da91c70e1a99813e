//! `openledger tx model …` and `openledger q model …`.
use std::path::PathBuf;

use anyhow::{anyhow, bail, Context, Result};
use clap::{Subcommand, ValueEnum};
use openledger_client::keyring::Keyring;
use openledger_client::output::{self, Format};
use openledger_proto::openledger::model::v1 as md;

use crate::broadcast::{self, parse_uopen, status_error, uopen, Intent, Signer};
use crate::page::PageArgs;
use crate::{resolve_address, NodeOpts};
use openledger_client::txbuilder::any;

#[derive(Clone, Copy, ValueEnum)]
pub enum ModelStatus {
    Active,
    /// Final: a retired model takes no more inferences and cannot be updated.
    Retired,
}

#[derive(Subcommand)]
#[allow(clippy::large_enum_variant)] // parsed once per run
pub enum ModelTxCmd {
    /// Register a model trained on published datanet versions; you are its owner.
    Register {
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "")]
        base_model: String,
        /// The model artifact: its SHA-256 is computed here (or give --artifact-hash).
        #[arg(long, conflicts_with = "artifact_hash")]
        artifact_file: Option<PathBuf>,
        /// SHA-256 of the artifact, hex.
        #[arg(long)]
        artifact_hash: Option<String>,
        #[arg(long)]
        artifact_uri: String,
        /// A training entry DATANET:VERSION:WEIGHT_BPS (weights sum to 10000); repeat
        /// for several. DATANET:VERSION alone is the whole 10000.
        #[arg(long = "train", required = true)]
        training_set: Vec<String>,
        /// An operator allowed to serve it (key name or address); repeat for several.
        #[arg(long = "operator", required = true)]
        operators: Vec<String>,
        /// Price per inference unit, e.g. 50uopen.
        #[arg(long)]
        price: String,
        /// Fee split OWNER,CONTRIBUTORS,DATANET_OWNERS,PROTOCOL[,OPERATOR] in bps, summing to 10000.
        #[arg(long)]
        fee_split: String,
        /// Operator bond held by the module, e.g. 100000000uopen.
        #[arg(long)]
        bond: String,
        #[command(flatten)]
        signer: Signer,
    },
    /// Change a model you own: price, operators, or retire it. Applies only to
    /// inferences paid after it.
    Update {
        model_id: u64,
        #[arg(long)]
        price: Option<String>,
        #[arg(long, value_enum)]
        status: Option<ModelStatus>,
        /// Replace the operators (repeat for several).
        #[arg(long = "operator")]
        operators: Vec<String>,
        /// A new fee split OWNER,CONTRIBUTORS,DATANET_OWNERS,PROTOCOL[,OPERATOR] in bps (a new terms version).
        #[arg(long = "fee-split")]
        fee_split: Option<String>,
        #[command(flatten)]
        signer: Signer,
    },
    /// Take back the bond of a model you retired, once the unbonding period has passed.
    WithdrawBond {
        model_id: u64,
        #[command(flatten)]
        signer: Signer,
    },
}

#[derive(Subcommand)]
pub enum ModelQueryCmd {
    /// The module's parameters.
    Params,
    /// One model.
    Model { id: u64 },
    /// All models.
    Models {
        #[command(flatten)]
        page: PageArgs,
    },
    /// Models trained on a datanet.
    ModelsByDatanet {
        datanet_id: u64,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Models of an owner.
    ModelsByOwner {
        owner: String,
        #[command(flatten)]
        page: PageArgs,
    },
}

/// `DATANET:VERSION[:WEIGHT_BPS]`.
fn training_entry(s: &str, alone: bool) -> Result<md::TrainingEntry> {
    let parts: Vec<&str> = s.split(':').collect();
    let num = |p: &str, what: &str| p.parse::<u64>().map_err(|_| anyhow!("--train {s:?}: {what} {p:?} is not a number"));
    let (datanet_id, version, weight_bps) = match parts.as_slice() {
        [d, v] if alone => (num(d, "datanet")?, num(v, "version")?, 10_000),
        [d, v] => bail!("--train {s:?}: with several entries each needs a weight, {d}:{v}:WEIGHT_BPS"),
        [d, v, w] => (num(d, "datanet")?, num(v, "version")?, num(w, "weight")?),
        _ => bail!("--train {s:?}: expected DATANET:VERSION:WEIGHT_BPS"),
    };
    let weight_bps = u32::try_from(weight_bps).map_err(|_| anyhow!("--train {s:?}: weight too large"))?;
    Ok(md::TrainingEntry { datanet_id, version, weight_bps })
}

fn fee_split(s: &str) -> Result<md::FeeSplit> {
    let parts = s
        .split(',')
        .map(|p| p.trim().parse::<u32>().map_err(|_| anyhow!("--fee-split {s:?}: {p:?} is not a number of bps")))
        .collect::<Result<Vec<_>>>()?;
    let split = |p: &[u32], operator_bps: u32| md::FeeSplit {
        owner_bps: p[0],
        contributors_bps: p[1],
        datanet_owners_bps: p[2],
        protocol_bps: p[3],
        operator_bps,
    };
    match parts.as_slice() {
        [_, _, _, _] => Ok(split(&parts, 0)),
        [_, _, _, _, operator] => Ok(split(&parts, *operator)),
        _ => bail!("--fee-split {s:?}: expected OWNER,CONTRIBUTORS,DATANET_OWNERS,PROTOCOL[,OPERATOR] in bps"),
    }
}

fn operators(kr: &Keyring, list: &[String]) -> Result<Vec<String>> {
    list.iter().map(|s| resolve_address(kr, s).map(|a| a.to_string())).collect()
}

pub async fn tx(kr: Keyring, node: &crate::NodeOpts, cmd: ModelTxCmd) -> Result<()> {
    let (signer, intent) = match cmd {
        ModelTxCmd::Register {
            name,
            base_model,
            artifact_file,
            artifact_hash,
            artifact_uri,
            training_set,
            operators: ops,
            price,
            fee_split: split,
            bond,
            signer,
        } => {
            let owner = kr.resolve(&signer.from)?.address;
            let artifact_hash = match (artifact_file, artifact_hash) {
                (Some(path), _) => crate::content::digest_file(&path, None)?.sha256.to_vec(),
                (None, Some(h)) => hex::decode(h.trim_start_matches("0x")).map_err(|e| anyhow!("--artifact-hash is not hex: {e}"))?,
                (None, None) => bail!("give the artifact: --artifact-file PATH or --artifact-hash HEX"),
            };
            let alone = training_set.len() == 1;
            let bond = parse_uopen(&bond, "--bond")?;
            let m = md::MsgRegisterModel {
                owner: owner.to_string(),
                name,
                base_model,
                artifact_hash,
                artifact_uri,
                training_set: training_set.iter().map(|s| training_entry(s, alone)).collect::<Result<_>>()?,
                operators: operators(&kr, &ops)?,
                price_per_unit: uopen(parse_uopen(&price, "--price")?),
                fee_split: Some(fee_split(&split)?),
                bond: uopen(bond),
            };
            let summary = format!("register model {:?} with a bond of {bond}uopen", m.name);
            (signer, Intent { msgs: vec![any(&m)], spend: bond, summary })
        }
        ModelTxCmd::Update { model_id, price, status, operators: ops, fee_split: split, signer } => {
            let owner = kr.resolve(&signer.from)?.address;
            let m = md::MsgUpdateModel {
                owner: owner.to_string(),
                model_id,
                price_per_unit: price.map(|p| parse_uopen(&p, "--price")).transpose()?.and_then(uopen),
                status: match status {
                    None => md::ModelStatus::Unspecified,
                    Some(ModelStatus::Active) => md::ModelStatus::Active,
                    Some(ModelStatus::Retired) => md::ModelStatus::Retired,
                } as i32,
                set_operators: !ops.is_empty(),
                operators: operators(&kr, &ops)?,
                fee_split: split.as_deref().map(fee_split).transpose()?,
            };
            (signer, Intent { msgs: vec![any(&m)], spend: 0, summary: format!("update model {model_id}") })
        }
        ModelTxCmd::WithdrawBond { model_id, signer } => {
            let owner = kr.resolve(&signer.from)?.address;
            let m = md::MsgWithdrawBond { owner: owner.to_string(), model_id };
            (signer, Intent { msgs: vec![any(&m)], spend: 0, summary: format!("withdraw the bond of retired model {model_id}") })
        }
    };
    let key = kr.resolve(&signer.from)?;
    broadcast::broadcast(&kr, node, &key, intent, &signer.flags).await.map(|_| ())
}

pub async fn query(node: &NodeOpts, cmd: ModelQueryCmd) -> Result<()> {
    let format = Format::parse(&node.output)?;
    let mut c = md::query_client::QueryClient::connect(node.grpc.clone()).await.with_context(|| broadcast::grpc_unreachable(&node.grpc))?;
    let value = match cmd {
        ModelQueryCmd::Params => output::to_value(&c.params(md::QueryParamsRequest {}).await.map_err(status_error)?.into_inner())?,
        ModelQueryCmd::Model { id } => output::to_value(&c.model(md::QueryModelRequest { id }).await.map_err(status_error)?.into_inner())?,
        ModelQueryCmd::Models { page } => {
            output::to_value(&c.models(md::QueryModelsRequest { pagination: page.request()? }).await.map_err(status_error)?.into_inner())?
        }
        ModelQueryCmd::ModelsByDatanet { datanet_id, page } => output::to_value(
            &c.models_by_datanet(md::QueryModelsByDatanetRequest { datanet_id, pagination: page.request()? })
                .await
                .map_err(status_error)?
                .into_inner(),
        )?,
        ModelQueryCmd::ModelsByOwner { owner, page } => output::to_value(
            &c.models_by_owner(md::QueryModelsByOwnerRequest { owner, pagination: page.request()? })
                .await
                .map_err(status_error)?
                .into_inner(),
        )?,
    };
    output::print(&value, format);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn training_entries_and_fee_splits_parse_or_say_why_not() {
        assert_eq!(training_entry("1:2", true).unwrap(), md::TrainingEntry { datanet_id: 1, version: 2, weight_bps: 10_000 });
        assert_eq!(training_entry("1:2:2500", false).unwrap(), md::TrainingEntry { datanet_id: 1, version: 2, weight_bps: 2500 });
        assert!(training_entry("1:2", false).unwrap_err().to_string().contains("needs a weight"));
        assert!(training_entry("x:2:1", false).unwrap_err().to_string().contains("not a number"));
        assert!(training_entry("1", true).is_err());
        assert_eq!(fee_split("4000, 4000,1000,1000").unwrap().datanet_owners_bps, 1000);
        assert!(fee_split("4000,4000,2000").is_err());
        assert_eq!(fee_split("3000,4000,1000,1000,1000").unwrap().operator_bps, 1000);
    }
}
