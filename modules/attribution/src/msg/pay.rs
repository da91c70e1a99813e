//! `MsgPayInference`: a consumer pays `units × price` of an active model into escrow;
//! the model's terms at that moment are recorded with the inference and are what it
//! settles by.
use cnidarium::StateWrite;
use openledger_framework::events::typed;
use openledger_framework::index::{be, IndexWrite};
use openledger_framework::{Address, ChainError, MsgCtx, StoreWrite};
use openledger_model::state_ext::ModelRead;
use openledger_proto::openledger::attribution::v1::{Inference, InferenceStatus, MsgPayInference, MsgPayInferenceResponse, Terms};
use openledger_proto::openledger::model::v1::ModelStatus;
use openledger_token::state_ext::TokenWrite;
use openledger_token::{uopen_coin, DENOM};

use super::fields::{address, positive_id, uopen};
use crate::state_ext::{add, amount, AttributionRead, AttributionWrite};
use crate::{error, state_key, ESCROW};

/// Without state: the consumer, the model id, a positive number of units and the
/// maximum fee's coin.
pub fn check(m: &MsgPayInference) -> Result<Address, ChainError> {
    let consumer = address(&m.consumer, "consumer")?;
    positive_id(m.model_id, "model_id")?;
    uopen(m.max_fee.as_ref(), "max_fee")?;
    if m.units == 0 {
        return Err(error::invalid_field("units must be positive"));
    }
    Ok(consumer)
}

pub async fn execute<S: StateWrite>(
    state: &mut S,
    m: &MsgPayInference,
    consumer: &Address,
    ctx: MsgCtx,
) -> Result<MsgPayInferenceResponse, ChainError> {
    let p = state.attribution_params().await?;
    let max_fee = uopen(m.max_fee.as_ref(), "max_fee")?;
    if m.units == 0 {
        return Err(error::invalid_field("units must be positive"));
    }
    let model = state.model(m.model_id).await?.ok_or_else(|| error::not_found(format!("model {} not found", m.model_id)))?;
    if model.status != ModelStatus::Active as i32 {
        return Err(error::model_retired(format!("model {} is retired and takes no payments", model.id)));
    }
    let price = amount(model.price_per_unit.as_ref().map_or("", |c| c.amount.as_str()), "price")?;
    let fee =
        price.checked_mul(u128::from(m.units)).ok_or_else(|| error::overflow(format!("{} units at {price}{DENOM} overflows", m.units)))?;
    if fee > max_fee {
        return Err(error::fee_too_high(format!("{} units at {price}{DENOM} cost {fee}{DENOM}, above max_fee {max_fee}{DENOM}", m.units)));
    }
    state.send_to_module(consumer, &ESCROW, fee, Some(ctx.msg_index)).await?;
    let id = state.take_id(state_key::NEXT_INFERENCE_ID).await?;
    let deadline = ctx.height.saturating_add(p.report_window_blocks);
    let terms = Terms {
        terms_version: model.terms_version,
        price_per_unit: model.price_per_unit.clone(),
        fee_split: model.fee_split,
        training_set: model.training_set.clone(),
        model_owner: model.owner.clone(),
        operators: model.operators.clone(),
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
    state.record(typed(openledger_proto::openledger::attribution::v1::EventInferencePaid {
        inference_id: id.to_string(),
        model_id: model.id.to_string(),
        consumer: consumer.to_string(),
        units: m.units.to_string(),
        fee: fee.to_string(),
        terms_version: model.terms_version.to_string(),
        report_deadline: deadline.to_string(),
    }));
    Ok(MsgPayInferenceResponse { inference_id: id, fee: Some(uopen_coin(fee)), report_deadline: deadline })
}

#[cfg(test)]
mod tests {
    use super::*;
    use openledger_proto::cosmos::base::v1beta1::Coin;

    fn valid() -> MsgPayInference {
        MsgPayInference {
            consumer: Address([1; 20]).to_string(),
            model_id: 1,
            units: 2,
            max_fee: Some(Coin { denom: "uopen".into(), amount: "10".into() }),
        }
    }

    #[test]
    fn check_refuses_each_malformed_field_with_its_code() {
        assert!(check(&valid()).is_ok());
        let cases: Vec<(MsgPayInference, u32)> = vec![
            (MsgPayInference { consumer: "x".into(), ..valid() }, 13),
            (MsgPayInference { model_id: 0, ..valid() }, 2),
            (MsgPayInference { units: 0, ..valid() }, 2),
            (MsgPayInference { max_fee: None, ..valid() }, 14),
        ];
        for (m, code) in cases {
            let e = check(&m).unwrap_err();
            assert_eq!((e.codespace, e.code), (error::CODESPACE, code), "{m:?}: {}", e.message);
        }
    }
}
