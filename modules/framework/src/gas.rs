//! Deterministic gas. Every charge is a pure function of the transaction and of the
//! keys and values it touches — never of timing or caching — so all nodes agree on
//! `gas_used`. `Metered` wraps any state and charges the schedule on each access, so
//! module code is metered without knowing about gas.

use std::any::Any;
use std::collections::BTreeMap;
use std::ops::RangeBounds;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use cnidarium::{StateRead, StateWrite};
use futures::future::BoxFuture;
use futures::stream::BoxStream;
use futures::{FutureExt, StreamExt};
use tendermint::abci;

/// The price list for state access.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GasCosts {
    pub read_flat: u64,
    pub read_per_byte: u64,
    pub write_flat: u64,
    pub write_per_byte: u64,
}

/// Gas consumed against a limit. Clones share one counter.
#[derive(Clone, Debug)]
pub struct GasMeter {
    used: Arc<AtomicU64>,
    limit: u64,
}

pub use openledger_types::error::OutOfGas;

impl GasMeter {
    pub fn new(limit: u64) -> Self {
        GasMeter { used: Arc::new(AtomicU64::new(0)), limit }
    }

    /// Charge `amount`; past the limit the meter stays exhausted and every later charge fails.
    pub fn consume(&self, amount: u64) -> Result<(), OutOfGas> {
        let before = self.used.fetch_add(amount, Ordering::Relaxed);
        let after = before.saturating_add(amount);
        if before > u64::MAX - amount {
            self.used.store(u64::MAX, Ordering::Relaxed);
        }
        if after > self.limit {
            Err(OutOfGas)
        } else {
            Ok(())
        }
    }

    /// Gas used, capped at the limit (what a failed tx reports, like the Cosmos SDK).
    pub fn used(&self) -> u64 {
        self.used.load(Ordering::Relaxed).min(self.limit)
    }

    /// Gas used without the cap (what simulation reports).
    pub fn used_uncapped(&self) -> u64 {
        self.used.load(Ordering::Relaxed)
    }

    pub fn limit(&self) -> u64 {
        self.limit
    }

    pub fn is_exhausted(&self) -> bool {
        self.used.load(Ordering::Relaxed) > self.limit
    }
}

/// State wrapped with a gas meter: reads and writes are charged by `GasCosts`.
pub struct Metered<S> {
    inner: S,
    meter: GasMeter,
    costs: GasCosts,
}

impl<S> Metered<S> {
    pub fn new(inner: S, meter: GasMeter, costs: GasCosts) -> Self {
        Metered { inner, meter, costs }
    }

    fn charge_read(&self, bytes: usize) -> Result<(), OutOfGas> {
        self.meter.consume(self.costs.read_flat.saturating_add(self.costs.read_per_byte.saturating_mul(bytes as u64)))
    }

    fn charge_write(&self, bytes: usize) {
        // A write cannot fail at the call site; exhaustion is seen by the next read
        // and by the pipeline, which checks the meter after the handler returns.
        let _ = self.meter.consume(self.costs.write_flat.saturating_add(self.costs.write_per_byte.saturating_mul(bytes as u64)));
    }
}

fn out_of_gas() -> anyhow::Error {
    anyhow::Error::new(OutOfGas)
}

/// Charges a read's key up front and its value when it arrives.
fn metered_get(
    meter: GasMeter,
    costs: GasCosts,
    fut: impl std::future::Future<Output = anyhow::Result<Option<Vec<u8>>>> + Send + 'static,
) -> BoxFuture<'static, anyhow::Result<Option<Vec<u8>>>> {
    async move {
        let value = fut.await?;
        if let Some(v) = &value {
            meter.consume(costs.read_per_byte.saturating_mul(v.len() as u64)).map_err(|_| out_of_gas())?;
        }
        Ok(value)
    }
    .boxed()
}

fn metered_stream<T: Send + 'static>(
    meter: GasMeter,
    costs: GasCosts,
    size: fn(&T) -> usize,
    stream: impl futures::Stream<Item = anyhow::Result<T>> + Send + 'static,
) -> BoxStream<'static, anyhow::Result<T>> {
    stream
        .map(move |item| {
            let item = item?;
            meter
                .consume(costs.read_flat.saturating_add(costs.read_per_byte.saturating_mul(size(&item) as u64)))
                .map_err(|_| out_of_gas())?;
            Ok(item)
        })
        .boxed()
}

