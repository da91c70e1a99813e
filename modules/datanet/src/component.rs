//! The datanet module in the registry: genesis import/export, its queries, and the
//! end-of-block work — refunding accepted stakes whose challenge window ended,
//! expiring unresolved challenges.
use std::collections::{BTreeMap, BTreeSet};

use cnidarium::{StateRead, StateWrite};
use futures::StreamExt;
use openledger_framework::events::typed;
use openledger_framework::index::{be, IndexImport, IndexWrite};
use openledger_framework::{BlockCtx, ChainError, Module, ModuleAccount, QueryRoute, StoreRead, StoreWrite};
use openledger_proto::openledger::datanet::v1::*;
use openledger_token::state_ext::TokenWrite;

use crate::msg::fields::{address, addresses, distinct_addresses, model_terms, policy, tags, text, uopen};
use crate::msg::DatanetMsg;
use crate::records::{import_contribution_index, index_datanet, refund_if_due};
use crate::state_ext::{DatanetRead, DatanetWrite};
use crate::{error, fp_index, merkle, state_key, ESCROW};

/// Datanets: contributions, reviews, challenges, versions.
pub struct DatanetModule;

impl Module for DatanetModule {
    const NAME: &'static str = "datanet";
    /// A datanet's contributions grow with its users' data: in a tree of their own, so
    /// settling an inference never hashes or seeks through a million contributions.
    const SUBSTORE: bool = true;
    const MODULE_ACCOUNTS: &'static [ModuleAccount] = &[ESCROW];
    /// The fingerprint index: a receipt reads it once per output hash.
    const MEMORY_PREFIXES: &'static [&'static str] = &[state_key::POSTING_PREFIX];
    type Msg = DatanetMsg;
    type Genesis = GenesisState;

    fn query_routes() -> Vec<QueryRoute> {
        crate::query::routes()
    }

    /// Import: records as given, then every derived structure rebuilt — content-hash keys,
    /// list indexes, the queues, and each datanet's version tree with its full history
    /// (`replay_trees`: epoch by epoch, a first epoch stored in one pass), so proofs of old versions still verify.
    async fn init_genesis<S: StateWrite>(state: &mut S, g: &GenesisState) -> Result<(), ChainError> {
        let params = g.params.clone().unwrap_or_else(default_params);
        check_params(&params)?;
        state.put_datanet_params(&params);
        // Nothing precedes this import in the module's key space, so every check is
        // made against what it has imported so far, in memory: no store read per record
        // (at a million contributions those reads were most of InitChain's time).
        let mut datanets: BTreeMap<u64, &Datanet> = BTreeMap::new();
        for d in &g.datanets {
            check_datanet(&params, d).map_err(|e| error::invalid_genesis(format!("datanet {}: {}", d.id, e.message)))?;
            if d.id == 0 || datanets.insert(d.id, d).is_some() {
                return Err(error::invalid_genesis(format!("datanet id {} is zero or repeated", d.id)));
            }
            index_datanet(state, d).await?;
            state.put_datanet(d);
        }
        let max_dn = datanets.keys().next_back().copied().unwrap_or(0);
        // Contribution id → its datanet.
        let mut contributions: BTreeMap<u64, u64> = BTreeMap::new();
        let mut lists = IndexImport::default();
        let mut fingerprints = fp_index::IndexBuild::default();
        // Tree replay: (datanet, epoch, position, leaf), applied in that order.
        let mut writes: Vec<(u64, u64, u64, merkle::Hash)> = Vec::new();
        for c in &g.contributions {
            let d = datanets
                .get(&c.datanet_id)
                .ok_or_else(|| error::invalid_genesis(format!("contribution {} names unknown datanet {}", c.id, c.datanet_id)))?;
            if c.id == 0 || contributions.insert(c.id, c.datanet_id).is_some() {
                return Err(error::invalid_genesis(format!("contribution id {} is zero or repeated", c.id)));
            }
            let contributor = address(&c.contributor, "contributor")
                .map_err(|e| error::invalid_genesis(format!("contribution {}: {}", c.id, e.message)))?;
            let status =
                ContributionStatus::try_from(c.status).map_err(|_| error::invalid_genesis(format!("contribution {}: bad status", c.id)))?;
            if !matches!(status, ContributionStatus::Withdrawn | ContributionStatus::Rejected) {
                state.put_u64(state_key::content(c.datanet_id, &c.content_hash), c.id);
            }
            if matches!(status, ContributionStatus::Accepted | ContributionStatus::Invalidated) {
                if c.position >= d.tree_size {
                    return Err(error::invalid_genesis(format!("contribution {}: position outside datanet {}'s tree", c.id, d.id)));
                }
                let weight: u128 = c.weight.parse().map_err(|_| error::invalid_genesis(format!("contribution {}: bad weight", c.id)))?;
                writes.push((c.datanet_id, c.first_version, c.position, merkle::leaf_hash(c.id, &c.content_hash, weight)));
                if status == ContributionStatus::Invalidated {
                    writes.push((c.datanet_id, c.invalidated_version, c.position, merkle::leaf_hash(c.id, &c.content_hash, 0)));
                }
                fingerprints.add(params.max_fingerprint_sharing, c, status == ContributionStatus::Accepted);
                if c.stake_release_height != 0 {
                    state.put_raw(state_key::release(c.stake_release_height, c.id), vec![]);
                }
            }
            import_contribution_index(state, &mut lists, c, &contributor);
            state.put_contribution(c);
        }
        lists.finish(state);
        fingerprints.finish(state);
        let max_c = contributions.keys().next_back().copied().unwrap_or(0);
        replay_trees(state, writes).await?;
        for v in &g.versions {
            if !datanets.contains_key(&v.datanet_id) {
                return Err(error::invalid_genesis(format!("version {} names unknown datanet {}", v.version, v.datanet_id)));
            }
            let root = merkle::root_at(state, v.datanet_id, v.contribution_count, v.version).await?;
            if root.as_slice() != v.merkle_root.as_slice() {
                return Err(error::invalid_genesis(format!(
                    "datanet {} version {}: the contributions do not give its merkle root",
                    v.datanet_id, v.version
                )));
            }
            state.put_version(v);
            state.index_insert(&state_key::ix_versions(v.datanet_id), &be(v.version), be(v.version).to_vec()).await?;
        }
        let mut challenges: BTreeSet<u64> = BTreeSet::new();
        for ch in &g.challenges {
            address(&ch.challenger, "challenger").map_err(|e| error::invalid_genesis(format!("challenge {}: {}", ch.id, e.message)))?;
            if ch.id == 0 || !challenges.insert(ch.id) || contributions.get(&ch.contribution_id) != Some(&ch.datanet_id) {
                return Err(error::invalid_genesis(format!(
                    "challenge {}: id zero or repeated, or contribution {} unknown or not in datanet {}",
                    ch.id, ch.contribution_id, ch.datanet_id
                )));
            }
            let pending = [ChallengeStatus::Open, ChallengeStatus::Decided, ChallengeStatus::Escalated];
            if pending.iter().any(|s| ch.status == *s as i32) {
                state.put_raw(state_key::expiry(ch.deadline_height, ch.id), vec![]);
            }
            state.put_challenge(ch);
        }
        let max_ch = challenges.last().copied().unwrap_or(0);
        import_curators(state, &g.curator_pools, &g.curator_bonds, &datanets)?;
        for pc in &g.commitments {
            if !datanets.contains_key(&pc.datanet_id) || pc.commitment.len() != 32 {
                return Err(error::invalid_genesis(format!(
                    "commitment {}: unknown datanet {} or not 32 bytes",
                    hex::encode(&pc.commitment),
                    pc.datanet_id
                )));
            }
            state.put_u64(state_key::commitment(pc.datanet_id, &pc.commitment), pc.height);
        }
        state.put_u64(state_key::NEXT_DATANET_ID.to_string(), g.next_datanet_id.max(max_dn.saturating_add(1)));
        state.put_u64(state_key::NEXT_CONTRIBUTION_ID.to_string(), g.next_contribution_id.max(max_c.saturating_add(1)));
        state.put_u64(state_key::NEXT_CHALLENGE_ID.to_string(), g.next_challenge_id.max(max_ch.saturating_add(1)));
        Ok(())
    }

    async fn check_invariants<S: StateRead>(state: &S) -> Result<(), String> {
        check_escrow(state).await
    }

    async fn export_genesis<S: StateRead>(state: &S) -> Result<GenesisState, ChainError> {
        Ok(GenesisState {
            params: Some(state.datanet_params().await?),
            datanets: state.all_protos(state_key::datanet_prefix()).await?,
            contributions: state.all_protos(state_key::contribution_prefix()).await?,
            versions: state.all_protos(state_key::version_prefix()).await?,
            challenges: state.all_protos(state_key::challenge_prefix()).await?,
            next_datanet_id: state.next_id(state_key::NEXT_DATANET_ID).await?,
            next_contribution_id: state.next_id(state_key::NEXT_CONTRIBUTION_ID).await?,
            next_challenge_id: state.next_id(state_key::NEXT_CHALLENGE_ID).await?,
            commitments: commitments(state).await?,
            curator_bonds: crate::curators::all_bonds(state).await?,
            curator_pools: crate::curators::all_pools(state).await?,
        })
    }

    /// End of block `height`: refund the stakes whose window ends now (unless a challenge
    /// holds them); escalate the open challenges whose deadline is now, apply the
    /// quorums' decisions whose appeal window ends now or whose appeal no arbiter decided,
    /// and expire the other escalated ones (bond and stake refunded); pay back the
    /// curator bonds released now. Each queue entry is keyed by its exact height, so a block touches only its own.
    async fn end_block<S: StateWrite>(state: &mut S, ctx: &BlockCtx<'_>) -> Result<(), ChainError> {
        let height = ctx.height;
        for (key, id) in due_ids(state, &state_key::release_prefix(height)).await? {
            state.delete(key);
            let Some(mut c) = state.contribution(id).await? else { continue };
            if c.status == ContributionStatus::Accepted as i32 && c.open_challenge_id == 0 {
                refund_if_due(state, &mut c, height, None).await?;
                state.put_contribution(&c);
            }
        }
        let p = state.datanet_params().await?;
        for (key, id) in due_ids(state, &state_key::expiry_prefix(height)).await? {
            state.delete(key);
            let Some(mut ch) = state.challenge(id).await? else { continue };
            if ch.status == ChallengeStatus::Open as i32 {
                // No quorum decided it: an arbiter will, not the clock.
                ch.status = ChallengeStatus::Escalated as i32;
                ch.escalated_height = height;
                ch.deadline_height = height.saturating_add(p.escalation_blocks);
                state.put_raw(state_key::expiry(ch.deadline_height, ch.id), vec![]);
                state.put_challenge(&ch);
                state.record(typed(openledger_proto::openledger::datanet::v1::EventChallengeEscalated {
                    challenge_id: ch.id.to_string(),
                    contribution_id: ch.contribution_id.to_string(),
                    deadline_height: ch.deadline_height.to_string(),
                }));
                continue;
            }
            let appealed = ch.status == ChallengeStatus::Escalated as i32 && !ch.appellant.is_empty();
            if ch.status == ChallengeStatus::Decided as i32 || appealed {
                // Unappealed, or appealed and no arbiter decided: the quorum's decision stands.
                let (uphold, resolution) = (ch.decided_uphold, ch.resolution.clone());
                crate::msg::resolve::apply(state, ch, uphold, None, &resolution, &p, height, None).await?;
                continue;
            }
            if ch.status != ChallengeStatus::Escalated as i32 {
                continue;
            }
            let bond = uopen(ch.bond.as_ref(), "bond")?;
            let challenger = address(&ch.challenger, "challenger")?;
            state.send_from_module(&ESCROW, &challenger, bond, None).await?;
            ch.status = ChallengeStatus::Expired as i32;
            ch.resolved_height = height;
            state.put_challenge(&ch);
            if let Some(mut c) = state.contribution(ch.contribution_id).await? {
                c.open_challenge_id = 0;
                refund_if_due(state, &mut c, height, None).await?;
                state.put_contribution(&c);
            }
            state.record(typed(openledger_proto::openledger::datanet::v1::EventChallengeExpired {
                challenge_id: ch.id.to_string(),
                contribution_id: ch.contribution_id.to_string(),
                refunded_bond: bond.to_string(),
            }));
        }
        crate::curators::release_due(state, height).await
    }
}

