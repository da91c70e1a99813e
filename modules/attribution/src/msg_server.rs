//! The attribution module's messages: decoding (signer known before any state is read),
//! then execution. Every refusal is an `attribution` (or `token`) error with a stable
//! code, and a refused message changes nothing (the app runs each tx's messages in an
//! overlay that is dropped on error).
use cnidarium::StateWrite;
use openledger_datanet::fingerprint;
use openledger_datanet::state_ext::DatanetRead;
use openledger_framework::amount::bps_of;
use openledger_framework::events::event;
use openledger_framework::index::{be, IndexWrite};
use openledger_framework::{sdk, Address, Amount, ChainError, StoreWrite};
use openledger_model::state_ext::{ModelRead, ModelWrite};
use openledger_proto::openledger::attribution::v1::*;
use openledger_proto::openledger::datanet::v1::{Contribution, ContributionStatus};
use openledger_proto::openledger::model::v1::ModelStatus;
use openledger_token::state_ext::TokenWrite;
use openledger_token::{uopen_coin, DENOM};
use futures::StreamExt;
use prost::Message;

use crate::settle::{self, in_training_set, payout_event, role, BPS};
use crate::state_ext::{add, amount, AttributionRead, AttributionWrite};
use crate::{error, escrow, rewards, state_key};

pub use openledger_framework::msg::MsgCtx;

pub const TYPE_URL_PREFIX: &str = "/openledger.attribution.v1.";

/// An attribution message with its signer parsed.
#[derive(Debug, Clone, PartialEq)]
pub enum AttributionMsg {
    Pay(MsgPayInference),
    Submit(MsgSubmitAttribution),
    Challenge(MsgChallengeAttribution),
    Claim(MsgClaimRewards),
}

fn decode_as<M: Message + Default>(bytes: &[u8], name: &str) -> Result<M, ChainError> {
    M::decode(bytes).map_err(|e| sdk::tx_decode(format!("{name}: {e}: tx parse error")))
}

pub(crate) fn address(s: &str, what: &str) -> Result<Address, ChainError> {
    openledger_framework::msg::address(s, what).map_err(error::invalid_address)
}

impl AttributionMsg {
    /// `None` when `type_url` is not an attribution message.
    pub fn decode(type_url: &str, bytes: &[u8]) -> Option<Result<(AttributionMsg, Address), ChainError>> {
        let name = type_url.strip_prefix(TYPE_URL_PREFIX)?;
        let msg = match name {
            "MsgPayInference" => decode_as(bytes, name).map(AttributionMsg::Pay),
            "MsgSubmitAttribution" => decode_as(bytes, name).map(AttributionMsg::Submit),
            "MsgChallengeAttribution" => decode_as(bytes, name).map(AttributionMsg::Challenge),
            "MsgClaimRewards" => decode_as(bytes, name).map(AttributionMsg::Claim),
            _ => return None,
        };
        Some(msg.and_then(|m| {
            let (field, what) = match &m {
                AttributionMsg::Pay(m) => (&m.consumer, "consumer"),
                AttributionMsg::Submit(m) => (&m.operator, "operator"),
                AttributionMsg::Challenge(m) => (&m.challenger, "challenger"),
                AttributionMsg::Claim(m) => (&m.contributor, "contributor"),
            };
            let signer = address(field, what)?;
            Ok((m, signer))
        }))
    }

    pub fn type_url(&self) -> &'static str {
        match self {
            AttributionMsg::Pay(_) => "/openledger.attribution.v1.MsgPayInference",
            AttributionMsg::Submit(_) => "/openledger.attribution.v1.MsgSubmitAttribution",
            AttributionMsg::Challenge(_) => "/openledger.attribution.v1.MsgChallengeAttribution",
            AttributionMsg::Claim(_) => "/openledger.attribution.v1.MsgClaimRewards",
        }
    }
}

/// Execute an attribution message; returns its response as an `Any`.
pub async fn execute<S: StateWrite>(state: &mut S, msg: &AttributionMsg, signer: &Address, ctx: MsgCtx) -> Result<prost_types::Any, ChainError> {
    let any = |name: &str, value: Vec<u8>| prost_types::Any { type_url: format!("{TYPE_URL_PREFIX}{name}"), value };
    Ok(match msg {
        AttributionMsg::Pay(m) => any("MsgPayInferenceResponse", pay(state, m, signer, ctx).await?.encode_to_vec()),
        AttributionMsg::Submit(m) => any("MsgSubmitAttributionResponse", submit(state, m, signer, ctx).await?.encode_to_vec()),
        AttributionMsg::Challenge(m) => any("MsgChallengeAttributionResponse", challenge(state, m, signer, ctx).await?.encode_to_vec()),
        AttributionMsg::Claim(m) => any("MsgClaimRewardsResponse", claim(state, m, signer, ctx).await?.encode_to_vec()),
    })
}

