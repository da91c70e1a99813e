//! The datanet module's messages: decoding (signer known before any state is read),
//! then execution against state. Every refusal is a `datanet` (or `token`) error with
//! a stable code, and a refused message changes nothing (the app runs each tx's
//! messages in an overlay that is dropped on error).
use cnidarium::StateWrite;
use openledger_framework::amount::{bps_of, BPS};
use openledger_framework::events::event;
use openledger_framework::index::{be, IndexWrite};
use openledger_framework::{Address, Amount, ChainError, StoreRead, StoreWrite};
use openledger_proto::cosmos::base::v1beta1::Coin;
use openledger_proto::openledger::datanet::v1::*;
use openledger_token::state_ext::TokenWrite;
use openledger_token::{uopen_coin, DENOM};
use prost::Message;

use crate::state_ext::{DatanetRead, DatanetWrite};
use crate::{error, escrow, fingerprint, merkle, reward_weight, state_key, treasury};

pub const TYPE_URL_PREFIX: &str = "/openledger.datanet.v1.";

/// A datanet message with its signer parsed.
#[derive(Debug, Clone, PartialEq)]
pub enum DatanetMsg {
    Create(MsgCreateDatanet),
    Update(MsgUpdateDatanet),
    Submit(MsgSubmitContribution),
    Review(MsgReviewContribution),
    Withdraw(MsgWithdrawContribution),
    Publish(MsgPublishVersion),
    Challenge(MsgChallengeContribution),
    Resolve(MsgResolveChallenge),
}

fn decode_as<M: Message + Default>(bytes: &[u8], name: &str) -> Result<M, ChainError> {
    M::decode(bytes).map_err(|e| openledger_framework::sdk::tx_decode(format!("{name}: {e}: tx parse error")))
}

impl DatanetMsg {
    /// `None` when `type_url` is not a datanet message.
    pub fn decode(type_url: &str, bytes: &[u8]) -> Option<Result<(DatanetMsg, Address), ChainError>> {
        let name = type_url.strip_prefix(TYPE_URL_PREFIX)?;
        let msg = match name {
            "MsgCreateDatanet" => decode_as(bytes, name).map(DatanetMsg::Create),
            "MsgUpdateDatanet" => decode_as(bytes, name).map(DatanetMsg::Update),
            "MsgSubmitContribution" => decode_as(bytes, name).map(DatanetMsg::Submit),
            "MsgReviewContribution" => decode_as(bytes, name).map(DatanetMsg::Review),
            "MsgWithdrawContribution" => decode_as(bytes, name).map(DatanetMsg::Withdraw),
            "MsgPublishVersion" => decode_as(bytes, name).map(DatanetMsg::Publish),
            "MsgChallengeContribution" => decode_as(bytes, name).map(DatanetMsg::Challenge),
            "MsgResolveChallenge" => decode_as(bytes, name).map(DatanetMsg::Resolve),
            _ => return None,
        };
        Some(msg.and_then(|m| {
            let signer = address(m.signer_field(), m.signer_role())?;
            Ok((m, signer))
        }))
    }

    fn signer_field(&self) -> &str {
        match self {
            DatanetMsg::Create(m) => &m.owner,
            DatanetMsg::Update(m) => &m.owner,
            DatanetMsg::Submit(m) => &m.contributor,
            DatanetMsg::Review(m) => &m.curator,
            DatanetMsg::Withdraw(m) => &m.contributor,
            DatanetMsg::Publish(m) => &m.publisher,
            DatanetMsg::Challenge(m) => &m.challenger,
            DatanetMsg::Resolve(m) => &m.curator,
        }
    }

    fn signer_role(&self) -> &'static str {
        match self {
            DatanetMsg::Create(_) | DatanetMsg::Update(_) => "owner",
            DatanetMsg::Submit(_) | DatanetMsg::Withdraw(_) => "contributor",
            DatanetMsg::Review(_) | DatanetMsg::Resolve(_) => "curator",
            DatanetMsg::Publish(_) => "publisher",
            DatanetMsg::Challenge(_) => "challenger",
        }
    }

    pub fn type_url(&self) -> &'static str {
        match self {
            DatanetMsg::Create(_) => "/openledger.datanet.v1.MsgCreateDatanet",
            DatanetMsg::Update(_) => "/openledger.datanet.v1.MsgUpdateDatanet",
            DatanetMsg::Submit(_) => "/openledger.datanet.v1.MsgSubmitContribution",
            DatanetMsg::Review(_) => "/openledger.datanet.v1.MsgReviewContribution",
            DatanetMsg::Withdraw(_) => "/openledger.datanet.v1.MsgWithdrawContribution",
            DatanetMsg::Publish(_) => "/openledger.datanet.v1.MsgPublishVersion",
            DatanetMsg::Challenge(_) => "/openledger.datanet.v1.MsgChallengeContribution",
            DatanetMsg::Resolve(_) => "/openledger.datanet.v1.MsgResolveChallenge",
        }
    }
}

