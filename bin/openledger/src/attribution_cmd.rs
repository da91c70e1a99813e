//! `openledger tx attribution …` and `openledger q attribution …`.
use std::path::PathBuf;

use anyhow::{anyhow, bail, Context, Result};
use clap::Subcommand;
use openledger_client::keyring::Keyring;
use openledger_client::output::{self, Format};
use openledger_proto::openledger::attribution::v1 as at;
use openledger_proto::openledger::datanet::v1 as dn;
use openledger_proto::openledger::model::v1 as md;
use prost::Message;
use tonic::transport::Channel;

use crate::broadcast::{self, parse_uopen, status_error, uopen, Intent, Signer};
use crate::page::PageArgs;
use crate::NodeOpts;
use openledger_client::txbuilder::any;

#[derive(Subcommand)]
#[allow(clippy::large_enum_variant)] // parsed once per run
pub enum AttributionTxCmd {
    /// Pay for inference units of a model at its current price; the fee waits in escrow
    /// until an operator's report (or the end of the report window) settles it.
    Pay {
        model_id: u64,
        #[arg(long)]
        units: u64,
        /// Refuse if the fee would be higher, e.g. 50000uopen (default: units × the
        /// model's current price).
        #[arg(long)]
        max_fee: Option<String>,
        #[command(flatten)]
        signer: Signer,
    },
    /// Report which contributions an inference drew on (operators of the model).
    Attribute {
        inference_id: u64,
        /// CONTRIBUTION:WEIGHT_BPS (bps of the contributors' share); repeat, at most the
        /// chain's K, weights summing to at most 10000.
        #[arg(long = "entry", required = true)]
        entries: Vec<String>,
        /// The evidence, hashed here (or give --evidence-hash).
        #[arg(long, conflicts_with = "evidence_hash")]
        evidence_file: Option<PathBuf>,
        /// SHA-256 of the evidence, hex.
        #[arg(long)]
        evidence_hash: Option<String>,
        /// The inference output: its fingerprint (same function as contributions', at
        /// the training datanets' finest sampling) makes the report verifiable.
        #[arg(long)]
        output_file: Option<PathBuf>,
        #[command(flatten)]
        signer: Signer,
    },
    /// Claim what your contributions earned: the listed ones, or all of them (as many
    /// transactions as pages).
    Claim {
        /// A contribution of yours; repeat for several. Without any: all of them.
        #[arg(long = "contribution")]
        contributions: Vec<u64>,
        #[command(flatten)]
        signer: Signer,
    },
    /// Challenge a verifiable report by naming a contribution it left out that scores
    /// higher than its lowest scored entry.
    Challenge {
        inference_id: u64,
        contribution_id: u64,
        #[command(flatten)]
        signer: Signer,
    },
}

#[derive(Subcommand)]
pub enum AttributionQueryCmd {
    Params,
    /// One inference: terms, report, settlement.
    Inference {
        id: u64,
    },
    InferencesByModel {
        model_id: u64,
        #[command(flatten)]
        page: PageArgs,
    },
    InferencesByConsumer {
        consumer: String,
        #[command(flatten)]
        page: PageArgs,
    },
    /// What an address can claim, contribution by contribution.
    Claimable {
        address: String,
        #[command(flatten)]
        page: PageArgs,
    },
    /// A contribution's rewards and its history of credits and claims.
    Earnings {
        contribution_id: u64,
        #[command(flatten)]
        page: PageArgs,
    },
    ModelStats {
        model_id: u64,
    },
    DatanetStats {
        datanet_id: u64,
    },
    /// The reward pool of a datanet version.
    Pool {
        datanet_id: u64,
        version: u64,
    },
    /// The module's books: paid in = paid out + escrowed + credits + pools.
    Accounting,
}

async fn client(node: &NodeOpts) -> Result<at::query_client::QueryClient<Channel>> {
    at::query_client::QueryClient::connect(node.grpc.clone()).await.with_context(|| broadcast::grpc_unreachable(&node.grpc))
}

/// `CONTRIBUTION:WEIGHT_BPS`.
fn entry(s: &str) -> Result<at::AttributionEntry> {
    let (c, w) = s.split_once(':').ok_or_else(|| anyhow!("--entry {s:?}: expected CONTRIBUTION:WEIGHT_BPS"))?;
    Ok(at::AttributionEntry {
        contribution_id: c.parse().map_err(|_| anyhow!("--entry {s:?}: {c:?} is not a contribution id"))?,
        weight_bps: w.parse().map_err(|_| anyhow!("--entry {s:?}: {w:?} is not a number of bps"))?,
    })
}