async fn get_inference<S: cnidarium::StateRead>(state: &S, id: u64) -> Result<Inference, ChainError> {
    state.inference(id).await?.ok_or_else(|| error::not_found(format!("inference {id} not found")))
}

async fn get_contribution<S: cnidarium::StateRead>(state: &S, id: u64) -> Result<Contribution, ChainError> {
    state.contribution(id).await?.ok_or_else(|| error::not_found(format!("contribution {id} not found")))
}

// ---------------------------------------------------------------- pay

async fn pay<S: StateWrite>(state: &mut S, m: &MsgPayInference, consumer: &Address, ctx: MsgCtx) -> Result<MsgPayInferenceResponse, ChainError> {
    let p = state.attribution_params().await?;
    let max_fee = openledger_token::parse_uopen(m.max_fee.as_ref(), "max_fee").map_err(error::invalid_coins)?;
    if m.units == 0 {
        return Err(error::invalid_field("units must be positive"));
    }
    let model = state.model(m.model_id).await?.ok_or_else(|| error::not_found(format!("model {} not found", m.model_id)))?;
    if model.status != ModelStatus::Active as i32 {
        return Err(error::model_retired(format!("model {} is retired and takes no payments", model.id)));
    }
    let price = amount(model.price_per_unit.as_ref().map_or("", |c| c.amount.as_str()), "price")?;
    let fee = price
        .checked_mul(u128::from(m.units))
        .ok_or_else(|| error::overflow(format!("{} units at {price}{DENOM} overflows", m.units)))?;
    if fee > max_fee {
        return Err(error::fee_too_high(format!(
            "{} units at {price}{DENOM} cost {fee}{DENOM}, above max_fee {max_fee}{DENOM}",
            m.units
        )));
    }
    state.transfer(consumer, &escrow(), fee, DENOM, Some(ctx.msg_index)).await?;
    let id = state.take_id(state_key::NEXT_INFERENCE_ID).await?;
    let deadline = ctx.height.saturating_add(p.report_window_blocks);
    let terms = Terms {
        terms_version: model.terms_version,
        price_per_unit: model.price_per_unit.clone(),
        fee_split: model.fee_split,
        training_set: model.training_set.clone(),
        model_owner: model.owner.clone(),
    };
    let inf = Inference {
        id,
        model_id: model.id,
        consumer: consumer.to_string(),
        units: m.units,
        fee: Some(uopen_coin(fee)),
        terms: Some(terms),
        paid_height: ctx.height,
        report_deadline: deadline,
        status: InferenceStatus::Pending as i32,
        ..Default::default()
    };
    state.put_inference(&inf);
    crate::state_ext::enqueue_due(state, deadline, id).await?;
    state.index_insert(&state_key::ix_model(model.id), &be(id), be(id).to_vec()).await?;
    state.index_insert(&state_key::ix_consumer(consumer), &be(id), be(id).to_vec()).await?;
    let mut stats = state.model_stats(model.id).await?;
    stats.inferences += 1;
    stats.revenue = add(amount(&stats.revenue, "revenue")?, fee, "model revenue")?.to_string();
    state.put_model_stats(&stats);
    let mut books = state.books().await?;
    books.paid_in = add(books.paid_in, fee, "paid_in")?;
    books.escrowed = add(books.escrowed, fee, "escrowed")?;
    state.put_books(books);
    state.record(event(
        "openledger.attribution.v1.EventInferencePaid",
        [
            ("inference_id", id.to_string()),
            ("model_id", model.id.to_string()),
            ("consumer", consumer.to_string()),
            ("units", m.units.to_string()),
            ("fee", fee.to_string()),
            ("terms_version", model.terms_version.to_string()),
            ("report_deadline", deadline.to_string()),
        ],
    ));
    Ok(MsgPayInferenceResponse { inference_id: id, fee: Some(uopen_coin(fee)), report_deadline: deadline })
}

// ---------------------------------------------------------------- report

