//! Typed state access of the model module.
use std::future::Future;

use cnidarium::{StateRead, StateWrite};
use openledger_framework::{sdk, ChainError, StoreRead, StoreWrite};
use openledger_proto::openledger::model::v1::{Model, Params};

use crate::state_key;

pub trait ModelRead: StateRead {
    fn model_params(&self) -> impl Future<Output = Result<Params, ChainError>> + Send {
        let fut = self.get_proto::<Params>(state_key::PARAMS);
        async move { fut.await?.ok_or_else(|| sdk::internal("model params missing")) }
    }
    fn model(&self, id: u64) -> impl Future<Output = Result<Option<Model>, ChainError>> + Send {
        let key = state_key::model(id);
        async move { self.get_proto(&key).await }
    }
    /// The id the next registered model gets (ids start at 1).
    fn next_model_id(&self) -> impl Future<Output = Result<u64, ChainError>> + Send {
        self.next_id(state_key::NEXT_MODEL_ID)
    }
}

impl<S: StateRead + ?Sized> ModelRead for S {}

pub trait ModelWrite: StateWrite {
    fn put_model_params(&mut self, p: &Params) {
        self.put_proto(state_key::PARAMS.to_string(), p);
    }
    fn put_model(&mut self, m: &Model) {
        self.put_proto(state_key::model(m.id), m);
    }
    fn put_next_model_id(&mut self, id: u64) {
        self.put_u64(state_key::NEXT_MODEL_ID.to_string(), id);
    }
    /// Take the next model id.
    fn take_model_id(&mut self) -> impl Future<Output = Result<u64, ChainError>> + Send
    where
        Self: Sized + Send,
    {
        self.take_id(state_key::NEXT_MODEL_ID)
    }
}

impl<S: StateWrite + ?Sized> ModelWrite for S {}
