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
    /// Deliver the consumer's signed receipt for an inference (operators of the model):
    /// the chain scores the output and settles it. You name no contributions.
    Attribute {
        inference_id: u64,
        /// The receipt the consumer made with `openledger receipt make`.
        #[arg(long)]
        receipt_file: PathBuf,
        #[command(flatten)]
        signer: Signer,
    },
    /// Settle an inference you paid for with a receipt of the output you received
    /// (consumers): the chain scores the output and settles it.
    Receipt {
        inference_id: u64,
        /// The output you received.
        #[arg(long)]
        output_file: PathBuf,
        /// The operator that served it (key name or address): paid the operator share.
        #[arg(long)]
        operator: Option<String>,
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
}

/// `openledger receipt …`: receipts are made by the consumer and checked by anyone.
#[derive(Subcommand)]
pub enum ReceiptCmd {
    /// Sign a receipt for an inference you paid for, over the output you received; give
    /// the file it writes to the model's operator.
    Make {
        inference_id: u64,
        #[arg(long)]
        output_file: PathBuf,
        /// The consumer's key (name in the keyring, or its address).
        #[arg(long)]
        from: String,
        /// The operator that served the output (key name or address): paid the
        /// operator share. Without it, that share goes to the contributors.
        #[arg(long)]
        operator: Option<String>,
        /// Where to write the receipt (JSON); default: standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Check a receipt: this chain, a real inference, signed by its consumer's key on
    /// chain, and — with --output-file — for exactly that output.
    Check {
        receipt_file: PathBuf,
        #[arg(long)]
        output_file: Option<PathBuf>,
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
    /// What a contribution accrued in each version pool it is in (paged by version).
    Pools {
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
    /// In words: where an inference's fee went, to the last uopen; or what a
    /// contribution earned, from which inferences, and what it claimed.
    Explain {
        #[command(subcommand)]
        what: ExplainCmd,
    },
}

#[derive(Subcommand)]
pub enum ExplainCmd {
    /// An inference: its terms, its receipt, the scores, the split.
    Inference { id: u64 },
    /// A contribution: every credit (with the inference's score), every claim, paged,
    /// and what it can claim now.
    Contribution {
        id: u64,
        #[command(flatten)]
        page: PageArgs,
    },
}

async fn client(node: &NodeOpts) -> Result<at::query_client::QueryClient<Channel>> {
    at::query_client::QueryClient::connect(node.grpc.clone()).await.with_context(|| broadcast::grpc_unreachable(&node.grpc))
}

/// How an inference's output is fingerprinted: at the finest modulus of the model's
/// training datanets, capped at the chain's maximum.
async fn output_sampling(node: &NodeOpts, inference_id: u64) -> Result<(u64, usize)> {
    let terms = inference(node, inference_id).await?.terms.ok_or_else(|| anyhow!("inference {inference_id}: no terms"))?;
    let params = client(node).await?.params(at::QueryParamsRequest {}).await.map_err(status_error)?.into_inner().params.unwrap_or_default();
    let mut dc =
        dn::query_client::QueryClient::connect(node.grpc.clone()).await.with_context(|| broadcast::grpc_unreachable(&node.grpc))?;
    let mut modulus = u64::MAX;
    for t in &terms.training_set {
        let d =
            dc.datanet(dn::QueryDatanetRequest { id: t.datanet_id }).await.map_err(status_error)?.into_inner().datanet.unwrap_or_default();
        modulus = modulus.min(d.fingerprint.map_or(openledger_types::fingerprint::DEFAULT_MODULUS, |f| f.modulus));
    }
    Ok((modulus.max(1), params.max_output_fingerprint as usize))
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
        AttributionTxCmd::Attribute { inference_id, receipt_file, signer } => {
            let operator = kr.resolve(&signer.from)?.address;
            let signed = read_receipt(&receipt_file)?;
            let receipt = signed.receipt.ok_or_else(|| anyhow!("{}: no receipt in the file", receipt_file.display()))?;
            if receipt.inference_id != inference_id {
                bail!("{} is a receipt for inference {}, not {inference_id}", receipt_file.display(), receipt.inference_id);
            }
            let m = at::MsgSubmitAttribution {
                operator: operator.to_string(),
                inference_id,
                receipt: Some(receipt),
                receipt_signature: signed.signature,
            };
            let summary = format!("deliver the consumer's receipt for inference {inference_id}");
            (signer, Intent { msgs: vec![any(&m)], spend: 0, summary })
        }
        AttributionTxCmd::Receipt { inference_id, output_file, operator, signer } => {
            let consumer = kr.resolve(&signer.from)?.address;
            let chain_id = signer.flags.chain_id.clone();
            let operator = operator.map(|o| address_or_key(&kr, &o)).transpose()?;
            let receipt = make_receipt(node, &chain_id, inference_id, &output_file, operator).await?;
            eprintln!("output fingerprint: {} hashes", receipt.output_fingerprint.len());
            let m = at::MsgSubmitReceipt { consumer: consumer.to_string(), receipt: Some(receipt) };
            let summary = format!("settle inference {inference_id} by your receipt of {}", output_file.display());
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
        AttributionQueryCmd::Pools { contribution_id, page } => output::to_value(
            &c.contribution_pools(at::QueryContributionPoolsRequest { contribution_id, pagination: page.request()? })
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
        AttributionQueryCmd::Explain { what } => {
            let text = match what {
                ExplainCmd::Inference { id } => explain_inference(node, &inference(node, id).await?).await?,
                ExplainCmd::Contribution { id, page } => explain_contribution(node, id, &page).await?,
            };
            print!("{text}");
            return Ok(());
        }
    };
    output::print(&value, format);
    Ok(())
}

/// The receipt for `inference_id` over the output in `path`: its SHA-256, and its
/// fingerprint at the finest sampling of the model's training datanets (over the cap,
/// the hashes ranking lowest under the inference's key).
async fn make_receipt(
    node: &NodeOpts,
    chain_id: &str,
    inference_id: u64,
    path: &std::path::Path,
    operator: Option<String>,
) -> Result<at::Receipt> {
    let (modulus, max) = output_sampling(node, inference_id).await?;
    let key = openledger_types::fingerprint::output_key(chain_id, inference_id);
    let fp = openledger_types::fingerprint::Fingerprinter::keyed(modulus, max, key);
    let digest = crate::content::digest_file(path, Some(fp))?;
    let output_fingerprint = match digest.fingerprint {
        Some(f) if !f.is_empty() => f,
        Some(_) => bail!("{}: the output has no fingerprint hash (too short, or none sampled): it cannot be scored", path.display()),
        None => bail!("{}: {}", path.display(), digest.fingerprint_skipped.unwrap_or_else(|| "no fingerprint".into())),
    };
    Ok(at::Receipt {
        chain_id: chain_id.to_string(),
        inference_id,
        output_hash: digest.sha256.to_vec(),
        output_fingerprint,
        operator: operator.unwrap_or_default(),
    })
}

/// An address as given, or the address of a key of the keyring.
fn address_or_key(kr: &Keyring, s: &str) -> Result<String> {
    match openledger_types::Address::parse(s) {
        Ok(a) => Ok(a.to_string()),
        Err(_) => Ok(kr.resolve(s)?.address.to_string()),
    }
}

fn read_receipt(path: &std::path::Path) -> Result<at::SignedReceipt> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not a receipt file", path.display()))
}

pub async fn receipt(kr: Keyring, node: &NodeOpts, cmd: ReceiptCmd) -> Result<()> {
    match cmd {
        ReceiptCmd::Make { inference_id, output_file, from, operator, out } => {
            let key = kr.resolve(&from)?;
            let chain_id = openledger_client::rpc::CometRpc::new(&node.node).chain_id().await?;
            let inf = inference(node, inference_id).await?;
            if inf.consumer != key.address.to_string() {
                bail!("inference {inference_id} was paid by {}, not by {from} ({})", inf.consumer, key.address);
            }
            let operator = operator.map(|o| address_or_key(&kr, &o)).transpose()?;
            let receipt = make_receipt(node, &chain_id, inference_id, &output_file, operator).await?;
            let pass = broadcast::passphrase_for(&kr, false)?;
            let signer = openledger_client::txbuilder::SignerKey::Secp256k1(kr.signing_key(&key.name, pass.as_deref())?);
            let signature = signer.sign(&openledger_types::receipt::sign_bytes(&receipt));
            let hashes = receipt.output_fingerprint.len();
            let json = serde_json::to_string_pretty(&at::SignedReceipt { receipt: Some(receipt), signature })?;
            match out {
                Some(p) => {
                    std::fs::write(&p, json + "\n").with_context(|| format!("cannot write {}", p.display()))?;
                    eprintln!("receipt for inference {inference_id} ({hashes} output hashes) written to {}", p.display());
                }
                None => println!("{json}"),
            }
            Ok(())
        }
        ReceiptCmd::Check { receipt_file, output_file } => {
            let signed = read_receipt(&receipt_file)?;
            let r = signed.receipt.clone().ok_or_else(|| anyhow!("{}: no receipt in the file", receipt_file.display()))?;
            openledger_types::receipt::check(&r, u32::MAX).map_err(|e| anyhow!("{e}"))?;
            let chain_id = openledger_client::rpc::CometRpc::new(&node.node).chain_id().await?;
            if r.chain_id != chain_id {
                bail!("the receipt is for chain {:?}; the node is on {chain_id:?}", r.chain_id);
            }
            let inf = inference(node, r.inference_id).await?;
            let consumer = openledger_types::Address::parse(&inf.consumer).map_err(|e| anyhow!("{e}"))?;
            let acct = broadcast::account_info(&node.grpc, &consumer).await?;
            let key = acct.pub_key.ok_or_else(|| anyhow!("consumer {consumer} has no public key on chain"))?;
            let key = openledger_types::keys::PubKey::from_any(&cosmos_sdk_proto::Any { type_url: key.type_url, value: key.value })
                .map_err(|e| anyhow!("{}", e.message))?;
            if !openledger_types::receipt::verify(&r, &key, &signed.signature) {
                bail!("the receipt is NOT signed by inference {}'s consumer {consumer}", r.inference_id);
            }
            if let Some(p) = output_file {
                let fresh = make_receipt(node, &chain_id, r.inference_id, &p, None).await?;
                if fresh.output_hash != r.output_hash || fresh.output_fingerprint != r.output_fingerprint {
                    bail!("the receipt is not for {}: its hash or fingerprint differs", p.display());
                }
            }
            println!(
                "receipt ok: chain {chain_id}, inference {}, signed by consumer {consumer}, output {} ({} fingerprint hashes)",
                r.inference_id,
                hex::encode(&r.output_hash),
                r.output_fingerprint.len()
            );
            Ok(())
        }
    }
}

async fn inference(node: &NodeOpts, id: u64) -> Result<at::Inference> {
    client(node)
        .await?
        .inference(at::QueryInferenceRequest { id })
        .await
        .map_err(status_error)?
        .into_inner()
        .inference
        .ok_or_else(|| anyhow!("inference {id}: empty answer"))
}

fn uopen_of(s: &str) -> u128 {
    s.parse().unwrap_or(0)
}

/// `part` of `whole` as a percentage with two decimals, in integers.
fn percent(part: u128, whole: u128) -> String {
    if whole == 0 {
        return "-".into();
    }
    let bp = part.saturating_mul(10_000) / whole;
    format!("{}.{:02}%", bp / 100, bp % 100)
}

async fn contribution(node: &NodeOpts, id: u64) -> Result<dn::Contribution> {
    let mut dc =
        dn::query_client::QueryClient::connect(node.grpc.clone()).await.with_context(|| broadcast::grpc_unreachable(&node.grpc))?;
    dc.contribution(dn::QueryContributionRequest { id })
        .await
        .map_err(status_error)?
        .into_inner()
        .contribution
        .ok_or_else(|| anyhow!("contribution {id}: empty answer"))
}

async fn explain_inference(node: &NodeOpts, inf: &at::Inference) -> Result<String> {
    use std::fmt::Write;
    let mut o = String::new();
    let terms = inf.terms.clone().unwrap_or_default();
    let fee = uopen_of(inf.fee.as_ref().map_or("0", |c| c.amount.as_str()));
    let split = terms.fee_split.unwrap_or_default();
    writeln!(
        o,
        "inference {} of model {}: {} units, {fee}uopen paid by {} at height {}",
        inf.id, inf.model_id, inf.units, inf.consumer, inf.paid_height
    )?;
    writeln!(
        o,
        "terms version {}: owner {} bps, contributors {} bps, datanet owners {} bps, protocol {} bps, operator {} bps; operators {}",
        terms.terms_version,
        split.owner_bps,
        split.contributors_bps,
        split.datanet_owners_bps,
        split.protocol_bps,
        split.operator_bps,
        terms.operators.join(", ")
    )?;
    let status = at::InferenceStatus::try_from(inf.status).unwrap_or(at::InferenceStatus::Unspecified);
    match status {
        at::InferenceStatus::Pending => {
            writeln!(
                o,
                "pending: a receipt may settle it until height {}; after that it settles by training weights",
                inf.report_deadline
            )?;
            return Ok(o);
        }
        at::InferenceStatus::SettledDefault => {
            writeln!(o, "settled at height {} by training weights: no receipt arrived in the report window", inf.settled_height)?
        }
        _ => {}
    }
    if let Some(r) = &inf.report {
        let by = if r.receipt_signature.is_empty() { "the consumer itself" } else { "an operator, with the consumer's signature" };
        writeln!(o, "settled at height {} by the consumer's receipt, delivered by {} ({by})", r.height, r.submitter)?;
        if let Some(rc) = &r.receipt {
            writeln!(o, "  output sha256 {}, {} fingerprint hashes", hex::encode(&rc.output_hash), rc.output_fingerprint.len())?;
            if !rc.operator.is_empty() {
                writeln!(o, "  served by operator {}", rc.operator)?;
            }
        }
        writeln!(
            o,
            "  the chain scored {} contributions of the training versions (total score {}); {} output hashes matched none (or only boilerplate)",
            r.candidates, r.total_score, r.uncounted_hashes
        )?;
    }
    let s = inf.settlement.clone().unwrap_or_default();
    writeln!(o, "where the {fee}uopen went:")?;
    for (what, v) in [
        ("model owner", &s.model_owner),
        ("operator", &s.operator),
        ("datanet owners", &s.datanet_owners),
        ("protocol (validators)", &s.protocol),
        ("contributions, by score", &s.contributor_credits),
        ("version pools, by training weight", &s.version_pools),
        ("datanet treasuries", &s.datanet_treasuries),
    ] {
        let v = uopen_of(v);
        writeln!(o, "  {what:<34} {v:>14}uopen  {}", percent(v, fee))?;
    }
    if let Some(r) = &inf.report {
        for e in &r.entries {
            let c = contribution(node, e.contribution_id).await?;
            writeln!(
                o,
                "    contribution {} (datanet {}, by {}): score {} of {} = {} -> {}uopen",
                e.contribution_id,
                c.datanet_id,
                c.contributor,
                e.score,
                r.total_score,
                percent(u128::from(e.score), u128::from(r.total_score)),
                e.amount
            )?;
        }
    }
    Ok(o)
}

async fn explain_contribution(node: &NodeOpts, id: u64, page: &PageArgs) -> Result<String> {
    use std::fmt::Write;
    let mut o = String::new();
    let c = contribution(node, id).await?;
    let status = dn::ContributionStatus::try_from(c.status).map(|s| s.as_str_name()).unwrap_or("?");
    writeln!(
        o,
        "contribution {id} in datanet {} by {}: {status}, weight {}, first in version {}",
        c.datanet_id, c.contributor, c.weight, c.first_version
    )?;
    let e = client(node)
        .await?
        .contribution_earnings(at::QueryContributionEarningsRequest { contribution_id: id, pagination: page.request()? })
        .await
        .map_err(status_error)?
        .into_inner();
    let r = e.rewards.unwrap_or_default();
    writeln!(
        o,
        "credited in all {}uopen directly; claimed in all {}uopen; unclaimed credit {}uopen",
        r.credited_total, r.claimed_total, r.credit
    )?;
    for rec in &e.history {
        match at::EarningKind::try_from(rec.kind).unwrap_or(at::EarningKind::Unspecified) {
            at::EarningKind::ReportCredit => {
                let inf = inference(node, rec.inference_id).await?;
                let report = inf.report.unwrap_or_default();
                let score = report.entries.iter().find(|x| x.contribution_id == id).map_or(0, |x| x.score);
                writeln!(
                    o,
                    "  height {:>8}: +{}uopen from inference {} (score {score} of {}, {})",
                    rec.height,
                    rec.amount,
                    rec.inference_id,
                    report.total_score,
                    percent(u128::from(score), u128::from(report.total_score))
                )?;
            }
            at::EarningKind::Claim => writeln!(o, "  height {:>8}: claimed {}uopen (credits and pools)", rec.height, rec.amount)?,
            _ => writeln!(o, "  height {:>8}: {}uopen", rec.height, rec.amount)?,
        }
    }
    if let Some(next) = e.pagination.map(|p| p.next_key).filter(|k| !k.is_empty()) {
        use base64::Engine;
        writeln!(o, "  more: --page-key {}", base64::engine::general_purpose::STANDARD.encode(next))?;
    }
    let pools = client(node)
        .await?
        .contribution_pools(at::QueryContributionPoolsRequest { contribution_id: id, pagination: None })
        .await
        .map_err(status_error)?
        .into_inner();
    if pools.pools_closed {
        writeln!(
            o,
            "version pools: closed when it was invalidated; it had accrued {}uopen from them, moved to its credit",
            pools.accrued_total
        )?;
    } else {
        writeln!(
            o,
            "version pools: {}uopen accrued in all (weight {} in each version from {}), {}uopen of it taken",
            pools.accrued_total, pools.weight, pools.first_version, pools.taken
        )?;
        for p in &pools.pools {
            writeln!(
                o,
                "  version {:>4}: {}uopen paid in, live weight {}: {}uopen accrued ({})",
                p.version,
                p.paid_in,
                p.live_weight,
                p.accrued,
                percent(pools.weight.parse().unwrap_or(0), p.live_weight.parse().unwrap_or(0))
            )?;
        }
        if pools.pagination.is_some_and(|p| !p.next_key.is_empty()) {
            writeln!(o, "  (first 50 pools shown: `q attribution pools {id}` pages them all)")?;
        }
    }
    let cl = client(node)
        .await?
        .claimable(at::QueryClaimableRequest { address: c.contributor.clone(), pagination: None })
        .await
        .map_err(status_error)?
        .into_inner();
    if let Some(x) = cl.contributions.iter().find(|x| x.contribution_id == id) {
        writeln!(o, "claimable now: {}uopen credit + {}uopen from version pools = {}uopen", x.credit, x.pools, x.total)?;
    } else {
        writeln!(o, "claimable now: nothing on the first page of `q attribution claimable {}`", c.contributor)?;
    }
    Ok(o)
}