/// Entries as settled: in verifiable mode, the combined operator weight of the entries
/// whose contribution has a fingerprint is redistributed by score (⌊W_F × s / S⌋; what
/// rounding or a zero total score leaves goes to the pools).
pub fn settled_weights(weights: &[u32], fingerprinted: &[bool], scores: &[u64], verifiable: bool) -> Vec<u32> {
    if !verifiable {
        return weights.to_vec();
    }
    let w_f: u128 = weights.iter().zip(fingerprinted).filter(|(_, f)| **f).map(|(w, _)| u128::from(*w)).sum();
    let s_total: u128 = scores.iter().zip(fingerprinted).filter(|(_, f)| **f).map(|(s, _)| u128::from(*s)).sum();
    weights
        .iter()
        .zip(fingerprinted)
        .zip(scores)
        .map(|((w, f), s)| match (*f, s_total) {
            (false, _) => *w,
            (true, 0) => 0,
            // ≤ w_f ≤ 10,000: fits.
            (true, total) => u32::try_from(w_f * u128::from(*s) / total).unwrap_or(0),
        })
        .collect()
}

async fn submit<S: StateWrite>(state: &mut S, m: &MsgSubmitAttribution, operator: &Address, ctx: MsgCtx) -> Result<MsgSubmitAttributionResponse, ChainError> {
    let p = state.attribution_params().await?;
    let mut inf = get_inference(state, m.inference_id).await?;
    if inf.status != InferenceStatus::Pending as i32 {
        return Err(error::wrong_status(format!("inference {} is already settled", inf.id)));
    }
    if ctx.height > inf.report_deadline {
        return Err(error::window_closed(format!("the report window of inference {} closed at height {}", inf.id, inf.report_deadline)));
    }
    let model = state.model(inf.model_id).await?.ok_or_else(|| sdk::internal(format!("model {} missing", inf.model_id)))?;
    if !model.operators.contains(&operator.to_string()) {
        return Err(error::unauthorized(format!("{operator} is not an operator of model {}", model.id)));
    }
    if m.entries.is_empty() || m.entries.len() > p.max_entries as usize {
        return Err(error::invalid_entries(format!("{} entries; a report names 1 to {}", m.entries.len(), p.max_entries)));
    }
    let mut total: u32 = 0;
    for (i, e) in m.entries.iter().enumerate() {
        if e.weight_bps == 0 {
            return Err(error::invalid_entries(format!("contribution {} has weight 0", e.contribution_id)));
        }
        if m.entries[..i].iter().any(|x| x.contribution_id == e.contribution_id) {
            return Err(error::invalid_entries(format!("contribution {} is listed twice", e.contribution_id)));
        }
        total = total.saturating_add(e.weight_bps);
    }
    if total > BPS {
        return Err(error::invalid_entries(format!("weights add up to {total} bps, more than {BPS}")));
    }
    if m.evidence_hash.len() != 32 {
        return Err(error::invalid_field(format!("evidence_hash must be a 32-byte SHA-256, got {} bytes", m.evidence_hash.len())));
    }
    fingerprint::check(&m.output_fingerprint, 1, p.max_output_fingerprint).map_err(|e| error::invalid_fingerprint(format!("output fingerprint: {e}")))?;
    let terms = inf.terms.clone().unwrap_or_default();
    let mut contributions = Vec::with_capacity(m.entries.len());
    for e in &m.entries {
        let c = get_contribution(state, e.contribution_id).await?;
        if c.status != ContributionStatus::Accepted as i32 || !in_training_set(&c, &terms)? {
            return Err(error::not_in_training_set(format!(
                "contribution {} is not an accepted contribution of a version model {} was trained on",
                c.id, inf.model_id
            )));
        }
        contributions.push(c);
    }
    let verifiable = !m.output_fingerprint.is_empty();
    let fingerprinted: Vec<bool> = contributions.iter().map(|c| !c.fingerprint.is_empty()).collect();
    let scores: Vec<u64> = if verifiable { contributions.iter().map(|c| fingerprint::overlap(&m.output_fingerprint, &c.fingerprint)).collect() } else { vec![] };
    let weights: Vec<u32> = m.entries.iter().map(|e| e.weight_bps).collect();
    let settled_w = settled_weights(&weights, &fingerprinted, if verifiable { &scores } else { &[] }, verifiable);
    let credits: Vec<(Contribution, u32)> = contributions.into_iter().zip(settled_w.iter().copied()).collect();
    let settlement = settle::settle(state, &inf, &credits, ctx.height, Some(ctx.msg_index)).await?;
    crate::state_ext::dequeue_due(state, inf.report_deadline, inf.id).await?;
    inf.status = InferenceStatus::SettledReported as i32;
    inf.settled_height = ctx.height;
    inf.report = Some(Report {
        operator: operator.to_string(),
        entries: m.entries.clone(),
        evidence_hash: m.evidence_hash.clone(),
        output_fingerprint: m.output_fingerprint.clone(),
        scores: scores.clone(),
        settled_weight_bps: settled_w.clone(),
        height: ctx.height,
    });
    inf.settlement = Some(settlement.clone());
    state.put_inference(&inf);
    let mut stats = state.model_stats(inf.model_id).await?;
    stats.settled_reported += 1;
    state.put_model_stats(&stats);
    state.record(event(
        "openledger.attribution.v1.EventAttributionSubmitted",
        [
            ("inference_id", inf.id.to_string()),
            ("operator", operator.to_string()),
            ("entries", m.entries.iter().map(|e| format!("{}:{}", e.contribution_id, e.weight_bps)).collect::<Vec<_>>().join(",")),
            ("verifiable", verifiable.to_string()),
        ],
    ));
    state.record(event("openledger.attribution.v1.EventInferenceSettled", [("inference_id", inf.id.to_string()), ("mode", "reported".to_string())]));
    Ok(MsgSubmitAttributionResponse { settlement: Some(settlement), scores, settled_weight_bps: settled_w })
}

