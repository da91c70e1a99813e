//! Typed state access of the attribution module. Amounts are decimal strings in the
//! records (as Cosmos coins are); `amount` parses them, and `Books` is the accounting
//! record as integers.
use std::future::Future;

use cnidarium::{StateRead, StateWrite};
use openledger_framework::{sdk, Amount, ChainError, StoreRead, StoreWrite};
use openledger_proto::openledger::attribution::v1::{
    Accounting, ContributionRewards, DatanetStats, Inference, ModelStats, Params, VersionPool,
};

use crate::state_key;

/// A stored decimal amount ("" is 0).
pub fn amount(s: &str, what: &str) -> Result<Amount, ChainError> {
    if s.is_empty() {
        return Ok(0);
    }
    s.parse().map_err(|_| sdk::internal(format!("corrupt amount {what}: {s:?}")))
}

/// `a + b`, or an error naming what overflowed.
pub fn add(a: Amount, b: Amount, what: &str) -> Result<Amount, ChainError> {
    a.checked_add(b).ok_or_else(|| crate::error::overflow(format!("{what} overflows")))
}

/// `a - b`, or an internal error (books never go negative).
pub fn sub(a: Amount, b: Amount, what: &str) -> Result<Amount, ChainError> {
    a.checked_sub(b).ok_or_else(|| sdk::internal(format!("{what} would go negative ({a} - {b})")))
}

/// The module's books as integers (see `Accounting`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Books {
    pub paid_in: Amount,
    pub paid_out: Amount,
    pub escrowed: Amount,
    pub credits: Amount,
    pub pools: Amount,
}

impl Books {
    pub fn from_proto(a: &Accounting) -> Result<Books, ChainError> {
        Ok(Books {
            paid_in: amount(&a.paid_in, "paid_in")?,
            paid_out: amount(&a.paid_out, "paid_out")?,
            escrowed: amount(&a.escrowed, "escrowed")?,
            credits: amount(&a.credits_outstanding, "credits_outstanding")?,
            pools: amount(&a.pools_outstanding, "pools_outstanding")?,
        })
    }
    pub fn to_proto(self) -> Accounting {
        Accounting {
            paid_in: self.paid_in.to_string(),
            paid_out: self.paid_out.to_string(),
            escrowed: self.escrowed.to_string(),
            credits_outstanding: self.credits.to_string(),
            pools_outstanding: self.pools.to_string(),
        }
    }
    /// paid_in = paid_out + escrowed + credits + pools.
    pub fn balanced(&self) -> bool {
        [self.paid_out, self.escrowed, self.credits, self.pools]
            .iter()
            .try_fold(0u128, |acc, x| acc.checked_add(*x))
            .is_some_and(|sum| sum == self.paid_in)
    }
}

pub trait AttributionRead: StateRead {
    fn attribution_params(&self) -> impl Future<Output = Result<Params, ChainError>> + Send {
        let fut = self.get_proto::<Params>(state_key::PARAMS);
        async move { fut.await?.ok_or_else(|| sdk::internal("attribution params missing")) }
    }
    fn inference(&self, id: u64) -> impl Future<Output = Result<Option<Inference>, ChainError>> + Send {
        let key = state_key::inference(id);
        async move { self.get_proto(&key).await }
    }
    fn version_pool(&self, datanet_id: u64, version: u64) -> impl Future<Output = Result<Option<VersionPool>, ChainError>> + Send {
        let key = state_key::pool(datanet_id, version);
        async move { self.get_proto(&key).await }
    }
    /// The rewards account of a contribution (zeroes when it never earned).
    fn contribution_rewards(&self, id: u64) -> impl Future<Output = Result<ContributionRewards, ChainError>> + Send {
        let key = state_key::rewards(id);
        async move { Ok(self.get_proto(&key).await?.unwrap_or(ContributionRewards { contribution_id: id, ..Default::default() })) }
    }
    fn model_stats(&self, model_id: u64) -> impl Future<Output = Result<ModelStats, ChainError>> + Send {
        let key = state_key::model_stats(model_id);
        async move { Ok(self.get_proto(&key).await?.unwrap_or(ModelStats { model_id, ..Default::default() })) }
    }
    fn datanet_stats(&self, datanet_id: u64) -> impl Future<Output = Result<DatanetStats, ChainError>> + Send {
        let key = state_key::datanet_stats(datanet_id);
        async move { Ok(self.get_proto(&key).await?.unwrap_or(DatanetStats { datanet_id, ..Default::default() })) }
    }
    fn books(&self) -> impl Future<Output = Result<Books, ChainError>> + Send {
        let fut = self.get_proto::<Accounting>(state_key::ACCOUNTING);
        async move {
            match fut.await? {
                Some(a) => Books::from_proto(&a),
                None => Ok(Books::default()),
            }
        }
    }
    fn next_inference_id(&self) -> impl Future<Output = Result<u64, ChainError>> + Send {
        self.next_id(state_key::NEXT_INFERENCE_ID)
    }
}

impl<S: StateRead + ?Sized> AttributionRead for S {}

pub trait AttributionWrite: StateWrite {
    fn put_attribution_params(&mut self, p: &Params) {
        self.put_proto(state_key::PARAMS.to_string(), p);
    }
    fn put_inference(&mut self, i: &Inference) {
        self.put_proto(state_key::inference(i.id), i);
    }
    fn put_version_pool(&mut self, p: &VersionPool) {
        self.put_proto(state_key::pool(p.datanet_id, p.version), p);
    }
    fn put_contribution_rewards(&mut self, r: &ContributionRewards) {
        self.put_proto(state_key::rewards(r.contribution_id), r);
    }
    fn put_model_stats(&mut self, s: &ModelStats) {
        self.put_proto(state_key::model_stats(s.model_id), s);
    }
    fn put_datanet_stats(&mut self, s: &DatanetStats) {
        self.put_proto(state_key::datanet_stats(s.datanet_id), s);
    }
    fn put_books(&mut self, b: Books) {
        self.put_proto(state_key::ACCOUNTING.to_string(), &b.to_proto());
    }
}

impl<S: StateWrite + ?Sized> AttributionWrite for S {}

/// Queue an inference for default settlement after `deadline`.
pub async fn enqueue_due<S: StateWrite>(state: &mut S, deadline: u64, id: u64) -> Result<(), ChainError> {
    let count = state.get_u64(state_key::DUE_COUNT).await?.unwrap_or(0);
    let cursor = state.get_u64(state_key::DUE_CURSOR).await?;
    let cursor = match (count, cursor) {
        (0, _) | (_, None) => deadline,
        (_, Some(c)) => c.min(deadline),
    };
    state.put_u64(state_key::DUE_CURSOR.to_string(), cursor);
    state.put_u64(state_key::DUE_COUNT.to_string(), count + 1);
    state.put_raw(state_key::due(deadline, id), vec![]);
    Ok(())
}

/// Take an inference off the queue (reported, or settled by default).
pub async fn dequeue_due<S: StateWrite>(state: &mut S, deadline: u64, id: u64) -> Result<(), ChainError> {
    let count = state.get_u64(state_key::DUE_COUNT).await?.unwrap_or(0);
    state
        .put_u64(state_key::DUE_COUNT.to_string(), count.checked_sub(1).ok_or_else(|| sdk::internal("settlement queue count underflows"))?);
    state.delete(state_key::due(deadline, id));
    Ok(())
}
