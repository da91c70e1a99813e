//! Typed state access of the datanet module.
use std::future::Future;

use cnidarium::{StateRead, StateWrite};
use openledger_framework::{sdk, ChainError, StoreRead, StoreWrite};
use openledger_proto::openledger::datanet::v1::{Challenge, Contribution, Datanet, Params, Version};

use crate::state_key;

pub trait DatanetRead: StateRead {
    /// A protobuf record by (owned) key.
    fn record<T: prost::Message + Default>(&self, key: String) -> impl Future<Output = Result<Option<T>, ChainError>> + Send {
        let fut = self.get_raw(&key);
        async move {
            match fut.await? {
                None => Ok(None),
                Some(b) => T::decode(b.as_slice()).map(Some).map_err(|e| sdk::internal(format!("corrupt value at {key}: {e}"))),
            }
        }
    }
    fn datanet_params(&self) -> impl Future<Output = Result<Params, ChainError>> + Send {
        let fut = self.get_proto::<Params>(state_key::PARAMS);
        async move { fut.await?.ok_or_else(|| sdk::internal("datanet params missing")) }
    }
    fn datanet(&self, id: u64) -> impl Future<Output = Result<Option<Datanet>, ChainError>> + Send {
        self.record(state_key::datanet(id))
    }
    fn contribution(&self, id: u64) -> impl Future<Output = Result<Option<Contribution>, ChainError>> + Send {
        self.record(state_key::contribution(id))
    }
    fn datanet_version(&self, datanet_id: u64, version: u64) -> impl Future<Output = Result<Option<Version>, ChainError>> + Send {
        self.record(state_key::version(datanet_id, version))
    }
    fn challenge(&self, id: u64) -> impl Future<Output = Result<Option<Challenge>, ChainError>> + Send {
        self.record(state_key::challenge(id))
    }
    /// The next id of a sequence (ids start at 1).
    fn next_id(&self, key: &'static str) -> impl Future<Output = Result<u64, ChainError>> + Send {
        let fut = self.get_u64(key);
        async move { Ok(fut.await?.unwrap_or(1)) }
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
    /// Take the next id of a sequence.
    fn take_id(&mut self, key: &'static str) -> impl Future<Output = Result<u64, ChainError>> + Send
    where
        Self: Sized + Send,
    {
        async move {
            let id = self.next_id(key).await?;
            let next = id.checked_add(1).ok_or_else(|| sdk::internal(format!("{key} overflows")))?;
            self.put_u64(key.to_string(), next);
            Ok(id)
        }
    }
}

impl<S: StateWrite + ?Sized> DatanetWrite for S {}