/// The escrow holds exactly what the module owes: stakes not yet refunded or slashed,
/// bonds of undecided challenges, curator bonds (bonded and unbonding) and curators'
/// unclaimed income; and no datanet's curators can claim more income than it holds.
/// (A walk of every record: for tests and audits, not for blocks.)
pub async fn check_escrow<S: StateRead>(state: &S) -> Result<(), String> {
    use openledger_token::state_ext::TokenRead;
    let e = |e: ChainError| e.message;
    let amount = |s: &str| crate::records::amount_of(s).map_err(e);
    let mut owed: u128 = 0;
    let contributions: Vec<Contribution> = state.all_protos(state_key::contribution_prefix()).await.map_err(e)?;
    for c in &contributions {
        let held = c.status == ContributionStatus::Pending as i32
            || (c.status == ContributionStatus::Accepted as i32 && c.stake_release_height != 0);
        if held {
            owed += uopen(c.stake.as_ref(), "stake").map_err(e)?;
        }
    }
    let challenges: Vec<Challenge> = state.all_protos(state_key::challenge_prefix()).await.map_err(e)?;
    let pending = [ChallengeStatus::Open, ChallengeStatus::Decided, ChallengeStatus::Escalated];
    for ch in challenges.iter().filter(|ch| pending.iter().any(|s| ch.status == *s as i32)) {
        owed += uopen(ch.bond.as_ref(), "bond").map_err(e)?;
        if !ch.appellant.is_empty() {
            owed += uopen(ch.appeal_bond.as_ref(), "appeal bond").map_err(e)?;
        }
    }
    for pool in crate::curators::all_pools(state).await.map_err(e)? {
        let income = amount(&pool.income)?;
        owed += income;
        let mut earned: u128 = 0;
        let mut bonded: u128 = 0;
        for mut b in crate::curators::bonds_of(state, pool.datanet_id).await.map_err(e)? {
            crate::curators::settle_earnings(&pool, &mut b).map_err(e)?;
            earned += amount(&b.earned)?;
            bonded += amount(&b.bonded)?;
            owed += amount(&b.bonded)? + amount(&b.unbonding)?;
        }
        if earned > income {
            return Err(format!("datanet {}: curators earned {earned}, its curator income holds {income}", pool.datanet_id));
        }
        if bonded != amount(&pool.bonded)? {
            return Err(format!("datanet {}: pool bonded {} is not the sum of its bonds, {bonded}", pool.datanet_id, pool.bonded));
        }
    }
    let held = state.balance(&crate::escrow()).await.map_err(e)?;
    if held != owed {
        return Err(format!("the escrow holds {held}, the module owes {owed}"));
    }
    Ok(())
}

