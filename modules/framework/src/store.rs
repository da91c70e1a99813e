//! Typed access to the raw store, shared by every module's `state_ext`: protobuf
//! values and big-endian u128 amounts. Only these helpers touch value bytes.
use std::future::Future;

use cnidarium::{StateRead, StateWrite};
use prost::Message;

use crate::error::ChainError;

/// Where the app records the chain id at InitChain (verifiable, outside every substore).
pub const CHAIN_ID_KEY: &str = "app/chain_id";

pub trait StoreRead: StateRead {
    /// The chain id recorded at InitChain: what signed payloads of this chain (a
    /// consumer's receipt) must name.
    fn chain_id(&self) -> impl Future<Output = Result<String, ChainError>> + Send {
        let fut = self.get_raw(CHAIN_ID_KEY);
        async move {
            let bytes = fut.await?.ok_or_else(|| crate::error::sdk::internal("chain id missing"))?;
            String::from_utf8(bytes).map_err(|_| crate::error::sdk::internal("corrupt chain id"))
        }
    }

    fn get_proto<T: Message + Default>(&self, key: &str) -> impl Future<Output = Result<Option<T>, ChainError>> + Send {
        let fut = self.get_raw(key);
        let key = key.to_string();
        async move {
            match fut.await? {
                None => Ok(None),
                Some(bytes) => {
                    T::decode(bytes.as_slice()).map(Some).map_err(|e| crate::error::sdk::internal(format!("corrupt value at {key}: {e}")))
                }
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

    /// The next id of a sequence stored at `key` (ids start at 1).
    fn next_id(&self, key: &'static str) -> impl Future<Output = Result<u64, ChainError>> + Send {
        let fut = self.get_u64(key);
        async move { Ok(fut.await?.unwrap_or(1)) }
    }

    /// Every record under `prefix`, decoded, in key order (genesis export).
    fn all_protos<T: Message + Default>(&self, prefix: &str) -> impl Future<Output = Result<Vec<T>, ChainError>> + Send {
        let stream = self.prefix_raw(prefix);
        async move {
            use futures::StreamExt;
            let mut stream = std::pin::pin!(stream);
            let mut out = Vec::new();
            while let Some(item) = stream.next().await {
                let (key, v) = item?;
                out.push(T::decode(v.as_slice()).map_err(|e| crate::error::sdk::internal(format!("corrupt value at {key}: {e}")))?);
            }
            Ok(out)
        }
    }

    /// Every non-verifiable entry under `prefix`, in key order (comparing derived state).
    fn nonverifiable_entries(&self, prefix: &[u8]) -> impl Future<Output = Result<Vec<RawEntry>, ChainError>> + Send {
        let stream = self.nonverifiable_prefix_raw(prefix);
        async move {
            use futures::StreamExt;
            let mut stream = std::pin::pin!(stream);
            let mut out = Vec::new();
            while let Some(item) = stream.next().await {
                out.push(item?);
            }
            Ok(out)
        }
    }
}

impl<S: StateRead + ?Sized> StoreRead for S {}

/// A raw key and value.
pub type RawEntry = (Vec<u8>, Vec<u8>);

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

    /// Take the next id of the sequence stored at `key`.
    fn take_id(&mut self, key: &'static str) -> impl Future<Output = Result<u64, ChainError>> + Send
    where
        Self: Sized + Send,
    {
        async move {
            let id = self.next_id(key).await?;
            let next = id.checked_add(1).ok_or_else(|| crate::error::sdk::internal(format!("{key} overflows")))?;
            self.put_u64(key.to_string(), next);
            Ok(id)
        }
    }
}

impl<S: StateWrite + ?Sized> StoreWrite for S {}