pub use openledger_framework::msg::MsgCtx;

/// Execute a datanet message; returns its response as an `Any`.
pub async fn execute<S: StateWrite>(state: &mut S, msg: &DatanetMsg, signer: &Address, ctx: MsgCtx) -> Result<prost_types::Any, ChainError> {
    let any = |name: &str, value: Vec<u8>| prost_types::Any { type_url: format!("{TYPE_URL_PREFIX}{name}"), value };
    Ok(match msg {
        DatanetMsg::Create(m) => any("MsgCreateDatanetResponse", create(state, m, signer, ctx).await?.encode_to_vec()),
        DatanetMsg::Update(m) => any("MsgUpdateDatanetResponse", update(state, m, signer, ctx).await?.encode_to_vec()),
        DatanetMsg::Submit(m) => any("MsgSubmitContributionResponse", submit(state, m, signer, ctx).await?.encode_to_vec()),
        DatanetMsg::Review(m) => any("MsgReviewContributionResponse", review(state, m, signer, ctx).await?.encode_to_vec()),
        DatanetMsg::Withdraw(m) => any("MsgWithdrawContributionResponse", withdraw(state, m, signer, ctx).await?.encode_to_vec()),
        DatanetMsg::Publish(m) => any("MsgPublishVersionResponse", publish(state, m, signer, ctx).await?.encode_to_vec()),
        DatanetMsg::Challenge(m) => any("MsgChallengeContributionResponse", challenge(state, m, signer, ctx).await?.encode_to_vec()),
        DatanetMsg::Resolve(m) => any("MsgResolveChallengeResponse", resolve(state, m, signer, ctx).await?.encode_to_vec()),
    })
}

// ---------------------------------------------------------------- validation helpers

pub(crate) fn address(s: &str, what: &str) -> Result<Address, ChainError> {
    openledger_framework::msg::address(s, what).map_err(error::invalid_address)
}

pub(crate) fn text(value: &str, what: &str, max: u32, required: bool) -> Result<(), ChainError> {
    openledger_framework::msg::text(value, what, max, required).map_err(error::invalid_field)
}

pub(crate) fn tags(tags: &[String], p: &Params) -> Result<(), ChainError> {
    if tags.len() > p.max_tags as usize {
        return Err(error::invalid_field(format!("{} tags, the maximum is {}", tags.len(), p.max_tags)));
    }
    for (i, t) in tags.iter().enumerate() {
        if t.is_empty() || t.len() > p.max_tag_length as usize || !t.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
            return Err(error::invalid_field(format!(
                "tag {t:?} must be 1 to {} characters of a-z, 0-9 and -",
                p.max_tag_length
            )));
        }
        if tags[..i].contains(t) {
            return Err(error::invalid_field(format!("tag {t:?} is listed twice")));
        }
    }
    Ok(())
}

/// A list of distinct addresses, at most `max`, in canonical (lower-case bech32) form:
/// what is stored is what membership checks compare against.
pub(crate) fn addresses(list: &[String], what: &str, max: u32) -> Result<Vec<String>, ChainError> {
    if list.len() > max as usize {
        return Err(error::invalid_field(format!("{} {what}, the maximum is {max}", list.len())));
    }
    let mut out: Vec<Address> = Vec::with_capacity(list.len());
    for s in list {
        let a = address(s, what)?;
        if out.contains(&a) {
            return Err(error::invalid_field(format!("{what}: {s} is listed twice")));
        }
        out.push(a);
    }
    Ok(out.iter().map(Address::to_string).collect())
}

/// A uopen amount from an optional coin.
pub(crate) fn uopen(coin: Option<&Coin>, what: &str) -> Result<Amount, ChainError> {
    openledger_token::parse_uopen(coin, what).map_err(error::invalid_coins)
}