/// Rebuild each datanet's version tree from its leaf writes `(datanet, epoch, position,
/// leaf)`. Replayed in (datanet, epoch, position) order, each write's tree size being the
/// number of positions seen so far in that datanet (positions were appended in order).
/// A datanet's first writes that fill positions 0, 1, 2, … in its first epoch — all of
/// them, for a datanet imported as one version — are a fresh tree, stored in one pass
/// (`merkle::put_fresh_tree`: the same nodes the appends leave); the rest replay leaf by leaf.
async fn replay_trees<S: StateWrite>(state: &mut S, mut writes: Vec<(u64, u64, u64, merkle::Hash)>) -> Result<(), ChainError> {
    writes.sort_by_key(|w| (w.0, w.1, w.2));
    let mut rest = writes.as_slice();
    while let Some(&(dn, epoch, _, _)) = rest.first() {
        let fresh = rest.iter().enumerate().take_while(|(i, w)| w.0 == dn && w.1 == epoch && w.2 == *i as u64).count();
        let leaves: Vec<merkle::Hash> = rest[..fresh].iter().map(|w| w.3).collect();
        merkle::put_fresh_tree(state, dn, &leaves, epoch);
        let mut size = fresh as u64;
        let end = rest.iter().position(|w| w.0 != dn).unwrap_or(rest.len());
        for &(_, epoch, position, leaf) in &rest[fresh..end] {
            size = size.max(position.saturating_add(1));
            merkle::set_leaf(state, dn, position, size, leaf, epoch).await?;
        }
        rest = &rest[end..];
    }
    Ok(())
}

