//! `MsgSubmitAttribution`: within the report window an operator of the model names up
//! to K contributions with weights (bps of the contributors' part). With an output
//! fingerprint the report is verifiable: the chain scores each named contribution that
//! has a fingerprint, and those scores replace the operator's weights. A report settles
//! the inference at once.
use cnidarium::StateWrite;
use openledger_datanet::fingerprint;
use openledger_framework::events::typed;
use openledger_framework::{sdk, Address, ChainError, MsgCtx};
use openledger_model::state_ext::ModelRead;
use openledger_proto::openledger::attribution::v1::{InferenceStatus, MsgSubmitAttribution, MsgSubmitAttributionResponse, Report};
use openledger_proto::openledger::datanet::v1::{Contribution, ContributionStatus};

use super::fields::{address, positive_id};
use crate::error;
use crate::records::{get_contribution, get_inference};
use crate::settle::{self, in_training_set, BPS};
use crate::state_ext::{AttributionRead, AttributionWrite};

/// Without state: the operator, the inference id, at least one entry, each with a
/// positive weight and a contribution named once, weights totalling at most 10,000
/// bps, a 32-byte evidence hash and an output fingerprint of sorted unique hashes.
pub fn check(m: &MsgSubmitAttribution) -> Result<Address, ChainError> {
    let operator = address(&m.operator, "operator")?;
    positive_id(m.inference_id, "inference_id")?;
    if m.entries.is_empty() {
        return Err(error::invalid_entries("0 entries; a report names at least 1"));
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
    fingerprint::check(&m.output_fingerprint, 1, u32::MAX).map_err(|e| error::invalid_fingerprint(format!("output fingerprint: {e}")))?;
    Ok(operator)
}

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

pub async fn execute<S: StateWrite>(
    state: &mut S,
    m: &MsgSubmitAttribution,
    operator: &Address,
    ctx: MsgCtx,
) -> Result<MsgSubmitAttributionResponse, ChainError> {
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
    if m.entries.len() > p.max_entries as usize {
        return Err(error::invalid_entries(format!("{} entries; a report names 1 to {}", m.entries.len(), p.max_entries)));
    }
    fingerprint::check(&m.output_fingerprint, 1, p.max_output_fingerprint)
        .map_err(|e| error::invalid_fingerprint(format!("output fingerprint: {e}")))?;
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
    let scores: Vec<u64> = if verifiable {
        contributions.iter().map(|c| fingerprint::overlap(&m.output_fingerprint, &c.fingerprint)).collect()
    } else {
        vec![]
    };
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
    state.record(typed(openledger_proto::openledger::attribution::v1::EventAttributionSubmitted {
        inference_id: inf.id.to_string(),
        operator: operator.to_string(),
        entries: m.entries.iter().map(|e| format!("{}:{}", e.contribution_id, e.weight_bps)).collect::<Vec<_>>().join(","),
        verifiable: verifiable.to_string(),
    }));
    state.record(typed(openledger_proto::openledger::attribution::v1::EventInferenceSettled {
        inference_id: inf.id.to_string(),
        mode: "reported".to_string(),
    }));
    Ok(MsgSubmitAttributionResponse { settlement: Some(settlement), scores, settled_weight_bps: settled_w })
}

#[cfg(test)]
mod tests {
    use super::*;
    use openledger_proto::openledger::attribution::v1::AttributionEntry;

    fn entry(contribution_id: u64, weight_bps: u32) -> AttributionEntry {
        AttributionEntry { contribution_id, weight_bps }
    }

    fn valid() -> MsgSubmitAttribution {
        MsgSubmitAttribution {
            operator: Address([1; 20]).to_string(),
            inference_id: 1,
            entries: vec![entry(1, 6000), entry(2, 4000)],
            evidence_hash: vec![9; 32],
            output_fingerprint: vec![1, 2, 3],
        }
    }

    #[test]
    fn check_refuses_each_malformed_field_with_its_code() {
        assert!(check(&valid()).is_ok());
        let cases: Vec<(MsgSubmitAttribution, u32)> = vec![
            (MsgSubmitAttribution { operator: String::new(), ..valid() }, 13),
            (MsgSubmitAttribution { inference_id: 0, ..valid() }, 2),
            (MsgSubmitAttribution { entries: vec![], ..valid() }, 8),
            (MsgSubmitAttribution { entries: vec![entry(1, 0)], ..valid() }, 8),
            (MsgSubmitAttribution { entries: vec![entry(1, 1), entry(1, 2)], ..valid() }, 8),
            (MsgSubmitAttribution { entries: vec![entry(1, 6000), entry(2, 4001)], ..valid() }, 8),
            (MsgSubmitAttribution { evidence_hash: vec![9; 33], ..valid() }, 2),
            (MsgSubmitAttribution { output_fingerprint: vec![3, 2], ..valid() }, 10),
        ];
        for (m, code) in cases {
            let e = check(&m).unwrap_err();
            assert_eq!((e.codespace, e.code), (error::CODESPACE, code), "{m:?}: {}", e.message);
        }
    }
}