fn terms(t: Option<&ContributionTerms>) -> Result<ContributionTerms, ChainError> {
    let t = t.copied().unwrap_or(ContributionTerms { reject_slash_bps: 0, challenge_reward_bps: 5000 });
    if u128::from(t.reject_slash_bps) > BPS || u128::from(t.challenge_reward_bps) > BPS {
        return Err(error::invalid_field("terms: basis points must be at most 10000"));
    }
    Ok(t)
}

pub(crate) fn policy(p: i32, allow_list: &[String]) -> Result<ContributionPolicy, ChainError> {
    match ContributionPolicy::try_from(p) {
        Ok(ContributionPolicy::Open) if allow_list.is_empty() => Ok(ContributionPolicy::Open),
        Ok(ContributionPolicy::Open) => Err(error::invalid_field("an allow-list needs policy CONTRIBUTION_POLICY_ALLOW_LIST")),
        Ok(ContributionPolicy::AllowList) => Ok(ContributionPolicy::AllowList),
        _ => Err(error::invalid_field(format!("policy {p} is neither OPEN (1) nor ALLOW_LIST (2)"))),
    }
}

fn min_stake(c: Option<&Coin>, p: &Params) -> Result<Coin, ChainError> {
    let floor: Amount = p.min_stake_floor.parse().unwrap_or(0);
    let amount = match c {
        None => floor,
        Some(_) => uopen(c, "min_stake")?,
    };
    if amount < floor {
        return Err(error::insufficient_stake(format!("min_stake {amount}{DENOM} is below the chain's floor of {floor}{DENOM}")));
    }
    Ok(uopen_coin(amount))
}

async fn get_datanet<S: StoreRead>(state: &S, id: u64) -> Result<Datanet, ChainError> {
    state.datanet(id).await?.ok_or_else(|| error::not_found(format!("datanet {id} not found")))
}

async fn get_contribution<S: StoreRead>(state: &S, id: u64) -> Result<Contribution, ChainError> {
    state.contribution(id).await?.ok_or_else(|| error::not_found(format!("contribution {id} not found")))
}

/// The owner and the listed curators may curate.
fn is_curator(d: &Datanet, who: &Address) -> bool {
    let s = who.to_string();
    d.owner == s || d.curators.contains(&s)
}

fn status_name(s: i32) -> &'static str {
    ContributionStatus::try_from(s).map(|s| s.as_str_name()).unwrap_or("CONTRIBUTION_STATUS_UNSPECIFIED")
}

fn amount_of(s: &str) -> Result<Amount, ChainError> {
    s.parse().map_err(|_| openledger_framework::sdk::internal(format!("corrupt amount {s:?}")))
}

/// Move a contribution between status lists.
async fn set_status<S: StateWrite>(state: &mut S, c: &mut Contribution, status: ContributionStatus) -> Result<(), ChainError> {
    state.index_remove(&state_key::ix_datanet_status(c.datanet_id, c.status), &be(c.id)).await?;
    c.status = status as i32;
    state.index_insert(&state_key::ix_datanet_status(c.datanet_id, c.status), &be(c.id), be(c.id).to_vec()).await
}

// ---------------------------------------------------------------- messages

