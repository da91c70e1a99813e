//! Typed state access of the datanet module.
use std::future::Future;

use cnidarium::{StateRead, StateWrite};
use openledger_framework::{sdk, ChainError, StoreRead, StoreWrite};
use openledger_proto::openledger::datanet::v1::{Challenge, Contribution, Datanet, Params, Version};

use crate::state_key;

pub trait DatanetRead: StateRead {
    fn datanet_params(&self) -> impl Future<Output = Result<Params, ChainError>> + Send {
        let fut = self.get_proto::<Params>(state_key::PARAMS);
        async move { fut.await?.ok_or_else(|| sdk::internal("datanet params missing")) }
    }
    fn datanet(&self, id: u64) -> impl Future<Output = Result<Option<Datanet>, ChainError>> + Send {
        let key = state_key::datanet(id);
        async move { self.get_proto(&key).await }
    }
    fn contribution(&self, id: u64) -> impl Future<Output = Result<Option<Contribution>, ChainError>> + Send {
        let key = state_key::contribution(id);
        async move { self.get_proto(&key).await }
    }
    fn datanet_version(&self, datanet_id: u64, version: u64) -> impl Future<Output = Result<Option<Version>, ChainError>> + Send {
        let key = state_key::version(datanet_id, version);
        async move { self.get_proto(&key).await }
    }
    fn challenge(&self, id: u64) -> impl Future<Output = Result<Option<Challenge>, ChainError>> + Send {
        let key = state_key::challenge(id);
        async move { self.get_proto(&key).await }
    }
}

impl<S: StateRead + ?Sized> DatanetRead for S {}

pub trait DatanetWrite: StateWrite {
    fn put_datanet_params(&mut self, p: &Params) {
        self.put_proto(state_key::PARAMS.to_string(), p);
    }
    fn put_datanet(&mut self, d: &Datanet) {
        self.put_proto(state_key::datanet(d.id), d);
    }
    fn put_contribution(&mut self, c: &Contribution) {
        self.put_proto(state_key::contribution(c.id), c);
    }
    fn put_version(&mut self, v: &Version) {
        self.put_proto(state_key::version(v.datanet_id, v.version), v);
    }
    fn put_challenge(&mut self, c: &Challenge) {
        self.put_proto(state_key::challenge(c.id), c);
    }
}

impl<S: StateWrite + ?Sized> DatanetWrite for S {}

/// The contributions invalidated since the queue was last drained, in id order, and
/// the queue emptied (see `state_key::invalidated`). The attribution module calls it.
pub async fn take_invalidated<S: StateWrite>(state: &mut S) -> Result<Vec<u64>, ChainError> {
    use futures::StreamExt;
    if state.get_u64(state_key::INVALIDATED_COUNT).await?.unwrap_or(0) == 0 {
        return Ok(vec![]);
    }
    let mut ids = Vec::new();
    {
        let stream = state.prefix_keys(state_key::INVALIDATED);
        let mut stream = std::pin::pin!(stream);
        while let Some(key) = stream.next().await {
            let key = key?;
            let id = key
                .strip_prefix(state_key::INVALIDATED)
                .and_then(|h| u64::from_str_radix(h, 16).ok())
                .ok_or_else(|| openledger_framework::sdk::internal(format!("corrupt invalidation key {key}")))?;
            ids.push(id);
        }
    }
    for id in &ids {
        state.delete(state_key::invalidated(*id));
    }
    state.delete(state_key::INVALIDATED_COUNT.to_string());
    Ok(ids)
}