impl<S: StateRead> StateRead for Metered<S> {
    type GetRawFut = BoxFuture<'static, anyhow::Result<Option<Vec<u8>>>>;
    type PrefixRawStream = BoxStream<'static, anyhow::Result<(String, Vec<u8>)>>;
    type PrefixKeysStream = BoxStream<'static, anyhow::Result<String>>;
    type NonconsensusPrefixRawStream = BoxStream<'static, anyhow::Result<(Vec<u8>, Vec<u8>)>>;
    type NonconsensusRangeRawStream = BoxStream<'static, anyhow::Result<(Vec<u8>, Vec<u8>)>>;

    fn get_raw(&self, key: &str) -> Self::GetRawFut {
        if self.charge_read(key.len()).is_err() {
            return futures::future::ready(Err(out_of_gas())).boxed();
        }
        metered_get(self.meter.clone(), self.costs, self.inner.get_raw(key))
    }

    // The non-verifiable store (indexes, history, the stream) is not metered: gas is in
    // every tx result, so it must be a function of consensus state alone, and what a
    // node keeps there is not (a node may wipe or rebuild it). Its writes accompany
    // metered verifiable writes.
    fn nonverifiable_get_raw(&self, key: &[u8]) -> Self::GetRawFut {
        self.inner.nonverifiable_get_raw(key).boxed()
    }

    fn object_get<T: Any + Send + Sync + Clone>(&self, key: &'static str) -> Option<T> {
        self.inner.object_get(key)
    }

    fn object_type(&self, key: &'static str) -> Option<std::any::TypeId> {
        self.inner.object_type(key)
    }

    fn prefix_raw(&self, prefix: &str) -> Self::PrefixRawStream {
        if self.charge_read(prefix.len()).is_err() {
            return futures::stream::once(async { Err(out_of_gas()) }).boxed();
        }
        metered_stream(self.meter.clone(), self.costs, |(k, v): &(String, Vec<u8>)| k.len() + v.len(), self.inner.prefix_raw(prefix))
    }

    fn prefix_keys(&self, prefix: &str) -> Self::PrefixKeysStream {
        if self.charge_read(prefix.len()).is_err() {
            return futures::stream::once(async { Err(out_of_gas()) }).boxed();
        }
        metered_stream(self.meter.clone(), self.costs, |k: &String| k.len(), self.inner.prefix_keys(prefix))
    }

    fn nonverifiable_prefix_raw(&self, prefix: &[u8]) -> Self::NonconsensusPrefixRawStream {
        self.inner.nonverifiable_prefix_raw(prefix).boxed()
    }

    fn nonverifiable_range_raw(
        &self,
        prefix: Option<&[u8]>,
        range: impl RangeBounds<Vec<u8>>,
    ) -> anyhow::Result<Self::NonconsensusRangeRawStream> {
        Ok(self.inner.nonverifiable_range_raw(prefix, range)?.boxed())
    }
}

impl<S: StateWrite> StateWrite for Metered<S> {
    fn put_raw(&mut self, key: String, value: Vec<u8>) {
        self.charge_write(key.len() + value.len());
        self.inner.put_raw(key, value)
    }

    fn delete(&mut self, key: String) {
        self.charge_write(key.len());
        self.inner.delete(key)
    }

    fn nonverifiable_put_raw(&mut self, key: Vec<u8>, value: Vec<u8>) {
        self.inner.nonverifiable_put_raw(key, value)
    }

    fn nonverifiable_delete(&mut self, key: Vec<u8>) {
        self.inner.nonverifiable_delete(key)
    }

    fn object_put<T: Clone + Any + Send + Sync>(&mut self, key: &'static str, value: T) {
        self.inner.object_put(key, value)
    }

    fn object_delete(&mut self, key: &'static str) {
        self.inner.object_delete(key)
    }

    fn object_merge(&mut self, objects: BTreeMap<&'static str, Option<Box<dyn Any + Send + Sync>>>) {
        self.inner.object_merge(objects)
    }

    fn record(&mut self, event: abci::Event) {
        self.inner.record(event)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meter_reports_capped_usage_and_stays_exhausted() {
        let m = GasMeter::new(100);
        assert!(m.consume(60).is_ok());
        assert!(m.consume(60).is_err());
        assert!(m.is_exhausted());
        assert_eq!(m.used(), 100);
        assert_eq!(m.used_uncapped(), 120);
        assert!(m.consume(0).is_err(), "an exhausted meter refuses even free work");
    }

    #[test]
    fn meter_saturates_instead_of_wrapping() {
        let m = GasMeter::new(10);
        let _ = m.consume(u64::MAX);
        let _ = m.consume(u64::MAX);
        assert!(m.is_exhausted());
        assert_eq!(m.used(), 10);
    }
}