/// The output fingerprint for an inference: sampled at the finest modulus of the
/// model's training datanets, capped at the chain's maximum.
async fn output_fingerprint(node: &NodeOpts, inference_id: u64, path: &std::path::Path) -> Result<Vec<u64>> {
    let inf = client(node).await?.inference(at::QueryInferenceRequest { id: inference_id }).await.map_err(status_error)?.into_inner();
    let terms = inf.inference.and_then(|i| i.terms).ok_or_else(|| anyhow!("inference {inference_id}: no terms"))?;
    let params = client(node).await?.params(at::QueryParamsRequest {}).await.map_err(status_error)?.into_inner().params.unwrap_or_default();
    let mut dc =
        dn::query_client::QueryClient::connect(node.grpc.clone()).await.with_context(|| broadcast::grpc_unreachable(&node.grpc))?;
    let mut modulus = u64::MAX;
    for t in &terms.training_set {
        let d =
            dc.datanet(dn::QueryDatanetRequest { id: t.datanet_id }).await.map_err(status_error)?.into_inner().datanet.unwrap_or_default();
        modulus = modulus.min(d.fingerprint.map_or(openledger_types::fingerprint::DEFAULT_MODULUS, |f| f.modulus));
    }
    let digest = crate::content::digest_file(path, Some((modulus.max(1), params.max_output_fingerprint as usize)))?;
    match digest.fingerprint {
        Some(f) => Ok(f),
        None => bail!("{}: {}", path.display(), digest.fingerprint_skipped.unwrap_or_else(|| "no fingerprint".into())),
    }
}

pub async fn tx(kr: Keyring, node: &NodeOpts, cmd: AttributionTxCmd) -> Result<()> {
    let (signer, intent) = match cmd {
        AttributionTxCmd::Pay { model_id, units, max_fee, signer } => {
            let consumer = kr.resolve(&signer.from)?.address;
            let max_fee = match max_fee {
                Some(f) => parse_uopen(&f, "--max-fee")?,
                None => {
                    let mut mc = md::query_client::QueryClient::connect(node.grpc.clone())
                        .await
                        .with_context(|| broadcast::grpc_unreachable(&node.grpc))?;
                    let m = mc
                        .model(md::QueryModelRequest { id: model_id })
                        .await
                        .map_err(status_error)?
                        .into_inner()
                        .model
                        .unwrap_or_default();
                    let price: u128 = m.price_per_unit.map_or(0, |c| c.amount.parse().unwrap_or(0));
                    price.checked_mul(u128::from(units)).ok_or_else(|| anyhow!("{units} units at {price}uopen overflows"))?
                }
            };
            let m = at::MsgPayInference { consumer: consumer.to_string(), model_id, units, max_fee: uopen(max_fee) };
            let summary = format!("pay for {units} units of model {model_id} (at most {max_fee}uopen)");
            (signer, Intent { msgs: vec![any(&m)], spend: max_fee, summary })
        }
        AttributionTxCmd::Attribute { inference_id, entries, evidence_file, evidence_hash, output_file, signer } => {
            let operator = kr.resolve(&signer.from)?.address;
            let evidence_hash = match (evidence_file, evidence_hash) {
                (Some(p), _) => crate::content::digest_file(&p, None)?.sha256.to_vec(),
                (None, Some(h)) => hex::decode(h.trim_start_matches("0x")).map_err(|e| anyhow!("--evidence-hash is not hex: {e}"))?,
                (None, None) => bail!("give the evidence: --evidence-file PATH or --evidence-hash HEX"),
            };
            let output_fingerprint = match &output_file {
                Some(p) => output_fingerprint(node, inference_id, p).await?,
                None => vec![],
            };
            if output_file.is_some() {
                eprintln!("output fingerprint: {} hashes", output_fingerprint.len());
            }
            let m = at::MsgSubmitAttribution {
                operator: operator.to_string(),
                inference_id,
                entries: entries.iter().map(|e| entry(e)).collect::<Result<_>>()?,
                evidence_hash,
                output_fingerprint,
            };
            let summary = format!("attribute inference {inference_id} to {} contributions", m.entries.len());
            (signer, Intent { msgs: vec![any(&m)], spend: 0, summary })
        }
        AttributionTxCmd::Claim { contributions, signer } => {
            let key = kr.resolve(&signer.from)?;
            if !contributions.is_empty() {
                let m = at::MsgClaimRewards { contributor: key.address.to_string(), contribution_ids: contributions, start_after: 0 };
                let intent = Intent { msgs: vec![any(&m)], spend: 0, summary: "claim rewards".into() };
                return broadcast::broadcast(&kr, node, &key, intent, &signer.flags).await.map(|_| ());
            }
            // Page through all of them, one tx a page.
            let mut start_after = 0;
            for _ in 0..10_000 {
                let m = at::MsgClaimRewards { contributor: key.address.to_string(), contribution_ids: vec![], start_after };
                let intent =
                    Intent { msgs: vec![any(&m)], spend: 0, summary: format!("claim rewards (contributions after {start_after})") };
                let result = broadcast::broadcast(&kr, node, &key, intent, &signer.flags).await?;
                let next = at::MsgClaimRewardsResponse::decode(
                    cosmos_sdk_proto::cosmos::base::abci::v1beta1::TxMsgData::decode(result.data.as_slice())?
                        .msg_responses
                        .first()
                        .map(|a| a.value.as_slice())
                        .unwrap_or_default(),
                )?
                .next_start_after;
                if next == 0 {
                    return Ok(());
                }
                start_after = next;
            }
            bail!("stopped after 10,000 claim pages");
        }
        AttributionTxCmd::Challenge { inference_id, contribution_id, signer } => {
            let challenger = kr.resolve(&signer.from)?.address;
            let m = at::MsgChallengeAttribution { challenger: challenger.to_string(), inference_id, contribution_id };
            let summary = format!("challenge the report of inference {inference_id} with contribution {contribution_id}");
            (signer, Intent { msgs: vec![any(&m)], spend: 0, summary })
        }
    };
    let key = kr.resolve(&signer.from)?;
    broadcast::broadcast(&kr, node, &key, intent, &signer.flags).await.map(|_| ())
}