async fn create<S: StateWrite>(state: &mut S, m: &MsgCreateDatanet, owner: &Address, _ctx: MsgCtx) -> Result<MsgCreateDatanetResponse, ChainError> {
    let p = state.datanet_params().await?;
    text(&m.name, "name", p.max_name_length, true)?;
    text(&m.description, "description", p.max_description_length, false)?;
    text(&m.metadata_uri, "metadata_uri", p.max_uri_length, false)?;
    tags(&m.tags, &p)?;
    let curators = addresses(&m.curators, "curators", p.max_curators)?;
    let allow_list = addresses(&m.allow_list, "allow_list", p.max_allow_list)?;
    let policy = policy(m.policy, &allow_list)?;
    let min_stake = min_stake(m.min_stake.as_ref(), &p)?;
    let terms = terms(m.terms.as_ref())?;
    let fp = m.fingerprint.unwrap_or(FingerprintParams {
        modulus: fingerprint::DEFAULT_MODULUS,
        max_hashes: fingerprint::DEFAULT_MAX_HASHES.min(p.max_fingerprint_hashes),
    });
    if fp.modulus == 0 || !fp.modulus.is_power_of_two() {
        return Err(error::invalid_fingerprint(format!("fingerprint modulus {} must be a power of two", fp.modulus)));
    }
    if fp.max_hashes == 0 || fp.max_hashes > p.max_fingerprint_hashes {
        return Err(error::invalid_fingerprint(format!(
            "fingerprint max_hashes {} must be between 1 and {}",
            fp.max_hashes, p.max_fingerprint_hashes
        )));
    }
    let id = state.take_id(state_key::NEXT_DATANET_ID).await?;
    let d = Datanet {
        id,
        owner: owner.to_string(),
        name: m.name.clone(),
        description: m.description.clone(),
        tags: m.tags.clone(),
        metadata_uri: m.metadata_uri.clone(),
        curators,
        policy: policy as i32,
        allow_list,
        min_stake: Some(min_stake),
        terms: Some(terms),
        fingerprint: Some(fp),
        treasury: treasury(id).to_string(),
        created_height: _ctx.height,
        latest_version: 0,
        contribution_count: 0,
        accepted_count: 0,
        accepted_weight: "0".into(),
        tree_size: 0,
    };
    index_datanet(state, &d).await?;
    state.put_datanet(&d);
    state.record(event(
        "openledger.datanet.v1.EventDatanetCreated",
        [("datanet_id", id.to_string()), ("owner", d.owner.clone()), ("name", d.name.clone()), ("treasury", d.treasury.clone())],
    ));
    Ok(MsgCreateDatanetResponse { id, treasury: d.treasury })
}

pub(crate) async fn index_datanet<S: StateWrite>(state: &mut S, d: &Datanet) -> Result<(), ChainError> {
    let id = be(d.id);
    state.index_insert(&state_key::ix_all(), &id, id.to_vec()).await?;
    state.index_insert(&state_key::ix_owner(&address(&d.owner, "owner")?), &id, id.to_vec()).await?;
    for t in &d.tags {
        state.index_insert(&state_key::ix_tag(t), &id, id.to_vec()).await?;
    }
    Ok(())
}

async fn update<S: StateWrite>(state: &mut S, m: &MsgUpdateDatanet, owner: &Address, _ctx: MsgCtx) -> Result<MsgUpdateDatanetResponse, ChainError> {
    let p = state.datanet_params().await?;
    let mut d = get_datanet(state, m.datanet_id).await?;
    if d.owner != owner.to_string() {
        return Err(error::unauthorized(format!("only the owner {} may update datanet {}", d.owner, d.id)));
    }
    if let Some(desc) = &m.description {
        text(desc, "description", p.max_description_length, false)?;
        d.description = desc.clone();
    }
    if let Some(uri) = &m.metadata_uri {
        text(uri, "metadata_uri", p.max_uri_length, false)?;
        d.metadata_uri = uri.clone();
    }
    if m.set_tags {
        tags(&m.tags, &p)?;
        for t in &d.tags {
            state.index_remove(&state_key::ix_tag(t), &be(d.id)).await?;
        }
        for t in &m.tags {
            state.index_insert(&state_key::ix_tag(t), &be(d.id), be(d.id).to_vec()).await?;
        }
        d.tags = m.tags.clone();
    }
    if m.set_curators {
        d.curators = addresses(&m.curators, "curators", p.max_curators)?;
    }
    if m.set_allow_list {
        d.allow_list = addresses(&m.allow_list, "allow_list", p.max_allow_list)?;
    }
    if m.policy != 0 {
        d.policy = m.policy;
    }
    d.policy = policy(d.policy, &d.allow_list)? as i32;
    if m.min_stake.is_some() {
        d.min_stake = Some(min_stake(m.min_stake.as_ref(), &p)?);
    }
    if m.terms.is_some() {
        d.terms = Some(terms(m.terms.as_ref())?);
    }
    state.put_datanet(&d);
    state.record(event("openledger.datanet.v1.EventDatanetUpdated", [("datanet_id", d.id.to_string()), ("owner", d.owner.clone())]));
    Ok(MsgUpdateDatanetResponse {})
}