/// Genesis curator pools and bonds: each of a known datanet, at most one per datanet
/// (per (datanet, curator)), amounts that parse; an unbonding bond with its release
/// queued; each pool's `bonded` the sum of its bonds', no bond's `reward_acc` ahead of
/// its pool's, and no bond without a pool.
fn import_curators<S: StateWrite>(
    state: &mut S,
    pools: &[CuratorPool],
    bonds: &[CuratorBond],
    datanets: &BTreeMap<u64, &Datanet>,
) -> Result<(), ChainError> {
    let parse =
        |a: &str, what: String| openledger_framework::amount::parse_amount(a).map_err(|e| error::invalid_genesis(format!("{what}: {e}")));
    // Datanet → (bonded, reward_acc) of its pool; the bonds' sum found so far.
    let mut imported: BTreeMap<u64, (u128, u128, u128)> = BTreeMap::new();
    for p in pools {
        let what = || format!("curator pool {}", p.datanet_id);
        if !datanets.contains_key(&p.datanet_id) {
            return Err(error::invalid_genesis(format!("{}: unknown datanet", what())));
        }
        let (bonded, acc) = (parse(&p.bonded, what())?, parse(&p.reward_acc, what())?);
        parse(&p.income, what())?;
        if imported.insert(p.datanet_id, (bonded, acc, 0)).is_some() {
            return Err(error::invalid_genesis(format!("{}: repeated", what())));
        }
        crate::curators::put_pool(state, p);
    }
    let mut seen: BTreeSet<(u64, String)> = BTreeSet::new();
    for b in bonds {
        let bad = |why: &str| error::invalid_genesis(format!("curator bond {}/{}: {why}", b.datanet_id, b.curator));
        let curator = address(&b.curator, "curator").map_err(|e| bad(&e.message))?;
        if curator.to_string() != b.curator || !seen.insert((b.datanet_id, b.curator.clone())) {
            return Err(bad("curator not canonical, or repeated"));
        }
        let what = || format!("curator bond {}/{}", b.datanet_id, b.curator);
        let (bonded, unbonding, acc) = (parse(&b.bonded, what())?, parse(&b.unbonding, what())?, parse(&b.reward_acc, what())?);
        parse(&b.earned, what())?;
        parse(&b.slashed, what())?;
        let pool = imported.get_mut(&b.datanet_id).ok_or_else(|| bad("no curator pool for its datanet"))?;
        if acc > pool.1 || (unbonding == 0) != (b.release_height == 0) {
            return Err(bad("reward_acc ahead of its pool's, or unbonding without a release height (or the reverse)"));
        }
        pool.2 += bonded;
        if b.release_height != 0 {
            state.put_raw(state_key::curator_release(b.release_height, b.datanet_id, &curator), vec![]);
        }
        crate::curators::put_bond(state, b)?;
    }
    if let Some((dn, _)) = imported.iter().find(|(_, (bonded, _, sum))| bonded != sum) {
        return Err(error::invalid_genesis(format!("curator pool {dn}: bonded is not the sum of its bonds")));
    }
    Ok(())
}

