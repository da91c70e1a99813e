//! Typed access to the raw store, shared by every module's `state_ext`: protobuf
//! values and big-endian u128 amounts. Only these helpers touch value bytes.
use std::future::Future;

use cnidarium::{StateRead, StateWrite};
use prost::Message;

use crate::error::ChainError;

pub trait StoreRead: StateRead {
    fn get_proto<T: Message + Default>(&self, key: &str) -> impl Future<Output = Result<Option<T>, ChainError>> + Send {
        let fut = self.get_raw(key);
        let key = key.to_string();
        async move {
            match fut.await? {
                None => Ok(None),
                Some(bytes) => T::decode(bytes.as_slice())
                    .map(Some)
                    .map_err(|e| crate::error::sdk::internal(format!("corrupt value at {key}: {e}"))),
            }
        }
    }

    fn get_u128(&self, key: &str) -> impl Future<Output = Result<Option<u128>, ChainError>> + Send {
        let fut = self.get_raw(key);
        let key = key.to_string();
        async move {
            match fut.await? {
                None => Ok(None),
                Some(bytes) => <[u8; 16]>::try_from(bytes.as_slice())
                    .map(|b| Some(u128::from_be_bytes(b)))
                    .map_err(|_| crate::error::sdk::internal(format!("corrupt amount at {key}"))),
            }
        }
    }

    fn get_u64(&self, key: &str) -> impl Future<Output = Result<Option<u64>, ChainError>> + Send {
        let fut = self.get_raw(key);
        let key = key.to_string();
        async move {
            match fut.await? {
                None => Ok(None),
                Some(bytes) => <[u8; 8]>::try_from(bytes.as_slice())
                    .map(|b| Some(u64::from_be_bytes(b)))
                    .map_err(|_| crate::error::sdk::internal(format!("corrupt integer at {key}"))),
            }
        }
    }
}

impl<S: StateRead + ?Sized> StoreRead for S {}

pub trait StoreWrite: StateWrite {
    fn put_proto<T: Message>(&mut self, key: String, value: &T) {
        self.put_raw(key, value.encode_to_vec());
    }

    /// Zero amounts are deleted rather than stored, so state holds no empty entries.
    fn put_u128(&mut self, key: String, value: u128) {
        if value == 0 {
            self.delete(key);
        } else {
            self.put_raw(key, value.to_be_bytes().to_vec());
        }
    }

    fn put_u64(&mut self, key: String, value: u64) {
        self.put_raw(key, value.to_be_bytes().to_vec());
    }
}

impl<S: StateWrite + ?Sized> StoreWrite for S {}