async fn submit<S: StateWrite>(state: &mut S, m: &MsgSubmitContribution, contributor: &Address, ctx: MsgCtx) -> Result<MsgSubmitContributionResponse, ChainError> {
    let p = state.datanet_params().await?;
    let mut d = get_datanet(state, m.datanet_id).await?;
    if d.policy == ContributionPolicy::AllowList as i32 && !d.allow_list.contains(&contributor.to_string()) {
        return Err(error::not_allowed(format!("{contributor} is not on the allow-list of datanet {}", d.id)));
    }
    if m.content_hash.len() != 32 {
        return Err(error::invalid_field(format!("content_hash must be a 32-byte SHA-256, got {} bytes", m.content_hash.len())));
    }
    if m.size == 0 {
        return Err(error::invalid_field("size must be positive"));
    }
    text(&m.uri, "uri", p.max_uri_length, true)?;
    let fp = d.fingerprint.unwrap_or_default();
    fingerprint::check(&m.fingerprint, fp.modulus, fp.max_hashes).map_err(error::invalid_fingerprint)?;
    let stake = uopen(m.stake.as_ref(), "stake")?;
    let min = uopen(d.min_stake.as_ref(), "min_stake")?;
    if stake < min {
        return Err(error::insufficient_stake(format!("stake {stake}{DENOM} is below datanet {}'s minimum of {min}{DENOM}", d.id)));
    }
    let content_key = state_key::content(d.id, &m.content_hash);
    if let Some(existing) = state.get_u64(&content_key).await? {
        return Err(error::duplicate_content(format!(
            "content {} is already in datanet {} as contribution {existing}",
            hex::encode(&m.content_hash),
            d.id
        )));
    }
    state.transfer(contributor, &escrow(), stake, DENOM, Some(ctx.msg_index)).await?;
    let id = state.take_id(state_key::NEXT_CONTRIBUTION_ID).await?;
    let c = Contribution {
        id,
        datanet_id: d.id,
        contributor: contributor.to_string(),
        content_hash: m.content_hash.clone(),
        size: m.size,
        uri: m.uri.clone(),
        fingerprint: m.fingerprint.clone(),
        stake: Some(uopen_coin(stake)),
        status: ContributionStatus::Pending as i32,
        weight: "0".into(),
        submitted_height: ctx.height,
        terms: d.terms,
        ..Default::default()
    };
    state.put_u64(content_key, id);
    index_contribution(state, &c, contributor).await?;
    state.put_contribution(&c);
    d.contribution_count += 1;
    state.put_datanet(&d);
    state.record(event(
        "openledger.datanet.v1.EventContributionSubmitted",
        [
            ("contribution_id", id.to_string()),
            ("datanet_id", d.id.to_string()),
            ("contributor", c.contributor.clone()),
            ("content_hash", hex::encode(&c.content_hash)),
            ("stake", stake.to_string()),
        ],
    ));
    Ok(MsgSubmitContributionResponse { contribution_id: id })
}

pub(crate) async fn index_contribution<S: StateWrite>(state: &mut S, c: &Contribution, contributor: &Address) -> Result<(), ChainError> {
    // In the verifiable store: a claim of all one's rewards walks this list, so it
    // decides consensus outcomes (the lists below only serve queries).
    state.put_raw(state_key::by_contributor(contributor, c.id), vec![]);
    let id = be(c.id);
    state.index_insert(&state_key::ix_datanet_contributions(c.datanet_id), &id, id.to_vec()).await?;
    state.index_insert(&state_key::ix_datanet_status(c.datanet_id, c.status), &id, id.to_vec()).await?;
    state.index_insert(&state_key::ix_contributor(contributor), &id, id.to_vec()).await
}

