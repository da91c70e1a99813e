//! Settling an inference by its consumer's receipt: the one path both
//! `MsgSubmitAttribution` (an operator delivers the receipt) and `MsgSubmitReceipt` (the
//! consumer does) take. The receipt must be for this chain and this pending inference,
//! within its report window, and — when an operator delivers it — signed by the
//! consumer's account key. The chain then scores the output (`score.rs`) and settles.
use cnidarium::StateWrite;
use openledger_framework::events::typed;
use openledger_framework::keys::PubKey;
use openledger_framework::{Address, ChainError, MsgCtx, StoreRead};
use openledger_proto::openledger::attribution::v1::{
    EventAttributionSubmitted, EventInferenceSettled, InferenceStatus, Receipt, Report, ScoredEntry, Settlement,
};
use openledger_token::state_ext::TokenRead;
use openledger_types::receipt;

use crate::error;
use crate::records::get_inference;
use crate::score;
use crate::settle;
use crate::state_ext::{AttributionRead, AttributionWrite};

/// How the receipt reached the chain.
pub enum Delivery<'a> {
    /// By an operator of the model, with the consumer's signature over it.
    Operator { operator: &'a Address, signature: &'a [u8] },
    /// By the consumer itself (its transaction is signed by its key).
    Consumer { consumer: &'a Address },
}

/// The stateless check of a message's receipt (at decode; `execute` relies on it).
pub fn check(r: Option<&Receipt>) -> Result<&Receipt, ChainError> {
    let r = given(r)?;
    receipt::check(r, u32::MAX).map_err(error::invalid_receipt)?;
    Ok(r)
}

/// A checked message's receipt.
pub fn given(r: Option<&Receipt>) -> Result<&Receipt, ChainError> {
    r.ok_or_else(|| error::invalid_receipt("a receipt is required"))
}

pub async fn settle_by_receipt<S: StateWrite>(
    state: &mut S,
    r: &Receipt,
    delivery: Delivery<'_>,
    ctx: MsgCtx,
) -> Result<(Settlement, Vec<ScoredEntry>), ChainError> {
    let p = state.attribution_params().await?;
    let mut inf = get_inference(state, r.inference_id).await?;
    if inf.status != InferenceStatus::Pending as i32 {
        return Err(error::wrong_status(format!("inference {} is already settled", inf.id)));
    }
    if ctx.height > inf.report_deadline {
        return Err(error::window_closed(format!("the report window of inference {} closed at height {}", inf.id, inf.report_deadline)));
    }
    let chain_id = state.chain_id().await?;
    if r.chain_id != chain_id {
        return Err(error::invalid_receipt(format!("the receipt is for chain {:?}, this is {chain_id:?}", r.chain_id)));
    }
    // Its shape was checked at decode; only the chain's cap needs state.
    if r.output_fingerprint.len() > p.max_output_fingerprint as usize {
        return Err(error::invalid_receipt(format!(
            "receipt: output fingerprint has {} hashes, the cap is {}",
            r.output_fingerprint.len(),
            p.max_output_fingerprint
        )));
    }
    let consumer = Address::parse(&inf.consumer).map_err(|e| openledger_framework::sdk::internal(format!("inference {}: {e}", inf.id)))?;
    let terms = inf.terms.clone().unwrap_or_default();
    // The operators are those of the terms the inference was paid under: an owner who
    // changes them later cannot hand an inference already paid to someone else.
    let served_by = if r.operator.is_empty() {
        None
    } else {
        let o = Address::parse(&r.operator).map_err(|e| error::invalid_receipt(format!("receipt operator: {e}")))?;
        if !terms.operators.contains(&o.to_string()) {
            return Err(error::invalid_receipt(format!(
                "the receipt names {o}, not an operator of model {} when inference {} was paid",
                inf.model_id, inf.id
            )));
        }
        Some(o)
    };
    let (submitter, signature) = match delivery {
        Delivery::Operator { operator, signature } => {
            if !terms.operators.contains(&operator.to_string()) {
                return Err(error::unauthorized(format!(
                    "{operator} is not an operator of model {} under the terms inference {} was paid under",
                    inf.model_id, inf.id
                )));
            }
            let key = state.account_state(&consumer).await?.and_then(|a| a.pub_key).ok_or_else(|| {
                error::invalid_receipt(format!("consumer {consumer} has no public key on chain to check its receipt with"))
            })?;
            let key = PubKey::from_recorded(&key).map_err(|e| error::invalid_receipt(format!("consumer {consumer}: {}", e.message)))?;
            if !receipt::verify(r, &key, signature) {
                return Err(error::bad_receipt_signature(format!(
                    "the receipt of inference {} is not signed by its consumer {consumer}",
                    inf.id
                )));
            }
            (*operator, signature.to_vec())
        }
        Delivery::Consumer { consumer: sender } => {
            if *sender != consumer {
                return Err(error::unauthorized(format!("{sender} is not the consumer of inference {}", inf.id)));
            }
            (consumer, vec![])
        }
    };
    let scored = score::score(state, &terms, &r.output_fingerprint, p.max_entries).await?;
    let credits = settle::Credits { entries: &scored.entries, total_score: scored.total, operator: served_by.as_ref() };
    let (settlement, amounts) = settle::settle(state, &inf, credits, ctx.height, Some(ctx.msg_index)).await?;
    let entries: Vec<ScoredEntry> = scored
        .entries
        .iter()
        .zip(&amounts)
        .map(|((c, s), a)| ScoredEntry { contribution_id: c.id, score: *s, amount: a.to_string() })
        .collect();
    crate::state_ext::dequeue_due(state, inf.report_deadline, inf.id).await?;
    inf.status = InferenceStatus::SettledReported as i32;
    inf.settled_height = ctx.height;
    inf.report = Some(Report {
        submitter: submitter.to_string(),
        height: ctx.height,
        receipt: Some(r.clone()),
        receipt_signature: signature,
        entries: entries.clone(),
        total_score: u64::try_from(scored.total).unwrap_or(u64::MAX),
        candidates: scored.candidates,
        uncounted_hashes: scored.uncounted_hashes,
    });
    inf.settlement = Some(settlement.clone());
    state.put_inference(&inf);
    let mut stats = state.model_stats(inf.model_id).await?;
    stats.settled_reported += 1;
    state.put_model_stats(&stats);
    state.record(typed(EventAttributionSubmitted {
        inference_id: inf.id.to_string(),
        submitter: submitter.to_string(),
        entries: entries.iter().map(|e| format!("{}:{}:{}", e.contribution_id, e.score, e.amount)).collect::<Vec<_>>().join(","),
        total_score: scored.total.to_string(),
        output_hash: hex::encode(&r.output_hash),
    }));
    state.record(typed(EventInferenceSettled { inference_id: inf.id.to_string(), mode: "reported".to_string() }));
    Ok((settlement, entries))
}