pub fn default_params() -> Params {
    Params {
        max_name_length: 64,
        max_description_length: 2048,
        max_tags: 10,
        max_tag_length: 32,
        max_uri_length: 512,
        max_curators: 20,
        max_allow_list: 1000,
        max_reason_length: 512,
        max_fingerprint_hashes: 4096,
        // Days of blocks (at ~6 s a block): a week to challenge an acceptance, two days
        // for the curators' quorum, a week for an arbiter; a curator bond outlives all
        // three, so nobody accepts bad data and leaves before it can be proven.
        challenge_window_blocks: 100_800,
        challenge_resolution_blocks: 28_800,
        escalation_blocks: 100_800,
        // A day to appeal a quorum's decision before it takes effect.
        appeal_blocks: 14_400,
        curator_unbonding_blocks: 244_800,
        // A challenge posts half the stake it can win (at least 1,000 uopen): an
        // honest one that is upheld doubles its bond at the default 50% reward.
        min_challenge_bond: "1000".into(),
        challenge_bond_bps: 5000,
        min_stake_floor: "1000".into(),
        default_min_contributors_bps: 1000,
        max_fingerprint_sharing: 32,
        min_curator_bond: "10000000".into(),
        curator_slash_bps: 1000,
        arbiters: vec![],
    }
}