async fn review<S: StateWrite>(state: &mut S, m: &MsgReviewContribution, curator: &Address, ctx: MsgCtx) -> Result<MsgReviewContributionResponse, ChainError> {
    let p = state.datanet_params().await?;
    let mut c = get_contribution(state, m.contribution_id).await?;
    let mut d = get_datanet(state, c.datanet_id).await?;
    if !is_curator(&d, curator) {
        return Err(error::unauthorized(format!("{curator} is not a curator of datanet {}", d.id)));
    }
    if c.contributor == curator.to_string() {
        return Err(error::unauthorized("a curator cannot review their own contribution"));
    }
    if c.status != ContributionStatus::Pending as i32 {
        return Err(error::wrong_status(format!("contribution {} is {}, only pending ones are reviewed", c.id, status_name(c.status))));
    }
    let stake = uopen(c.stake.as_ref(), "stake")?;
    let contributor = address(&c.contributor, "contributor")?;
    c.reviewed_height = ctx.height;
    c.reviewer = curator.to_string();
    let resp = if m.accept {
        if m.quality_bps == 0 || u128::from(m.quality_bps) > BPS {
            return Err(error::invalid_field(format!("quality_bps {} must be between 1 and 10000", m.quality_bps)));
        }
        if !m.reason.is_empty() {
            text(&m.reason, "reason", p.max_reason_length, false)?;
        }
        let weight = reward_weight(m.quality_bps, c.size);
        c.quality_bps = m.quality_bps;
        c.weight = weight.to_string();
        c.position = d.tree_size;
        c.first_version = d.latest_version + 1;
        c.stake_release_height = ctx.height.saturating_add(p.challenge_window_blocks);
        d.tree_size += 1;
        d.accepted_count += 1;
        d.accepted_weight = amount_of(&d.accepted_weight)?.checked_add(weight).ok_or_else(|| error::invalid_field("datanet weight overflows"))?.to_string();
        let leaf = merkle::leaf_hash(c.id, &c.content_hash, weight);
        merkle::set_leaf(state, d.id, c.position, d.tree_size, leaf, d.latest_version + 1).await?;
        state.put_raw( state_key::release(c.stake_release_height, c.id), vec![]);
        set_status(state, &mut c, ContributionStatus::Accepted).await?;
        MsgReviewContributionResponse { weight: weight.to_string(), slashed: "0".into(), refunded: "0".into() }
    } else {
        text(&m.reason, "reason", p.max_reason_length, true)?;
        let slash_bps = c.terms.map_or(0, |t| t.reject_slash_bps);
        let slashed = bps_of(stake, slash_bps);
        let refunded = stake - slashed;
        if slashed > 0 {
            state.transfer(&escrow(), &treasury(d.id), slashed, DENOM, Some(ctx.msg_index)).await?;
        }
        if refunded > 0 {
            state.transfer(&escrow(), &contributor, refunded, DENOM, Some(ctx.msg_index)).await?;
        }
        c.reject_reason = m.reason.clone();
        set_status(state, &mut c, ContributionStatus::Rejected).await?;
        MsgReviewContributionResponse { weight: "0".into(), slashed: slashed.to_string(), refunded: refunded.to_string() }
    };
    state.put_contribution(&c);
    state.put_datanet(&d);
    state.record(event(
        "openledger.datanet.v1.EventContributionReviewed",
        [
            ("contribution_id", c.id.to_string()),
            ("datanet_id", d.id.to_string()),
            ("curator", curator.to_string()),
            ("accepted", m.accept.to_string()),
            ("quality_bps", m.quality_bps.to_string()),
            ("weight", resp.weight.clone()),
            ("slashed", resp.slashed.clone()),
            ("refunded", resp.refunded.clone()),
        ],
    ));
    Ok(resp)
}

async fn withdraw<S: StateWrite>(state: &mut S, m: &MsgWithdrawContribution, contributor: &Address, ctx: MsgCtx) -> Result<MsgWithdrawContributionResponse, ChainError> {
    let mut c = get_contribution(state, m.contribution_id).await?;
    if c.contributor != contributor.to_string() {
        return Err(error::unauthorized(format!("only the contributor {} may withdraw contribution {}", c.contributor, c.id)));
    }
    if c.status != ContributionStatus::Pending as i32 {
        return Err(error::wrong_status(format!("contribution {} is {}, only pending ones can be withdrawn", c.id, status_name(c.status))));
    }
    let stake = uopen(c.stake.as_ref(), "stake")?;
    state.transfer(&escrow(), contributor, stake, DENOM, Some(ctx.msg_index)).await?;
    // Withdrawn content may be submitted again.
    state.delete(state_key::content(c.datanet_id, &c.content_hash));
    set_status(state, &mut c, ContributionStatus::Withdrawn).await?;
    state.put_contribution(&c);
    state.record(event(
        "openledger.datanet.v1.EventContributionWithdrawn",
        [("contribution_id", c.id.to_string()), ("datanet_id", c.datanet_id.to_string()), ("refunded", stake.to_string())],
    ));
    Ok(MsgWithdrawContributionResponse { refunded: stake.to_string() })
}

