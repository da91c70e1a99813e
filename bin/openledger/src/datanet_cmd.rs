//! `openledger tx datanet …` and `openledger q datanet …`.
use std::path::PathBuf;

use anyhow::{anyhow, bail, Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use openledger_client::keyring::Keyring;
use openledger_client::output::{self, Format};
use openledger_proto::openledger::datanet::v1 as dn;

use crate::broadcast::{self, parse_uopen, status_error, uopen, Intent, Signer};
use crate::page::PageArgs;
use crate::{resolve_address, NodeOpts};
use openledger_client::txbuilder::any;

/// The terms future contributions are held to.
#[derive(Args)]
pub struct TermsArgs {
    /// Share of a rejected contribution's stake slashed to the treasury, in bps.
    #[arg(long)]
    reject_slash_bps: Option<u32>,
    /// Share of a slashed stake paid to a successful challenger, in bps.
    #[arg(long)]
    challenge_reward_bps: Option<u32>,
}

impl TermsArgs {
    fn given(&self) -> bool {
        self.reject_slash_bps.is_some() || self.challenge_reward_bps.is_some()
    }

    /// The terms to send: `None` when neither flag is given; a missing one is taken from
    /// `current` (or the chain's default for a new datanet: no slash on rejection, half
    /// of a slashed stake to a challenger).
    fn proto(&self, current: Option<dn::ContributionTerms>) -> Option<dn::ContributionTerms> {
        if !self.given() {
            return None;
        }
        let base = current.unwrap_or(dn::ContributionTerms { reject_slash_bps: 0, challenge_reward_bps: 5000 });
        Some(dn::ContributionTerms {
            reject_slash_bps: self.reject_slash_bps.unwrap_or(base.reject_slash_bps),
            challenge_reward_bps: self.challenge_reward_bps.unwrap_or(base.challenge_reward_bps),
        })
    }
}

/// What the datanet requires of models that train on it.
#[derive(Args)]
pub struct ModelTermsArgs {
    /// The least contributors' share a model trained on this datanet may set, in bps
    /// (default at creation: the chain's, 1000).
    #[arg(long)]
    min_contributors_bps: Option<u32>,
    /// Only models owned by this account (key name or address) may train on it; repeat
    /// for several. Without it, any owner.
    #[arg(long = "model-owner")]
    model_owners: Vec<String>,
    /// (update) Let models of any owner train on it again.
    #[arg(long, conflicts_with = "model_owners")]
    any_model_owner: bool,
}

impl ModelTermsArgs {
    fn given(&self) -> bool {
        self.min_contributors_bps.is_some() || !self.model_owners.is_empty() || self.any_model_owner
    }

    /// The terms to send: `None` when no flag is given; what is not given is taken from
    /// `current` (the datanet's terms, or the chain's default for a new datanet).
    fn proto(&self, kr: &Keyring, current: dn::ModelTerms) -> Result<Option<dn::ModelTerms>> {
        if !self.given() {
            return Ok(None);
        }
        Ok(Some(dn::ModelTerms {
            min_contributors_bps: self.min_contributors_bps.unwrap_or(current.min_contributors_bps),
            allowed_model_owners: match (self.model_owners.is_empty(), self.any_model_owner) {
                (false, _) => addresses(kr, &self.model_owners)?,
                (true, true) => vec![],
                (true, false) => current.allowed_model_owners,
            },
        }))
    }
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Policy {
    /// Anyone may contribute.
    Open,
    /// Only addresses on the allow-list (--allow) may contribute.
    AllowList,
}

impl Policy {
    fn proto(self) -> i32 {
        match self {
            Policy::Open => dn::ContributionPolicy::Open as i32,
            Policy::AllowList => dn::ContributionPolicy::AllowList as i32,
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Verdict {
    Accept,
    Reject,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Resolution {
    /// The challenge is right: the contribution's weight goes to zero from the next
    /// version, its stake is slashed and the challenger paid.
    Uphold,
    /// The challenge is wrong: its bond goes to the datanet's treasury.
    Dismiss,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Status {
    Pending,
    Accepted,
    Rejected,
    Withdrawn,
    Invalidated,
}

#[derive(Subcommand)]
#[allow(clippy::large_enum_variant)] // parsed once per run
pub enum DatanetTxCmd {
    /// Create a datanet; you are its owner.
    Create {
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "")]
        description: String,
        /// A tag (lower-case); repeat for several.
        #[arg(long = "tag")]
        tags: Vec<String>,
        #[arg(long, default_value = "")]
        metadata_uri: String,
        /// A curator (key name or address); repeat for several. The owner is always one.
        #[arg(long = "curator")]
        curators: Vec<String>,
        #[arg(long, value_enum, default_value = "open")]
        policy: Policy,
        /// An address allowed to contribute (with --policy allow-list); repeat for several.
        #[arg(long = "allow")]
        allow_list: Vec<String>,
        /// Stake each contribution must post, e.g. 10000uopen (default: the chain's floor).
        #[arg(long)]
        min_stake: Option<String>,
        #[command(flatten)]
        terms: TermsArgs,
        /// Fingerprint sampling modulus (a power of two; default 16). Fixed at creation.
        #[arg(long)]
        fingerprint_modulus: Option<u64>,
        /// Most hashes in a fingerprint (default 512). Fixed at creation.
        #[arg(long)]
        fingerprint_max: Option<u32>,
        /// Refuse a contribution sharing this share (bps) of its fingerprint with one
        /// already accepted (default 5000). Fixed at creation.
        #[arg(long)]
        near_duplicate_bps: Option<u32>,
        #[command(flatten)]
        model_terms: ModelTermsArgs,
        /// Share of your income (bps) paid to the bonded curators, by bond.
        #[arg(long, default_value = "0")]
        curators_bps: u32,
        #[command(flatten)]
        signer: Signer,
    },
    /// Change a datanet you own; changes apply to future contributions only.
    Update {
        datanet_id: u64,
        #[arg(long)]
        description: Option<String>,
        #[arg(long)]
        metadata_uri: Option<String>,
        /// Replace the tags (repeat); --clear-tags removes them all.
        #[arg(long = "tag")]
        tags: Vec<String>,
        #[arg(long, conflicts_with = "tags")]
        clear_tags: bool,
        /// Replace the curators (repeat); --clear-curators removes them all.
        #[arg(long = "curator")]
        curators: Vec<String>,
        #[arg(long, conflicts_with = "curators")]
        clear_curators: bool,
        #[arg(long, value_enum)]
        policy: Option<Policy>,
        /// Replace the allow-list (repeat); --clear-allow-list empties it.
        #[arg(long = "allow")]
        allow_list: Vec<String>,
        #[arg(long, conflicts_with = "allow_list")]
        clear_allow_list: bool,
        #[arg(long)]
        min_stake: Option<String>,
        #[command(flatten)]
        terms: TermsArgs,
        #[command(flatten)]
        model_terms: ModelTermsArgs,
        /// Share of your income (bps) paid to the bonded curators from now on.
        #[arg(long)]
        curators_bps: Option<u32>,
        #[command(flatten)]
        signer: Signer,
    },
    /// Contribute a file: its SHA-256, size and fingerprint are computed here; the data
    /// itself stays where --uri says.
    Contribute {
        datanet_id: u64,
        #[arg(long)]
        file: PathBuf,
        /// Where the data can be fetched (ipfs://…, https://…).
        #[arg(long)]
        uri: String,
        /// Stake to post, e.g. 10000uopen (default: the datanet's minimum).
        #[arg(long)]
        stake: Option<String>,
        /// Commit to the contribution first (one transaction), then reveal it in a later
        /// block (a second): nobody who sees the reveal in the mempool can claim the
        /// content before you.
        #[arg(long)]
        commit_first: bool,
        #[command(flatten)]
        signer: Signer,
    },
    /// Review a pending contribution (curators): accept with a quality score, or reject.
    Review {
        contribution_id: u64,
        #[arg(value_enum)]
        verdict: Verdict,
        /// Quality in basis points (1–10000), with accept.
        #[arg(long)]
        quality_bps: Option<u32>,
        /// Why, with reject.
        #[arg(long, default_value = "")]
        reason: String,
        #[command(flatten)]
        signer: Signer,
    },
    /// Withdraw your pending contribution; the stake comes back in full.
    Withdraw {
        contribution_id: u64,
        #[command(flatten)]
        signer: Signer,
    },
    /// Publish the accepted set as the next version (owner or curator).
    Publish {
        datanet_id: u64,
        #[command(flatten)]
        signer: Signer,
    },
    /// Challenge an accepted contribution, posting a bond.
    Challenge {
        contribution_id: u64,
        #[arg(long)]
        reason: String,
        /// e.g. 5000uopen: at least half the stake at risk, and the chain's minimum.
        #[arg(long)]
        bond: String,
        #[command(flatten)]
        signer: Signer,
    },
    /// Vote on an open challenge (a bonded curator with no stake in it; a majority of
    /// the eligible curators, at least two, decides), or decide an escalated one (an
    /// arbiter).
    Resolve {
        challenge_id: u64,
        #[arg(value_enum)]
        resolution: Resolution,
        #[arg(long, default_value = "")]
        reason: String,
        #[command(flatten)]
        signer: Signer,
    },
    /// Appeal a curators' decision to the arbiters before it takes effect (the
    /// contributor against an uphold, the challenger against a dismissal), posting a bond
    /// equal to the challenge's: back if an arbiter overturns the decision or none decides.
    Appeal {
        challenge_id: u64,
        #[arg(long)]
        reason: String,
        /// The challenge's bond, e.g. 5000uopen (`q datanet challenge ID`).
        #[arg(long)]
        bond: String,
        #[command(flatten)]
        signer: Signer,
    },
    /// Bond to a datanet you own or curate: the right to review, publish and vote, and
    /// a share of its curator income.
    BondCurator {
        datanet_id: u64,
        /// e.g. 10000000uopen (at least the chain's minimum curator bond in all).
        amount: String,
        #[command(flatten)]
        signer: Signer,
    },
    /// Start taking back a curator bond (paid back after the unbonding period).
    UnbondCurator {
        datanet_id: u64,
        amount: String,
        #[command(flatten)]
        signer: Signer,
    },
    /// Claim what your curator bond earned in a datanet.
    ClaimCurator {
        datanet_id: u64,
        #[command(flatten)]
        signer: Signer,
    },
}

#[derive(Subcommand)]
pub enum DatanetQueryCmd {
    /// The module's parameters.
    Params,
    /// One datanet.
    Datanet { id: u64 },
    /// Datanets, optionally of one owner or with one tag.
    Datanets {
        #[arg(long)]
        owner: Option<String>,
        #[arg(long)]
        tag: Option<String>,
        #[command(flatten)]
        page: PageArgs,
    },
    /// One contribution.
    Contribution { id: u64 },
    /// Contributions of a datanet (or, with --contributor and no datanet, of a
    /// contributor everywhere), optionally of one status.
    Contributions {
        /// 0 or omitted: all datanets (with --contributor).
        #[arg(default_value = "0")]
        datanet_id: u64,
        #[arg(long, value_enum)]
        status: Option<Status>,
        #[arg(long)]
        contributor: Option<String>,
        #[command(flatten)]
        page: PageArgs,
    },
    /// One published version.
    Version { datanet_id: u64, version: u64 },
    /// Published versions of a datanet.
    Versions {
        datanet_id: u64,
        #[command(flatten)]
        page: PageArgs,
    },
    /// One challenge.
    Challenge { id: u64 },
    /// A datanet's curator bonds and what each has earned.
    Curators { datanet_id: u64 },
    /// A Merkle inclusion proof of a contribution in a version (verify it offline with
    /// `openledger verify-proof`).
    Proof {
        datanet_id: u64,
        version: u64,
        contribution_id: u64,
        /// Also verify it here and say so.
        #[arg(long)]
        verify: bool,
    },
}

fn addresses(kr: &Keyring, list: &[String]) -> Result<Vec<String>> {
    list.iter().map(|s| resolve_address(kr, s).map(|a| a.to_string())).collect()
}

async fn client(node: &NodeOpts) -> Result<dn::query_client::QueryClient<tonic::transport::Channel>> {
    dn::query_client::QueryClient::connect(node.grpc.clone()).await.with_context(|| broadcast::grpc_unreachable(&node.grpc))
}

async fn get_datanet(node: &NodeOpts, id: u64) -> Result<dn::Datanet> {
    let r = client(node).await?.datanet(dn::QueryDatanetRequest { id }).await.map_err(status_error)?.into_inner();
    r.datanet.ok_or_else(|| anyhow!("datanet {id}: empty answer"))
}

pub async fn tx(kr: Keyring, node: &NodeOpts, cmd: DatanetTxCmd) -> Result<()> {
    let (signer, intent) = match cmd {
        DatanetTxCmd::Create {
            name,
            description,
            tags,
            metadata_uri,
            curators,
            policy,
            allow_list,
            min_stake,
            terms,
            fingerprint_modulus,
            fingerprint_max,
            near_duplicate_bps,
            model_terms,
            curators_bps,
            signer,
        } => {
            let owner = kr.resolve(&signer.from)?.address;
            let model_terms = if model_terms.given() {
                let p = client(node).await?.params(dn::QueryParamsRequest {}).await.map_err(status_error)?.into_inner();
                let min = p.params.map_or(0, |p| p.default_min_contributors_bps);
                model_terms.proto(&kr, dn::ModelTerms { min_contributors_bps: min, allowed_model_owners: vec![] })?
            } else {
                None
            };
            let fingerprint = (fingerprint_modulus.is_some() || fingerprint_max.is_some() || near_duplicate_bps.is_some()).then(|| {
                dn::FingerprintParams {
                    modulus: fingerprint_modulus.unwrap_or(openledger_types::fingerprint::DEFAULT_MODULUS),
                    max_hashes: fingerprint_max.unwrap_or(openledger_types::fingerprint::DEFAULT_MAX_HASHES),
                    near_duplicate_bps: near_duplicate_bps.unwrap_or(0),
                }
            });
            let m = dn::MsgCreateDatanet {
                owner: owner.to_string(),
                name,
                description,
                tags,
                metadata_uri,
                curators: addresses(&kr, &curators)?,
                policy: policy.proto(),
                allow_list: addresses(&kr, &allow_list)?,
                min_stake: min_stake.map(|s| parse_uopen(&s, "--min-stake")).transpose()?.and_then(uopen),
                terms: terms.proto(None),
                fingerprint,
                model_terms,
                curators_bps,
            };
            let summary = format!("create datanet {:?} owned by {owner}", m.name);
            (signer, Intent { msgs: vec![any(&m)], spend: 0, summary })
        }
        DatanetTxCmd::Update {
            datanet_id,
            description,
            metadata_uri,
            tags,
            clear_tags,
            curators,
            clear_curators,
            policy,
            allow_list,
            clear_allow_list,
            min_stake,
            terms,
            model_terms,
            curators_bps,
            signer,
        } => {
            let owner = kr.resolve(&signer.from)?.address;
            let current = if terms.given() || model_terms.given() { Some(get_datanet(node, datanet_id).await?) } else { None };
            let current_terms = current.as_ref().and_then(|d| d.terms);
            let model_terms = model_terms.proto(&kr, current.and_then(|d| d.model_terms).unwrap_or_default())?;
            let m = dn::MsgUpdateDatanet {
                owner: owner.to_string(),
                datanet_id,
                description,
                metadata_uri,
                set_tags: clear_tags || !tags.is_empty(),
                tags,
                set_curators: clear_curators || !curators.is_empty(),
                curators: addresses(&kr, &curators)?,
                policy: policy.map_or(0, Policy::proto),
                set_allow_list: clear_allow_list || !allow_list.is_empty(),
                allow_list: addresses(&kr, &allow_list)?,
                min_stake: min_stake.map(|s| parse_uopen(&s, "--min-stake")).transpose()?.and_then(uopen),
                terms: terms.proto(current_terms),
                model_terms,
                curators_bps,
            };
            let summary = format!("update datanet {datanet_id}");
            (signer, Intent { msgs: vec![any(&m)], spend: 0, summary })
        }
        DatanetTxCmd::Contribute { datanet_id, file, uri, stake, commit_first, signer } => {
            let contributor = kr.resolve(&signer.from)?.address;
            let d = get_datanet(node, datanet_id).await?;
            let stake = match stake {
                Some(s) => parse_uopen(&s, "--stake")?,
                None => d.min_stake.as_ref().and_then(|c| c.amount.parse().ok()).unwrap_or(0),
            };
            let fp = d.fingerprint.unwrap_or_default();
            let fingerprinter = openledger_types::fingerprint::Fingerprinter::new(fp.modulus, fp.max_hashes as usize);
            let digest = crate::content::digest_file(&file, Some(fingerprinter))?;
            if let Some(why) = &digest.fingerprint_skipped {
                bail!("cannot contribute {}: {why}", file.display());
            }
            let fingerprint = digest.fingerprint.unwrap_or_default();
            if fingerprint.is_empty() {
                bail!(
                    "cannot contribute {}: it has no fingerprint hash (fewer than 8 words, or none sampled at 1 in {}), \
                     and a contribution's weight counts its hashes",
                    file.display(),
                    fp.modulus
                );
            }
            eprintln!(
                "{}: {} bytes, sha256 {}, {} fingerprint hashes",
                file.display(),
                digest.size,
                hex::encode(digest.sha256),
                fingerprint.len()
            );
            let m = dn::MsgSubmitContribution {
                contributor: contributor.to_string(),
                datanet_id,
                content_hash: digest.sha256.to_vec(),
                size: digest.size,
                uri,
                fingerprint,
                stake: uopen(stake),
                salt: vec![],
            };
            let m = if commit_first {
                use rand::RngCore;
                let mut salt = vec![0u8; 32];
                rand::rngs::OsRng.fill_bytes(&mut salt);
                let commitment = openledger_types::commit::commitment(datanet_id, &contributor, &digest.sha256, &salt);
                let c = dn::MsgCommitContribution { contributor: contributor.to_string(), datanet_id, commitment: commitment.to_vec() };
                let key = kr.resolve(&signer.from)?;
                let intent =
                    Intent { msgs: vec![any(&c)], spend: 0, summary: format!("commit to {} in datanet {datanet_id}", file.display()) };
                let committed = broadcast::broadcast(&kr, node, &key, intent, &signer.flags).await?;
                // The reveal must land in a later block than the commitment.
                broadcast::wait_past(node, committed.height).await?;
                dn::MsgSubmitContribution { salt, ..m }
            } else {
                m
            };
            let summary = format!("contribute {} ({} bytes) to datanet {datanet_id} staking {stake}uopen", file.display(), digest.size);
            (signer, Intent { msgs: vec![any(&m)], spend: stake, summary })
        }
        DatanetTxCmd::Review { contribution_id, verdict, quality_bps, reason, signer } => {
            let curator = kr.resolve(&signer.from)?.address;
            let accept = matches!(verdict, Verdict::Accept);
            let quality_bps = match (verdict, quality_bps) {
                (Verdict::Accept, Some(q)) => q,
                (Verdict::Accept, None) => bail!("accept needs --quality-bps (1-10000)"),
                (Verdict::Reject, Some(_)) => bail!("--quality-bps goes with accept, not reject"),
                (Verdict::Reject, None) => 0,
            };
            if !accept && reason.is_empty() {
                bail!("reject needs --reason");
            }
            let m = dn::MsgReviewContribution { curator: curator.to_string(), contribution_id, accept, quality_bps, reason };
            let summary = if accept {
                format!("accept contribution {contribution_id} at quality {quality_bps} bps")
            } else {
                format!("reject contribution {contribution_id}")
            };
            (signer, Intent { msgs: vec![any(&m)], spend: 0, summary })
        }
        DatanetTxCmd::Withdraw { contribution_id, signer } => {
            let contributor = kr.resolve(&signer.from)?.address;
            let m = dn::MsgWithdrawContribution { contributor: contributor.to_string(), contribution_id };
            (signer, Intent { msgs: vec![any(&m)], spend: 0, summary: format!("withdraw contribution {contribution_id}") })
        }
        DatanetTxCmd::Publish { datanet_id, signer } => {
            let publisher = kr.resolve(&signer.from)?.address;
            let m = dn::MsgPublishVersion { publisher: publisher.to_string(), datanet_id };
            (signer, Intent { msgs: vec![any(&m)], spend: 0, summary: format!("publish the next version of datanet {datanet_id}") })
        }
        DatanetTxCmd::Challenge { contribution_id, reason, bond, signer } => {
            let challenger = kr.resolve(&signer.from)?.address;
            let bond = parse_uopen(&bond, "--bond")?;
            let m = dn::MsgChallengeContribution { challenger: challenger.to_string(), contribution_id, reason, bond: uopen(bond) };
            let summary = format!("challenge contribution {contribution_id} with a bond of {bond}uopen");
            (signer, Intent { msgs: vec![any(&m)], spend: bond, summary })
        }
        DatanetTxCmd::Resolve { challenge_id, resolution, reason, signer } => {
            let curator = kr.resolve(&signer.from)?.address;
            let uphold = matches!(resolution, Resolution::Uphold);
            let m = dn::MsgResolveChallenge { curator: curator.to_string(), challenge_id, uphold, resolution: reason };
            let summary = format!("{} challenge {challenge_id}", if uphold { "uphold" } else { "dismiss" });
            (signer, Intent { msgs: vec![any(&m)], spend: 0, summary })
        }
        DatanetTxCmd::Appeal { challenge_id, reason, bond, signer } => {
            let appellant = kr.resolve(&signer.from)?.address;
            let bond = parse_uopen(&bond, "--bond")?;
            let m = dn::MsgAppealChallenge { appellant: appellant.to_string(), challenge_id, reason, bond: uopen(bond) };
            let summary = format!("appeal challenge {challenge_id} to the arbiters with a bond of {bond}uopen");
            (signer, Intent { msgs: vec![any(&m)], spend: bond, summary })
        }
        DatanetTxCmd::BondCurator { datanet_id, amount, signer } => {
            let curator = kr.resolve(&signer.from)?.address;
            let amount = parse_uopen(&amount, "AMOUNT")?;
            let m = dn::MsgBondCurator { curator: curator.to_string(), datanet_id, amount: uopen(amount) };
            let summary = format!("bond {amount}uopen as a curator of datanet {datanet_id}");
            (signer, Intent { msgs: vec![any(&m)], spend: amount, summary })
        }
        DatanetTxCmd::UnbondCurator { datanet_id, amount, signer } => {
            let curator = kr.resolve(&signer.from)?.address;
            let amount = parse_uopen(&amount, "AMOUNT")?;
            let m = dn::MsgUnbondCurator { curator: curator.to_string(), datanet_id, amount: uopen(amount) };
            let summary = format!("unbond {amount}uopen of your curator bond in datanet {datanet_id}");
            (signer, Intent { msgs: vec![any(&m)], spend: 0, summary })
        }
        DatanetTxCmd::ClaimCurator { datanet_id, signer } => {
            let curator = kr.resolve(&signer.from)?.address;
            let m = dn::MsgClaimCuratorRewards { curator: curator.to_string(), datanet_id };
            (signer, Intent { msgs: vec![any(&m)], spend: 0, summary: format!("claim your curator income in datanet {datanet_id}") })
        }
    };
    let key = kr.resolve(&signer.from)?;
    broadcast::broadcast(&kr, node, &key, intent, &signer.flags).await.map(|_| ())
}

fn status_proto(s: Status) -> i32 {
    (match s {
        Status::Pending => dn::ContributionStatus::Pending,
        Status::Accepted => dn::ContributionStatus::Accepted,
        Status::Rejected => dn::ContributionStatus::Rejected,
        Status::Withdrawn => dn::ContributionStatus::Withdrawn,
        Status::Invalidated => dn::ContributionStatus::Invalidated,
    }) as i32
}

pub async fn query(node: &NodeOpts, cmd: DatanetQueryCmd) -> Result<()> {
    let format = Format::parse(&node.output)?;
    let mut c = client(node).await?;
    let value = match cmd {
        DatanetQueryCmd::Params => output::to_value(&c.params(dn::QueryParamsRequest {}).await.map_err(status_error)?.into_inner())?,
        DatanetQueryCmd::Datanet { id } => {
            output::to_value(&c.datanet(dn::QueryDatanetRequest { id }).await.map_err(status_error)?.into_inner())?
        }
        DatanetQueryCmd::Datanets { owner, tag, page } => {
            let req =
                dn::QueryDatanetsRequest { owner: owner.unwrap_or_default(), tag: tag.unwrap_or_default(), pagination: page.request()? };
            output::to_value(&c.datanets(req).await.map_err(status_error)?.into_inner())?
        }
        DatanetQueryCmd::Contribution { id } => {
            output::to_value(&c.contribution(dn::QueryContributionRequest { id }).await.map_err(status_error)?.into_inner())?
        }
        DatanetQueryCmd::Contributions { datanet_id, status, contributor, page } => {
            let req = dn::QueryContributionsRequest {
                datanet_id,
                status: status.map_or(0, status_proto),
                contributor: contributor.unwrap_or_default(),
                pagination: page.request()?,
            };
            output::to_value(&c.contributions(req).await.map_err(status_error)?.into_inner())?
        }
        DatanetQueryCmd::Version { datanet_id, version } => {
            output::to_value(&c.version(dn::QueryVersionRequest { datanet_id, version }).await.map_err(status_error)?.into_inner())?
        }
        DatanetQueryCmd::Versions { datanet_id, page } => {
            let req = dn::QueryVersionsRequest { datanet_id, pagination: page.request()? };
            output::to_value(&c.versions(req).await.map_err(status_error)?.into_inner())?
        }
        DatanetQueryCmd::Challenge { id } => {
            output::to_value(&c.challenge(dn::QueryChallengeRequest { id }).await.map_err(status_error)?.into_inner())?
        }
        DatanetQueryCmd::Curators { datanet_id } => {
            output::to_value(&c.curators(dn::QueryCuratorsRequest { datanet_id }).await.map_err(status_error)?.into_inner())?
        }
        DatanetQueryCmd::Proof { datanet_id, version, contribution_id, verify } => {
            let r = c
                .inclusion_proof(dn::QueryInclusionProofRequest { datanet_id, version, contribution_id })
                .await
                .map_err(status_error)?
                .into_inner();
            if verify {
                let proof = r.proof.as_ref().ok_or_else(|| anyhow!("empty proof"))?;
                openledger_types::merkle::verify(proof).map_err(|e| anyhow!("the proof does not verify: {e}"))?;
                // Against the version's root as the chain reports it, not only the
                // proof's own copy.
                let v = c.version(dn::QueryVersionRequest { datanet_id, version }).await.map_err(status_error)?.into_inner();
                let root = v.version.map(|v| v.merkle_root).unwrap_or_default();
                if root != proof.root {
                    bail!("the proof's root {} is not version {version}'s root {}", hex::encode(&proof.root), hex::encode(&root));
                }
                eprintln!(
                    "verified: contribution {contribution_id} is in version {version} of datanet {datanet_id} (root {})",
                    hex::encode(&root)
                );
            }
            output::to_value(&r)?
        }
    };
    output::print(&value, format);
    Ok(())
}

/// `openledger verify-proof`: check a saved proof (the JSON `q datanet proof -o json`
/// prints) with no node: the leaf folded with its siblings gives the root; optionally
/// that root is the one you trust and the content is your file.
#[derive(Args)]
pub struct VerifyProof {
    /// The proof, as printed by `openledger q datanet proof … -o json`.
    pub proof_file: PathBuf,
    /// The version root you trust (hex, or base64 as `q datanet version` prints it).
    #[arg(long)]
    pub root: Option<String>,
    /// The data file the contribution should be.
    #[arg(long)]
    pub content: Option<PathBuf>,
}

/// A 32-byte root, hex (as printed by `verify-proof`) or base64 (as in query output).
fn parse_root(s: &str) -> Result<Vec<u8>> {
    use base64::Engine;
    let s = s.trim_start_matches("0x");
    let bytes = if s.len() == 64 {
        hex::decode(s).map_err(|e| anyhow!("--root {s:?} is not hex: {e}"))?
    } else {
        base64::engine::general_purpose::STANDARD.decode(s).map_err(|e| anyhow!("--root {s:?} is neither 64 hex digits nor base64: {e}"))?
    };
    if bytes.len() != 32 {
        bail!("--root must be 32 bytes, got {}", bytes.len());
    }
    Ok(bytes)
}

pub fn verify_proof(args: VerifyProof) -> Result<()> {
    let text = std::fs::read_to_string(&args.proof_file).with_context(|| format!("cannot read {}", args.proof_file.display()))?;
    let r: dn::QueryInclusionProofResponse =
        serde_json::from_str(&text).with_context(|| format!("{} is not a proof in JSON", args.proof_file.display()))?;
    let proof = r.proof.ok_or_else(|| anyhow!("{}: no proof in it", args.proof_file.display()))?;
    openledger_types::merkle::verify(&proof).map_err(|e| anyhow!("the proof does not verify: {e}"))?;
    if let Some(root) = &args.root {
        let root = parse_root(root)?;
        if root != proof.root {
            bail!("the proof's root {} is not the root you gave, {}", hex::encode(&proof.root), hex::encode(&root));
        }
    }
    if let Some(path) = &args.content {
        let d = crate::content::digest_file(path, None)?;
        if d.sha256.as_slice() != proof.content_hash.as_slice() {
            bail!("{} has sha256 {}, the proof is for {}", path.display(), hex::encode(d.sha256), hex::encode(&proof.content_hash));
        }
    }
    println!(
        "verified: contribution {} (sha256 {}, weight {}) is leaf {} of version {} of datanet {} with root {}",
        proof.contribution_id,
        hex::encode(&proof.content_hash),
        proof.weight,
        proof.position,
        proof.version,
        proof.datanet_id,
        hex::encode(&proof.root)
    );
    Ok(())
}