fn check_params(p: &Params) -> Result<(), ChainError> {
    let amounts = [&p.min_challenge_bond, &p.min_stake_floor, &p.min_curator_bond];
    if amounts.iter().any(|a| openledger_framework::amount::parse_amount(a).is_err()) {
        return Err(error::invalid_genesis(
            "datanet params: min_challenge_bond, min_stake_floor and min_curator_bond must be uopen integers",
        ));
    }
    let bps = [p.default_min_contributors_bps, p.curator_slash_bps, p.challenge_bond_bps];
    if bps.iter().any(|b| u128::from(*b) > openledger_framework::amount::BPS) {
        return Err(error::invalid_genesis(
            "datanet params: default_min_contributors_bps, curator_slash_bps and challenge_bond_bps must be at most 10000",
        ));
    }
    if openledger_framework::amount::parse_amount(&p.min_curator_bond).unwrap_or(0) == 0 {
        return Err(error::invalid_genesis("datanet params: min_curator_bond must be positive: curators are bonded"));
    }
    let decided_by = p
        .challenge_window_blocks
        .saturating_add(p.challenge_resolution_blocks)
        .saturating_add(p.appeal_blocks)
        .saturating_add(p.escalation_blocks);
    if p.curator_unbonding_blocks < decided_by || p.escalation_blocks == 0 || p.appeal_blocks == 0 {
        return Err(error::invalid_genesis(format!(
            "datanet params: curator_unbonding_blocks {} must cover the challenge window, resolution, appeal and escalation ({decided_by} blocks), and escalation_blocks and appeal_blocks be positive",
            p.curator_unbonding_blocks
        )));
    }
    let arbiters =
        distinct_addresses(&p.arbiters, "arbiters").map_err(|e| error::invalid_genesis(format!("datanet params: {}", e.message)))?;
    if arbiters.iter().zip(&p.arbiters).any(|(a, s)| a.to_string() != *s) {
        return Err(error::invalid_genesis("datanet params: arbiters must be in canonical (lower-case bech32) form"));
    }
    if p.max_fingerprint_sharing == 0 {
        return Err(error::invalid_genesis("datanet params: max_fingerprint_sharing must be positive"));
    }
    if p.max_name_length == 0 || p.max_uri_length == 0 || p.max_reason_length == 0 || p.challenge_resolution_blocks == 0 {
        return Err(error::invalid_genesis("datanet params: length limits and the resolution window must be positive"));
    }
    Ok(())
}

/// A genesis datanet, checked as creation checks it.
fn check_datanet(p: &Params, d: &Datanet) -> Result<(), ChainError> {
    // (A string that parses is the address's only form: bech32 decoding refuses an
    // upper-case prefix and mixed case, so stored strings compare exactly.)
    address(&d.owner, "owner")?;
    addresses(&d.curators, "curators", p.max_curators)?;
    addresses(&d.allow_list, "allow_list", p.max_allow_list)?;
    policy(d.policy, &d.allow_list)?;
    text(&d.name, "name", p.max_name_length, true)?;
    text(&d.description, "description", p.max_description_length, false)?;
    text(&d.metadata_uri, "metadata_uri", p.max_uri_length, false)?;
    tags(&d.tags, p)?;
    if d.fingerprint.is_some_and(|f| f.near_duplicate_bps > 10_000) {
        return Err(error::invalid_fingerprint("fingerprint.near_duplicate_bps must be at most 10000"));
    }
    // Absent in a genesis written before datanets had model terms: no requirement.
    if let Some(t) = &d.model_terms {
        if model_terms(Some(t), p)? != *t {
            return Err(error::invalid_field("model_terms: owners must be in canonical (lower-case bech32) form"));
        }
    }
    Ok(())
}

/// Every commitment not yet revealed, in key order (datanet, then commitment).
async fn commitments<S: StateRead>(state: &S) -> Result<Vec<PendingCommitment>, ChainError> {
    let mut stream = std::pin::pin!(state.prefix_raw(state_key::commitment_prefix()));
    let mut out = Vec::new();
    while let Some(item) = stream.next().await {
        let (key, value) = item?;
        let bad = || openledger_framework::sdk::internal(format!("corrupt commitment key {key}"));
        let mut parts = key.trim_start_matches(state_key::commitment_prefix()).split('/');
        let datanet_id = u64::from_str_radix(parts.next().ok_or_else(bad)?, 16).map_err(|_| bad())?;
        let commitment = hex::decode(parts.next().ok_or_else(bad)?).map_err(|_| bad())?;
        let height = u64::from_be_bytes(<[u8; 8]>::try_from(value.as_slice()).map_err(|_| bad())?);
        out.push(PendingCommitment { datanet_id, commitment, height });
    }
    Ok(out)
}

async fn due_ids<S: StateRead>(state: &S, prefix: &str) -> Result<Vec<(String, u64)>, ChainError> {
    let mut stream = std::pin::pin!(state.prefix_keys(prefix));
    let mut out = Vec::new();
    while let Some(key) = stream.next().await {
        let key = key?;
        let id = u64::from_str_radix(key.rsplit('/').next().unwrap_or_default(), 16)
            .map_err(|_| openledger_framework::sdk::internal(format!("corrupt queue key {key}")))?;
        out.push((key, id));
    }
    Ok(out)
}
