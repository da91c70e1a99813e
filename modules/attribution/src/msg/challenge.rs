//! `MsgChallengeAttribution`: within the challenge window after a verifiable
//! settlement, anyone may name an omitted contribution that outscores the lowest scored
//! entry; upheld at once, it slashes part of the operator bond to the challenger and
//! the contribution.
use cnidarium::StateWrite;
use openledger_datanet::fingerprint;
use openledger_framework::events::typed;
use openledger_framework::{Address, ChainError, MsgCtx};
use openledger_model::state_ext::ModelRead;
use openledger_proto::openledger::attribution::v1::{
    EarningKind, InferenceStatus, MsgChallengeAttribution, MsgChallengeAttributionResponse,
};
use openledger_proto::openledger::datanet::v1::ContributionStatus;

use super::fields::{address, positive_id};
use crate::records::{get_contribution, get_inference};
use crate::settle::{self, in_training_set, payout_event, role};
use crate::state_ext::{add, amount, AttributionRead, AttributionWrite};
use crate::{error, rewards};

/// Without state: the challenger, the inference and the contribution ids.
pub fn check(m: &MsgChallengeAttribution) -> Result<Address, ChainError> {
    let challenger = address(&m.challenger, "challenger")?;
    positive_id(m.inference_id, "inference_id")?;
    positive_id(m.contribution_id, "contribution_id")?;
    Ok(challenger)
}

pub async fn execute<S: StateWrite>(
    state: &mut S,
    m: &MsgChallengeAttribution,
    challenger: &Address,
    ctx: MsgCtx,
) -> Result<MsgChallengeAttributionResponse, ChainError> {
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
    // The bond's own side cannot challenge: an owner or operator would recover part of
    // the slashed bond as the challenger's reward (and use up the one challenge slot).
    let model =
        state.model(inf.model_id).await?.ok_or_else(|| openledger_framework::sdk::internal(format!("model {} missing", inf.model_id)))?;
    let who = challenger.to_string();
    if model.owner == who || model.operators.contains(&who) || report.operator == who {
        return Err(error::challenge_refused(format!(
            "{who} is the owner or an operator of model {}: a model's own side cannot challenge its reports",
            model.id
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
    // Upheld: the model module slashes the operator bond, to the challenger and the
    // contribution's credit.
    let s = openledger_model::bond::slash(
        state,
        inf.model_id,
        p.challenge_slash_bps,
        challenger,
        p.challenger_reward_bps,
        &rewards(),
        Some(ctx.msg_index),
    )
    .await?;
    let (slashed, to_challenger, to_contribution) = (s.total, s.to_first, s.to_rest);
    if to_challenger > 0 {
        state.record(payout_event(inf.id, role::CHALLENGER, challenger.to_string(), to_challenger, None));
    }
    if to_contribution > 0 {
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
    state.record(typed(openledger_proto::openledger::attribution::v1::EventAttributionChallenged {
        inference_id: inf.id.to_string(),
        challenger: challenger.to_string(),
        contribution_id: c.id.to_string(),
        score: score.to_string(),
        lowest_included_score: lowest.to_string(),
        slashed: slashed.to_string(),
    }));
    Ok(MsgChallengeAttributionResponse {
        score,
        lowest_included_score: lowest,
        slashed: slashed.to_string(),
        paid_to_challenger: to_challenger.to_string(),
        credited_to_contribution: to_contribution.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_needs_a_challenger_an_inference_and_a_contribution() {
        let ok = MsgChallengeAttribution { challenger: Address([1; 20]).to_string(), inference_id: 1, contribution_id: 2 };
        assert!(check(&ok).is_ok());
        assert_eq!(check(&MsgChallengeAttribution { inference_id: 0, ..ok.clone() }).unwrap_err().code, 2);
        assert_eq!(check(&MsgChallengeAttribution { contribution_id: 0, ..ok.clone() }).unwrap_err().code, 2);
        assert_eq!(check(&MsgChallengeAttribution { challenger: "x".into(), ..ok }).unwrap_err().code, 13);
    }
}