// ---------------------------------------------------------------- challenge

async fn challenge<S: StateWrite>(state: &mut S, m: &MsgChallengeAttribution, challenger: &Address, ctx: MsgCtx) -> Result<MsgChallengeAttributionResponse, ChainError> {
    let p = state.attribution_params().await?;
    let mut inf = get_inference(state, m.inference_id).await?;
    let report = match (&inf.report, inf.status == InferenceStatus::SettledReported as i32) {
        (Some(r), true) if !r.output_fingerprint.is_empty() => r.clone(),
        _ => return Err(error::wrong_status(format!("inference {} has no verifiable report to challenge", inf.id))),
    };
    if ctx.height > inf.settled_height.saturating_add(p.challenge_window_blocks) {
        return Err(error::window_closed(format!(
            "the challenge window of inference {} closed at height {}",
            inf.id,
            inf.settled_height.saturating_add(p.challenge_window_blocks)
        )));
    }
    if inf.challenged_by_contribution != 0 {
        return Err(error::wrong_status(format!("inference {} was already challenged successfully", inf.id)));
    }
    if report.entries.iter().any(|e| e.contribution_id == m.contribution_id) {
        return Err(error::challenge_refused(format!("contribution {} is in the report", m.contribution_id)));
    }
    let c = get_contribution(state, m.contribution_id).await?;
    let terms = inf.terms.clone().unwrap_or_default();
    if c.status != ContributionStatus::Accepted as i32 || !in_training_set(&c, &terms)? {
        return Err(error::not_in_training_set(format!(
            "contribution {} is not an accepted contribution of a version model {} was trained on",
            c.id, inf.model_id
        )));
    }
    if c.fingerprint.is_empty() {
        return Err(error::challenge_refused(format!("contribution {} has no fingerprint to score", c.id)));
    }
    let score = fingerprint::overlap(&report.output_fingerprint, &c.fingerprint);
    // The lowest score among the report's entries the chain scored.
    let mut lowest: Option<u64> = None;
    for (e, s) in report.entries.iter().zip(&report.scores) {
        if !get_contribution(state, e.contribution_id).await?.fingerprint.is_empty() {
            lowest = Some(lowest.map_or(*s, |l| l.min(*s)));
        }
    }
    let lowest = lowest.unwrap_or(0);
    if score <= lowest {
        return Err(error::challenge_refused(format!(
            "contribution {} scores {score}, not above the lowest scored entry of the report ({lowest})",
            c.id
        )));
    }
    // Upheld: slash the operator bond.
    let mut model = state.model(inf.model_id).await?.ok_or_else(|| sdk::internal(format!("model {} missing", inf.model_id)))?;
    let bond = amount(model.bond.as_ref().map_or("", |b| b.amount.as_str()), "bond")?;
    let slashed = bps_of(bond, p.challenge_slash_bps);
    let to_challenger = bps_of(slashed, p.challenger_reward_bps);
    let to_contribution = slashed - to_challenger;
    model.bond = Some(uopen_coin(bond - slashed));
    state.put_model(&model);
    if to_challenger > 0 {
        state.transfer(&openledger_model::bonds(), challenger, to_challenger, DENOM, Some(ctx.msg_index)).await?;
        state.record(payout_event(inf.id, role::CHALLENGER, challenger.to_string(), to_challenger, None));
    }
    if to_contribution > 0 {
        state.transfer(&openledger_model::bonds(), &rewards(), to_contribution, DENOM, Some(ctx.msg_index)).await?;
        settle::credit(state, c.id, to_contribution, EarningKind::ChallengeCredit, inf.id, ctx.height).await?;
        state.record(payout_event(inf.id, role::CHALLENGE_CREDIT, c.contributor.clone(), to_contribution, Some(c.id)));
        let mut books = state.books().await?;
        books.paid_in = add(books.paid_in, to_contribution, "paid_in")?;
        books.credits = add(books.credits, to_contribution, "credits")?;
        state.put_books(books);
    }
    inf.challenged_by_contribution = c.id;
    state.put_inference(&inf);
    let mut stats = state.model_stats(inf.model_id).await?;
    stats.challenges_upheld += 1;
    stats.bond_slashed = add(amount(&stats.bond_slashed, "bond_slashed")?, slashed, "bond slashed")?.to_string();
    state.put_model_stats(&stats);
    state.record(event(
        "openledger.attribution.v1.EventAttributionChallenged",
        [
            ("inference_id", inf.id.to_string()),
            ("challenger", challenger.to_string()),
            ("contribution_id", c.id.to_string()),
            ("score", score.to_string()),
            ("lowest_included_score", lowest.to_string()),
            ("slashed", slashed.to_string()),
        ],
    ));
    Ok(MsgChallengeAttributionResponse {
        score,
        lowest_included_score: lowest,
        slashed: slashed.to_string(),
        paid_to_challenger: to_challenger.to_string(),
        credited_to_contribution: to_contribution.to_string(),
    })
}