async fn publish<S: StateWrite>(state: &mut S, m: &MsgPublishVersion, publisher: &Address, ctx: MsgCtx) -> Result<MsgPublishVersionResponse, ChainError> {
    let mut d = get_datanet(state, m.datanet_id).await?;
    if !is_curator(&d, publisher) {
        return Err(error::unauthorized(format!("only the owner or a curator of datanet {} may publish a version", d.id)));
    }
    if d.tree_size == 0 {
        return Err(error::nothing_to_publish(format!("datanet {} has no accepted contribution yet", d.id)));
    }
    let number = d.latest_version + 1;
    let root = merkle::root_at(state, d.id, d.tree_size, number).await?;
    if let Some(prev) = state.datanet_version(d.id, d.latest_version).await? {
        if prev.merkle_root == root && prev.contribution_count == d.tree_size {
            return Err(error::nothing_to_publish(format!("nothing changed in datanet {} since version {}", d.id, prev.version)));
        }
    }
    let v = Version {
        datanet_id: d.id,
        version: number,
        contribution_count: d.tree_size,
        total_weight: d.accepted_weight.clone(),
        merkle_root: root.to_vec(),
        height: ctx.height,
        publisher: publisher.to_string(),
    };
    state.put_version(&v);
    state.index_insert(&state_key::ix_versions(d.id), &be(number), be(number).to_vec()).await?;
    d.latest_version = number;
    state.put_datanet(&d);
    state.record(event(
        "openledger.datanet.v1.EventVersionPublished",
        [
            ("datanet_id", d.id.to_string()),
            ("version", number.to_string()),
            ("merkle_root", hex::encode(root)),
            ("contribution_count", v.contribution_count.to_string()),
            ("total_weight", v.total_weight.clone()),
        ],
    ));
    Ok(MsgPublishVersionResponse { version: number, merkle_root: root.to_vec() })
}

async fn challenge<S: StateWrite>(state: &mut S, m: &MsgChallengeContribution, challenger: &Address, ctx: MsgCtx) -> Result<MsgChallengeContributionResponse, ChainError> {
    let p = state.datanet_params().await?;
    let mut c = get_contribution(state, m.contribution_id).await?;
    if c.status != ContributionStatus::Accepted as i32 {
        return Err(error::wrong_status(format!("contribution {} is {}, only accepted ones can be challenged", c.id, status_name(c.status))));
    }
    if c.contributor == challenger.to_string() {
        return Err(error::unauthorized("a contributor cannot challenge their own contribution"));
    }
    if c.stake_release_height <= ctx.height {
        return Err(error::window_closed(format!("the challenge window of contribution {} has closed", c.id)));
    }
    if c.open_challenge_id != 0 {
        return Err(error::challenge_open(format!("contribution {} already has open challenge {}", c.id, c.open_challenge_id)));
    }
    text(&m.reason, "reason", p.max_reason_length, true)?;
    let bond = uopen(m.bond.as_ref(), "bond")?;
    let min_bond: Amount = p.min_challenge_bond.parse().unwrap_or(0);
    if bond < min_bond {
        return Err(error::insufficient_stake(format!("bond {bond}{DENOM} is below the minimum of {min_bond}{DENOM}")));
    }
    state.transfer(challenger, &escrow(), bond, DENOM, Some(ctx.msg_index)).await?;
    let id = state.take_id(state_key::NEXT_CHALLENGE_ID).await?;
    let ch = Challenge {
        id,
        contribution_id: c.id,
        datanet_id: c.datanet_id,
        challenger: challenger.to_string(),
        bond: Some(uopen_coin(bond)),
        reason: m.reason.clone(),
        status: ChallengeStatus::Open as i32,
        opened_height: ctx.height,
        deadline_height: ctx.height.saturating_add(p.challenge_resolution_blocks),
        ..Default::default()
    };
    state.put_raw( state_key::expiry(ch.deadline_height, id), vec![]);
    state.put_challenge(&ch);
    c.open_challenge_id = id;
    state.put_contribution(&c);
    state.record(event(
        "openledger.datanet.v1.EventContributionChallenged",
        [
            ("challenge_id", id.to_string()),
            ("contribution_id", c.id.to_string()),
            ("datanet_id", c.datanet_id.to_string()),
            ("challenger", ch.challenger.clone()),
            ("bond", bond.to_string()),
            ("deadline_height", ch.deadline_height.to_string()),
        ],
    ));
    Ok(MsgChallengeContributionResponse { challenge_id: id })
}