pub async fn query(node: &NodeOpts, cmd: AttributionQueryCmd) -> Result<()> {
    let format = Format::parse(&node.output)?;
    let mut c = client(node).await?;
    let value = match cmd {
        AttributionQueryCmd::Params => output::to_value(&c.params(at::QueryParamsRequest {}).await.map_err(status_error)?.into_inner())?,
        AttributionQueryCmd::Inference { id } => {
            output::to_value(&c.inference(at::QueryInferenceRequest { id }).await.map_err(status_error)?.into_inner())?
        }
        AttributionQueryCmd::InferencesByModel { model_id, page } => output::to_value(
            &c.inferences_by_model(at::QueryInferencesByModelRequest { model_id, pagination: page.request()? })
                .await
                .map_err(status_error)?
                .into_inner(),
        )?,
        AttributionQueryCmd::InferencesByConsumer { consumer, page } => output::to_value(
            &c.inferences_by_consumer(at::QueryInferencesByConsumerRequest { consumer, pagination: page.request()? })
                .await
                .map_err(status_error)?
                .into_inner(),
        )?,
        AttributionQueryCmd::Claimable { address, page } => output::to_value(
            &c.claimable(at::QueryClaimableRequest { address, pagination: page.request()? }).await.map_err(status_error)?.into_inner(),
        )?,
        AttributionQueryCmd::Earnings { contribution_id, page } => output::to_value(
            &c.contribution_earnings(at::QueryContributionEarningsRequest { contribution_id, pagination: page.request()? })
                .await
                .map_err(status_error)?
                .into_inner(),
        )?,
        AttributionQueryCmd::ModelStats { model_id } => {
            output::to_value(&c.model_stats(at::QueryModelStatsRequest { model_id }).await.map_err(status_error)?.into_inner())?
        }
        AttributionQueryCmd::DatanetStats { datanet_id } => {
            output::to_value(&c.datanet_stats(at::QueryDatanetStatsRequest { datanet_id }).await.map_err(status_error)?.into_inner())?
        }
        AttributionQueryCmd::Pool { datanet_id, version } => output::to_value(
            &c.version_pool(at::QueryVersionPoolRequest { datanet_id, version }).await.map_err(status_error)?.into_inner(),
        )?,
        AttributionQueryCmd::Accounting => {
            output::to_value(&c.accounting(at::QueryAccountingRequest {}).await.map_err(status_error)?.into_inner())?
        }
    };
    output::print(&value, format);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_parse_or_say_why_not() {
        assert_eq!(entry("12:2500").unwrap(), at::AttributionEntry { contribution_id: 12, weight_bps: 2500 });
        assert!(entry("12").unwrap_err().to_string().contains("CONTRIBUTION:WEIGHT_BPS"));
        assert!(entry("x:1").unwrap_err().to_string().contains("not a contribution id"));
        assert!(entry("1:y").unwrap_err().to_string().contains("not a number of bps"));
    }
}