// ---------------------------------------------------------------- claim

async fn claim<S: StateWrite>(state: &mut S, m: &MsgClaimRewards, contributor: &Address, ctx: MsgCtx) -> Result<MsgClaimRewardsResponse, ChainError> {
    let p = state.attribution_params().await?;
    let max = p.max_claim_contributions as usize;
    let mine = contributor.to_string();
    let (ids, next) = if m.contribution_ids.is_empty() {
        // The contributor's contributions in id order after start_after (a verifiable
        // list: cost grows with the claimant's own contributions only).
        let stream = state.prefix_raw(&openledger_datanet::state_key::by_contributor_prefix(contributor));
        let mut stream = std::pin::pin!(stream);
        let mut ids = Vec::with_capacity(max);
        let mut next = 0;
        while let Some(item) = stream.next().await {
            let (key, _) = item?;
            let id = key
                .rsplit('/')
                .next()
                .and_then(|h| u64::from_str_radix(h, 16).ok())
                .ok_or_else(|| sdk::internal(format!("corrupt contributor list key {key}")))?;
            if id <= m.start_after {
                continue;
            }
            if ids.len() == max {
                next = ids.last().copied().unwrap_or(0);
                break;
            }
            ids.push(id);
        }
        (ids, next)
    } else {
        if m.start_after != 0 {
            return Err(error::invalid_field("start_after goes with claiming all contributions, not a list"));
        }
        if m.contribution_ids.len() > max {
            return Err(error::invalid_field(format!("{} contributions listed; at most {max} per claim", m.contribution_ids.len())));
        }
        (m.contribution_ids.clone(), 0)
    };
    let mut total: Amount = 0;
    let mut seen: Vec<u64> = Vec::with_capacity(ids.len());
    for id in &ids {
        if seen.contains(id) {
            return Err(error::invalid_field(format!("contribution {id} is listed twice")));
        }
        seen.push(*id);
        let c = get_contribution(state, *id).await?;
        if c.contributor != mine {
            return Err(error::unauthorized(format!("contribution {id} belongs to {}, not {mine}", c.contributor)));
        }
        total = add(total, settle::claim_contribution(state, &c, contributor, ctx.height, Some(ctx.msg_index)).await?, "claim")?;
    }
    state.record(event(
        "openledger.attribution.v1.EventRewardsClaimed",
        [("contributor", mine), ("amount", total.to_string()), ("contributions", ids.len().to_string())],
    ));
    Ok(MsgClaimRewardsResponse { claimed: total.to_string(), contributions: ids.len() as u32, next_start_after: next })
}