async fn resolve<S: StateWrite>(state: &mut S, m: &MsgResolveChallenge, curator: &Address, ctx: MsgCtx) -> Result<MsgResolveChallengeResponse, ChainError> {
    let p = state.datanet_params().await?;
    let mut ch = state.challenge(m.challenge_id).await?.ok_or_else(|| error::not_found(format!("challenge {} not found", m.challenge_id)))?;
    let mut d = get_datanet(state, ch.datanet_id).await?;
    if !is_curator(&d, curator) {
        return Err(error::unauthorized(format!("{curator} is not a curator of datanet {}", d.id)));
    }
    if ch.challenger == curator.to_string() {
        return Err(error::unauthorized("a curator cannot resolve their own challenge"));
    }
    if ch.status != ChallengeStatus::Open as i32 {
        return Err(error::wrong_status(format!("challenge {} is no longer open", ch.id)));
    }
    text(&m.resolution, "resolution", p.max_reason_length, false)?;
    let mut c = get_contribution(state, ch.contribution_id).await?;
    let challenger = address(&ch.challenger, "challenger")?;
    let bond = uopen(ch.bond.as_ref(), "bond")?;
    let mut resp = MsgResolveChallengeResponse { slashed: "0".into(), paid_to_challenger: "0".into() };
    if m.uphold {
        let stake = if c.stake_release_height != 0 { uopen(c.stake.as_ref(), "stake")? } else { 0 };
        let reward = bps_of(stake, c.terms.map_or(0, |t| t.challenge_reward_bps));
        let paid = bond.saturating_add(reward);
        state.transfer(&escrow(), &challenger, paid, DENOM, Some(ctx.msg_index)).await?;
        if stake > reward {
            state.transfer(&escrow(), &treasury(d.id), stake - reward, DENOM, Some(ctx.msg_index)).await?;
        }
        let weight = amount_of(&c.weight)?;
        d.accepted_count = d.accepted_count.saturating_sub(1);
        d.accepted_weight = amount_of(&d.accepted_weight)?.saturating_sub(weight).to_string();
        merkle::set_leaf(state, d.id, c.position, d.tree_size, merkle::leaf_hash(c.id, &c.content_hash, 0), d.latest_version + 1).await?;
        c.invalidated_version = d.latest_version + 1;
        c.stake_release_height = 0;
        set_status(state, &mut c, ContributionStatus::Invalidated).await?;
        ch.status = ChallengeStatus::Upheld as i32;
        resp = MsgResolveChallengeResponse { slashed: stake.to_string(), paid_to_challenger: paid.to_string() };
        state.put_datanet(&d);
    } else {
        state.transfer(&escrow(), &treasury(d.id), bond, DENOM, Some(ctx.msg_index)).await?;
        ch.status = ChallengeStatus::Dismissed as i32;
        refund_if_due(state, &mut c, ctx.height, Some(ctx.msg_index)).await?;
    }
    state.delete(state_key::expiry(ch.deadline_height, ch.id));
    ch.resolved_height = ctx.height;
    ch.resolver = curator.to_string();
    ch.resolution = m.resolution.clone();
    c.open_challenge_id = 0;
    state.put_contribution(&c);
    state.put_challenge(&ch);
    state.record(event(
        "openledger.datanet.v1.EventChallengeResolved",
        [
            ("challenge_id", ch.id.to_string()),
            ("contribution_id", c.id.to_string()),
            ("datanet_id", d.id.to_string()),
            ("upheld", m.uphold.to_string()),
            ("slashed", resp.slashed.clone()),
            ("paid_to_challenger", resp.paid_to_challenger.clone()),
        ],
    ));
    Ok(resp)
}

/// Refund an accepted contribution's stake if its window has passed (and no challenge
/// holds it). Used at the end of the window and when a challenge ends.
pub(crate) async fn refund_if_due<S: StateWrite>(state: &mut S, c: &mut Contribution, height: u64, msg_index: Option<u32>) -> Result<(), ChainError> {
    if c.stake_release_height == 0 || c.stake_release_height > height {
        return Ok(());
    }
    let stake = uopen(c.stake.as_ref(), "stake")?;
    let contributor = address(&c.contributor, "contributor")?;
    state.transfer(&escrow(), &contributor, stake, DENOM, msg_index).await?;
    c.stake_release_height = 0;
    state.record(event(
        "openledger.datanet.v1.EventStakeRefunded",
        [("contribution_id", c.id.to_string()), ("contributor", c.contributor.clone()), ("amount", stake.to_string())],
    ));
    Ok(())
}
