//! The indexer block stream: `openledger.stream.v1.StreamService`.
//!
//! **Writing.** FinalizeBlock of height H puts H's `BlockRecord` (txs, results, events)
//! in the *non-verifiable* part of the same staged batch that Commit writes atomically,
//! so the store never holds a block's state without its record or the reverse, and the
//! app hash is untouched (non-verifiable keys are not in the Merkle tree). H's app hash
//! is not known while H is being staged: block H+1 writes it (the root of the snapshot
//! it executes on) at `stream/h/{H}`, and the tip's is the latest snapshot's root.
//! Retention (`[stream] retain_blocks`) prunes in the same batch and keeps the lowest
//! retained height at `stream/lowest`.
//!
//! **Serving.** Each subscriber is one task that reads records from the latest snapshot
//! at its own pace, in bounded batches, and pushes them into a small bounded channel
//! drained by its gRPC stream. A slow reader only blocks its own task; Commit never
//! waits for anyone (it only publishes the new snapshot on cnidarium's watch channel,
//! which a task at the tip waits on). A reconnect at `last + 1` resumes exactly.
use std::pin::Pin;

use cnidarium::{Snapshot, StateDelta, StateRead, StateWrite, Storage};
use futures::StreamExt;
use openledger_framework::ChainError;
use openledger_proto::openledger::stream::v1 as pb;
use prost::Message;
use sha2::{Digest, Sha256};
use tendermint_proto::v0_38::abci as abci_pb;
use tonic::{Request, Response, Status};

use crate::exec::pipeline::TxOutcome;
use crate::exec::tx::DecodedTx;

/// `stream/b/{height u64 big-endian}`: the encoded `BlockRecord` (app hash empty).
pub const RECORD_PREFIX: &[u8] = b"stream/b/";
/// `stream/h/{height u64 big-endian}`: the app hash of that height (written one block later).
pub const APP_HASH_PREFIX: &[u8] = b"stream/h/";
/// The lowest height whose record is kept (u64 big-endian).
pub const LOWEST_KEY: &[u8] = b"stream/lowest";
/// Records deleted per block at most, so shrinking `retain_blocks` on a long chain
/// spreads the pruning over blocks instead of stalling one Commit.
pub const MAX_PRUNE_PER_BLOCK: u64 = 1_000;
/// Heights read from the store per batch by a subscriber.
const READ_BATCH: u64 = 64;
/// Bytes read per batch at most (a batch always holds at least one record).
const READ_BATCH_BYTES: usize = 8 << 20;
/// Records buffered between a subscriber's reader task and its gRPC stream.
const CHANNEL_RECORDS: usize = 8;

pub fn record_key(height: u64) -> Vec<u8> {
    [RECORD_PREFIX, &height.to_be_bytes()].concat()
}

pub fn app_hash_key(height: u64) -> Vec<u8> {
    [APP_HASH_PREFIX, &height.to_be_bytes()].concat()
}

fn height_of(key: &[u8], prefix: &[u8]) -> Option<u64> {
    let rest = key.strip_prefix(prefix)?;
    Some(u64::from_be_bytes(rest.try_into().ok()?))
}

fn event(e: &tendermint::abci::Event) -> pb::Event {
    let p: abci_pb::Event = e.clone().into();
    pb::Event {
        r#type: p.r#type,
        attributes: p.attributes.into_iter().map(|a| pb::EventAttribute { key: a.key, value: a.value, index: a.index }).collect(),
    }
}

/// The record of one executed block as a message (its app hash is filled in when
/// served). FinalizeBlock writes `encode::block_record`, which encodes the same thing.
pub fn block_record(
    height: u64,
    time_seconds: i64,
    time_nanos: i32,
    txs: &[Vec<u8>],
    decoded: &[Result<DecodedTx, ChainError>],
    results: &[TxOutcome],
    block_events: &[tendermint::abci::Event],
) -> pb::BlockRecord {
    let txs = results
        .iter()
        .enumerate()
        .map(|(i, o)| pb::TxRecord {
            index: i as u32,
            hash: txs.get(i).map(|b| Sha256::digest(b).to_vec()).unwrap_or_default(),
            code: o.code,
            codespace: o.codespace.clone(),
            log: o.log.clone(),
            gas_wanted: o.gas_wanted,
            gas_used: o.gas_used,
            events: o.events.iter().map(event).collect(),
            msg_type_urls: match decoded.get(i) {
                Some(Ok(t)) => t.msgs().iter().map(|m| m.type_url().to_string()).collect(),
                _ => vec![],
            },
        })
        .collect();
    pb::BlockRecord {
        height,
        time: Some(prost_types::Timestamp { seconds: time_seconds, nanos: time_nanos }),
        app_hash: vec![],
        txs,
        block_events: block_events.iter().map(event).collect(),
    }
}

/// Protobuf encoding of a block's record straight from the node's own results, without
/// building (and cloning every string into) a `pb::BlockRecord` first: this runs inside
/// FinalizeBlock, on the block's critical path. Decodes to exactly `block_record(…)`
/// (checked by a test); default values are omitted, as prost does.
pub mod encode {
    use prost::bytes::BufMut;
    use prost::encoding::{encode_key, encode_varint, encoded_len_varint, key_len, WireType};
    use std::borrow::Cow;

    use super::*;

    fn str_len(tag: u32, s: &[u8]) -> usize {
        if s.is_empty() {
            0
        } else {
            key_len(tag) + encoded_len_varint(s.len() as u64) + s.len()
        }
    }

    fn put_str(tag: u32, s: &[u8], buf: &mut Vec<u8>) {
        if !s.is_empty() {
            put_len_prefix(tag, s.len(), buf);
            buf.put_slice(s);
        }
    }

    /// A repeated string element: emitted even when empty.
    fn put_elem(tag: u32, s: &[u8], buf: &mut Vec<u8>) {
        put_len_prefix(tag, s.len(), buf);
        buf.put_slice(s);
    }

    fn elem_len(tag: u32, len: usize) -> usize {
        key_len(tag) + encoded_len_varint(len as u64) + len
    }

    fn varint_len(tag: u32, v: u64) -> usize {
        if v == 0 {
            0
        } else {
            key_len(tag) + encoded_len_varint(v)
        }
    }

    fn put_varint(tag: u32, v: u64, buf: &mut Vec<u8>) {
        if v != 0 {
            encode_key(tag, WireType::Varint, buf);
            encode_varint(v, buf);
        }
    }

    fn put_len_prefix(tag: u32, len: usize, buf: &mut Vec<u8>) {
        encode_key(tag, WireType::LengthDelimited, buf);
        encode_varint(len as u64, buf);
    }

    /// Strings must be UTF-8 in protobuf: pre-0.37 byte attributes are converted lossily.
    fn text(b: &[u8]) -> Cow<'_, [u8]> {
        match std::str::from_utf8(b) {
            Ok(_) => Cow::Borrowed(b),
            Err(_) => Cow::Owned(String::from_utf8_lossy(b).into_owned().into_bytes()),
        }
    }

    /// Every length-delimited field's length, in the order the writing pass needs them
    /// (depth first: a tx, then each of its events, then each attribute), computed once;
    /// and whether every attribute key and value was already UTF-8, so that the writing
    /// pass neither validates nor measures anything again.
    struct Lengths {
        lens: Vec<usize>,
        all_utf8: bool,
    }

    impl Lengths {
        /// Length of attribute `a`; `utf8` is cleared when it needs conversion.
        fn attr(a: &tendermint::abci::EventAttribute, utf8: &mut bool) -> usize {
            let (k, v) = (a.key_bytes(), a.value_bytes());
            let (kt, vt) = (text(k), text(v));
            *utf8 &= matches!((&kt, &vt), (Cow::Borrowed(_), Cow::Borrowed(_)));
            str_len(1, &kt) + str_len(2, &vt) + varint_len(3, u64::from(a.index()))
        }

        /// Pushes the event's length, then each attribute's; returns the event's length.
        fn event(&mut self, e: &tendermint::abci::Event) -> usize {
            let at = self.lens.len();
            self.lens.push(0);
            let mut len = str_len(1, e.kind.as_bytes());
            for a in &e.attributes {
                let l = Self::attr(a, &mut self.all_utf8);
                self.lens.push(l);
                len += elem_len(2, l);
            }
            self.lens[at] = len;
            len
        }
    }

    fn put_event(tag: u32, e: &tendermint::abci::Event, lens: &mut std::slice::Iter<'_, usize>, utf8: bool, buf: &mut Vec<u8>) {
        put_len_prefix(tag, lens.next().copied().unwrap_or_default(), buf);
        put_str(1, e.kind.as_bytes(), buf);
        for a in &e.attributes {
            put_len_prefix(2, lens.next().copied().unwrap_or_default(), buf);
            if utf8 {
                put_str(1, a.key_bytes(), buf);
                put_str(2, a.value_bytes(), buf);
            } else {
                put_str(1, &text(a.key_bytes()), buf);
                put_str(2, &text(a.value_bytes()), buf);
            }
            put_varint(3, u64::from(a.index()), buf);
        }
    }

    /// The record of one executed block, encoded (its app hash is filled in when served).
    /// Two passes: every length once, then the bytes into a buffer of exactly the
    /// record's size.
    #[allow(clippy::too_many_arguments)]
    pub fn block_record(
        height: u64,
        time_seconds: i64,
        time_nanos: i32,
        tx_hashes: &[[u8; 32]],
        decoded: &[Result<DecodedTx, ChainError>],
        results: &[TxOutcome],
        block_events: &[tendermint::abci::Event],
    ) -> Vec<u8> {
        let msgs = |i: usize| -> &[crate::exec::tx::Msg] {
            match decoded.get(i) {
                Some(Ok(t)) => t.msgs(),
                _ => &[],
            }
        };
        let hash = |i: usize| -> &[u8] { tx_hashes.get(i).map_or(&[], |h| h.as_slice()) };
        let time_len = varint_len(1, time_seconds as u64) + varint_len(2, i64::from(time_nanos) as u64);

        let mut l = Lengths { lens: Vec::with_capacity(results.len() * 40), all_utf8: true };
        let mut total = varint_len(1, height) + elem_len(2, time_len);
        for (i, o) in results.iter().enumerate() {
            let at = l.lens.len();
            l.lens.push(0);
            let mut len = varint_len(1, i as u64)
                + str_len(2, hash(i))
                + varint_len(3, u64::from(o.code))
                + str_len(4, o.codespace.as_bytes())
                + str_len(5, o.log.as_bytes())
                + varint_len(6, o.gas_wanted)
                + varint_len(7, o.gas_used);
            for e in &o.events {
                len += elem_len(8, l.event(e));
            }
            len += msgs(i).iter().map(|m| elem_len(9, m.type_url().len())).sum::<usize>();
            l.lens[at] = len;
            total += elem_len(4, len);
        }
        for e in block_events {
            total += elem_len(5, l.event(e));
        }

        let mut buf = Vec::with_capacity(total);
        let mut lens = l.lens.iter();
        put_varint(1, height, &mut buf);
        put_len_prefix(2, time_len, &mut buf);
        put_varint(1, time_seconds as u64, &mut buf);
        put_varint(2, i64::from(time_nanos) as u64, &mut buf);
        for (i, o) in results.iter().enumerate() {
            put_len_prefix(4, lens.next().copied().unwrap_or_default(), &mut buf);
            put_varint(1, i as u64, &mut buf);
            put_str(2, hash(i), &mut buf);
            put_varint(3, u64::from(o.code), &mut buf);
            put_str(4, o.codespace.as_bytes(), &mut buf);
            put_str(5, o.log.as_bytes(), &mut buf);
            put_varint(6, o.gas_wanted, &mut buf);
            put_varint(7, o.gas_used, &mut buf);
            for e in &o.events {
                put_event(8, e, &mut lens, l.all_utf8, &mut buf);
            }
            for m in msgs(i) {
                put_elem(9, m.type_url().as_bytes(), &mut buf);
            }
        }
        for e in block_events {
            put_event(5, e, &mut lens, l.all_utf8, &mut buf);
        }
        debug_assert_eq!(buf.len(), total);
        buf
    }
}

async fn read_u64(state: &impl StateRead, key: &[u8]) -> anyhow::Result<Option<u64>> {
    Ok(state.nonverifiable_get_raw(key).await?.and_then(|v| <[u8; 8]>::try_from(v.as_slice()).ok()).map(u64::from_be_bytes))
}

/// Stage block `h`'s encoded record (and its parent's app hash, and any pruning) in
/// `delta`, whose snapshot `parent` is the last committed state. Non-verifiable writes
/// only: the app hash does not change.
pub async fn stage(
    delta: &mut StateDelta<Snapshot>,
    parent: &Snapshot,
    h: u64,
    record: Vec<u8>,
    retain_blocks: u64,
) -> Result<(), ChainError> {
    let stored_lowest = read_u64(parent, LOWEST_KEY).await?;
    // The first record this store ever writes starts the log.
    let lowest = stored_lowest.unwrap_or(h);
    delta.nonverifiable_put_raw(record_key(h), record);
    if let Some(prev) = h.checked_sub(1).filter(|p| *p >= lowest && *p == parent.version()) {
        delta.nonverifiable_put_raw(app_hash_key(prev), parent.root_hash().await?.0.to_vec());
    }
    let target = if retain_blocks == 0 { lowest } else { lowest.max(h.saturating_add(1).saturating_sub(retain_blocks)) };
    let new_lowest = target.min(lowest.saturating_add(MAX_PRUNE_PER_BLOCK));
    for old in lowest..new_lowest {
        delta.nonverifiable_delete(record_key(old));
        delta.nonverifiable_delete(app_hash_key(old));
    }
    if stored_lowest != Some(new_lowest) {
        delta.nonverifiable_put_raw(LOWEST_KEY.to_vec(), new_lowest.to_be_bytes().to_vec());
    }
    Ok(())
}

/// The heights a snapshot can serve: `lowest..=tip` (empty when `lowest > tip`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retained {
    pub lowest: u64,
    pub tip: u64,
}

/// What `snap` holds. Before any record (a new chain, or a store older than the log)
/// the log starts at the next block.
pub async fn retained(snap: &Snapshot) -> anyhow::Result<Retained> {
    let tip = if snap.version() == u64::MAX { 0 } else { snap.version() };
    let lowest = read_u64(snap, LOWEST_KEY).await?.unwrap_or(tip.saturating_add(1));
    Ok(Retained { lowest, tip })
}

fn below_retention(height: u64, lowest: u64) -> Status {
    Status::out_of_range(format!(
        "height {height} is no longer retained by this node: the lowest retained height is {lowest} (see [stream] retain_blocks in app.toml)"
    ))
}

/// The non-verifiable values of `prefix` for heights `from..=to`, in height order.
async fn scan(snap: &Snapshot, prefix: &[u8], from: u64, to: u64, max_bytes: usize) -> anyhow::Result<Vec<(u64, Vec<u8>)>> {
    let start = [prefix, &from.to_be_bytes()].concat();
    let range = match to.checked_add(1) {
        Some(end) => snap.nonverifiable_range_raw(None, start..[prefix, &end.to_be_bytes()].concat())?,
        None => snap.nonverifiable_range_raw(None, start..[prefix, &[0xff; 9]].concat())?,
    };
    let mut range = std::pin::pin!(range);
    let mut out = Vec::new();
    let mut bytes = 0usize;
    while let Some(item) = range.next().await {
        let (k, v) = item?;
        let Some(h) = height_of(&k, prefix) else { continue };
        bytes = bytes.saturating_add(v.len());
        out.push((h, v));
        if bytes >= max_bytes {
            break;
        }
    }
    Ok(out)
}

/// Read the records `from..=to` (or fewer, by the byte budget; at least one), each with
/// its app hash, from one snapshot. Errors are what the client receives.
pub async fn read_records(snap: &Snapshot, from: u64, to: u64) -> Result<Vec<pb::BlockRecord>, Status> {
    read_raw_records(snap, from, to).await?.iter().map(RawRecord::decode).collect()
}

/// An encoded `BlockRecord`, app hash included, served as it is stored (no decode and
/// re-encode on the way out).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RawRecord {
    pub height: u64,
    pub bytes: Vec<u8>,
}

impl RawRecord {
    #[allow(clippy::result_large_err)]
    pub fn decode(&self) -> Result<pb::BlockRecord, Status> {
        pb::BlockRecord::decode(self.bytes.as_slice()).map_err(|e| Status::internal(format!("block log record {}: {e}", self.height)))
    }
}

/// Written to the wire as its bytes: the message is already encoded.
impl prost::Message for RawRecord {
    fn encode_raw(&self, buf: &mut impl prost::bytes::BufMut) {
        buf.put_slice(&self.bytes);
    }
    fn merge_field(
        &mut self,
        tag: u32,
        wire_type: prost::encoding::WireType,
        buf: &mut impl prost::bytes::Buf,
        ctx: prost::encoding::DecodeContext,
    ) -> Result<(), prost::DecodeError> {
        // Never decoded by the node; a decoder would see a BlockRecord.
        prost::encoding::skip_field(wire_type, tag, buf, ctx)
    }
    fn encoded_len(&self) -> usize {
        self.bytes.len()
    }
    fn clear(&mut self) {
        self.bytes.clear();
    }
}

/// `read_records` without decoding: each stored record with its app hash appended as
/// field 3 (which a stored record leaves empty; protobuf fields may come in any order).
pub async fn read_raw_records(snap: &Snapshot, from: u64, to: u64) -> Result<Vec<RawRecord>, Status> {
    let internal = |e: anyhow::Error| Status::internal(format!("reading the block log: {e:#}"));
    let retained = retained(snap).await.map_err(internal)?;
    if from < retained.lowest {
        return Err(below_retention(from, retained.lowest));
    }
    let to = to.min(retained.tip);
    if from > to {
        return Ok(vec![]);
    }
    let raw = scan(snap, RECORD_PREFIX, from, to, READ_BATCH_BYTES).await.map_err(internal)?;
    let last = raw.last().map_or(from, |(h, _)| *h);
    let hashes = scan(snap, APP_HASH_PREFIX, from, last, usize::MAX).await.map_err(internal)?;
    let mut hashes = hashes.into_iter().peekable();
    let tip_hash = if last == retained.tip { snap.root_hash().await.map_err(internal)?.0.to_vec() } else { vec![] };
    let mut out = Vec::with_capacity(raw.len());
    for (i, (h, bytes)) in raw.into_iter().enumerate() {
        let expected = from.saturating_add(i as u64);
        if h != expected {
            return Err(Status::internal(format!("the block log has no record for height {expected} (next is {h})")));
        }
        while hashes.peek().is_some_and(|(hh, _)| *hh < h) {
            hashes.next();
        }
        let app_hash = match hashes.peek() {
            Some((hh, v)) if *hh == h => v.as_slice(),
            _ if h == retained.tip => tip_hash.as_slice(),
            _ => return Err(Status::internal(format!("the block log has no app hash for height {h}"))),
        };
        let mut bytes = bytes;
        if !app_hash.is_empty() {
            prost::encoding::encode_key(3, prost::encoding::WireType::LengthDelimited, &mut bytes);
            prost::encoding::encode_varint(app_hash.len() as u64, &mut bytes);
            bytes.extend_from_slice(app_hash);
        }
        out.push(RawRecord { height: h, bytes });
    }
    if out.is_empty() {
        return Err(Status::internal(format!("the block log has no record for height {from}")));
    }
    Ok(out)
}

/// A parsed `FilteredBlocksRequest`.
#[derive(Debug, Clone)]
pub struct Filter {
    pub event_type: String,
    pub attributes: Vec<(String, String)>,
}

impl Filter {
    #[allow(clippy::result_large_err)] // tonic::Status is what handlers return
    pub fn from_request(r: &pb::FilteredBlocksRequest) -> Result<Filter, Status> {
        if r.event_type.is_empty() {
            return Err(Status::invalid_argument("event_type is required (e.g. \"transfer\")"));
        }
        if r.attributes.len() > 32 {
            return Err(Status::invalid_argument(format!("at most 32 attribute matches, got {}", r.attributes.len())));
        }
        let mut attributes = Vec::with_capacity(r.attributes.len());
        for (i, a) in r.attributes.iter().enumerate() {
            if a.key.is_empty() {
                return Err(Status::invalid_argument(format!("attributes[{i}].key is empty")));
            }
            attributes.push((a.key.clone(), a.value.clone()));
        }
        Ok(Filter { event_type: r.event_type.clone(), attributes })
    }

    pub fn matches(&self, e: &pb::Event) -> bool {
        e.r#type == self.event_type
            && self.attributes.iter().all(|(k, v)| e.attributes.iter().any(|a| a.key == *k && (v.is_empty() || a.value == *v)))
    }

    /// Keep only the matching events, and the txs that have one.
    pub fn apply(&self, mut rec: pb::BlockRecord) -> pb::BlockRecord {
        rec.block_events.retain(|e| self.matches(e));
        rec.txs.retain_mut(|t| {
            t.events.retain(|e| self.matches(e));
            !t.events.is_empty()
        });
        rec
    }
}

type Item = Result<RawRecord, Status>;

/// Where a request starting at `start` (0 = the tip) begins, or the error to answer.
#[allow(clippy::result_large_err)]
fn first_height(start: u64, r: Retained) -> Result<u64, Status> {
    if start == 0 {
        // The latest committed block, or the first one the log will hold.
        let first = if r.lowest > r.tip { r.lowest } else { r.tip };
        return Ok(first.max(1));
    }
    if start < r.lowest {
        return Err(below_retention(start, r.lowest));
    }
    Ok(start)
}

/// A node shutting down: streams that follow the tip never end by themselves, and the
/// gRPC server's graceful shutdown waits for every open stream.
pub type Closing = tokio::sync::watch::Receiver<bool>;

/// Resolves when `closing` turns true (never, without one or once its sender is gone).
async fn closing_signal(closing: &mut Option<Closing>) {
    if let Some(rx) = closing {
        if rx.wait_for(|c| *c).await.is_ok() {
            return;
        }
    }
    std::future::pending::<()>().await
}

fn shutting_down() -> Status {
    Status::unavailable("the node is shutting down")
}

/// Feed `tx` with every record from `next` on, following the tip, until the client goes
/// away, the node shuts down, or the reader falls below retention.
async fn feed(
    storage: Storage,
    mut next: u64,
    filter: Option<Filter>,
    tx: tokio::sync::mpsc::Sender<Item>,
    mut closing: Option<Closing>,
    _permit: Option<tokio::sync::OwnedSemaphorePermit>,
) {
    let mut commits = storage.subscribe();
    loop {
        // Mark the current version seen *before* reading it: a commit after this line
        // wakes the wait below.
        commits.borrow_and_update();
        let snap = storage.latest_snapshot();
        let tip = if snap.version() == u64::MAX { 0 } else { snap.version() };
        if next <= tip {
            let batch = read_raw_records(&snap, next, next.saturating_add(READ_BATCH - 1)).await;
            drop(snap); // never hold a snapshot while waiting on the client
            match batch {
                Ok(records) => {
                    for rec in records {
                        let rec = match &filter {
                            None => rec,
                            Some(f) => match rec.decode() {
                                Ok(full) => RawRecord { height: rec.height, bytes: f.apply(full).encode_to_vec() },
                                Err(status) => {
                                    let _ = tx.send(Err(status)).await;
                                    return;
                                }
                            },
                        };
                        tokio::select! {
                            sent = tx.send(Ok(rec)) => if sent.is_err() { return },
                            _ = closing_signal(&mut closing) => {
                                let _ = tx.try_send(Err(shutting_down()));
                                return;
                            }
                        }
                        next = next.saturating_add(1);
                    }
                }
                Err(status) => {
                    let _ = tx.send(Err(status)).await;
                    return;
                }
            }
            continue;
        }
        drop(snap);
        tokio::select! {
            changed = commits.changed() => {
                if changed.is_err() {
                    let _ = tx.try_send(Err(shutting_down()));
                    return;
                }
            }
            _ = tx.closed() => return,
            _ = closing_signal(&mut closing) => {
                let _ = tx.try_send(Err(shutting_down()));
                return;
            }
        }
    }
}

/// Records as they go to the wire.
pub type RawStream = Pin<Box<dyn futures::Stream<Item = Item> + Send + 'static>>;
/// Records decoded.
pub type RecordStream = Pin<Box<dyn futures::Stream<Item = Result<pb::BlockRecord, Status>> + Send + 'static>>;

/// Validate the start against what is retained now, then spawn the reader task. The
/// stream ends (after an UNAVAILABLE error) when `closing` turns true.
#[allow(clippy::result_large_err)]
pub async fn subscribe(storage: Storage, start: u64, filter: Option<Filter>, closing: Option<Closing>) -> Result<RecordStream, Status> {
    let raw = subscribe_with(storage, start, filter, closing, None).await?;
    Ok(Box::pin(raw.map(|item| item.and_then(|r| r.decode()))))
}

/// `subscribe`, the reader task holding `permit` (one of the node's stream slots).
#[allow(clippy::result_large_err)]
async fn subscribe_with(
    storage: Storage,
    start: u64,
    filter: Option<Filter>,
    closing: Option<Closing>,
    permit: Option<tokio::sync::OwnedSemaphorePermit>,
) -> Result<RawStream, Status> {
    let snap = storage.latest_snapshot();
    let r = retained(&snap).await.map_err(|e| Status::internal(format!("reading the block log: {e:#}")))?;
    drop(snap);
    let first = first_height(start, r)?;
    let (tx, rx) = tokio::sync::mpsc::channel(CHANNEL_RECORDS);
    tokio::spawn(feed(storage, first, filter, tx, closing.clone(), permit));
    let records = futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|item| (item, rx)) });
    // Also cut what is buffered for a reader that is not reading, so shutdown is prompt.
    let mut closing = closing;
    Ok(Box::pin(records.take_until(async move { closing_signal(&mut closing).await })))
}

/// The tonic service.
#[derive(Clone)]
pub struct BlockStream {
    storage: Storage,
    closing: Closing,
    /// One permit per open stream (`[stream] max_subscribers`; none = no limit).
    slots: Option<(std::sync::Arc<tokio::sync::Semaphore>, u64)>,
}

impl BlockStream {
    /// `closing` turns true when the server shuts down: every stream then ends. At most
    /// `max_subscribers` streams at once (0 = no limit).
    pub fn new(storage: Storage, closing: Closing, max_subscribers: u64) -> BlockStream {
        let slots = usize::try_from(max_subscribers)
            .ok()
            .filter(|n| *n > 0)
            .map(|n| (std::sync::Arc::new(tokio::sync::Semaphore::new(n.min(tokio::sync::Semaphore::MAX_PERMITS))), max_subscribers));
        BlockStream { storage, closing, slots }
    }

    #[allow(clippy::result_large_err)]
    fn slot(&self) -> Result<Option<tokio::sync::OwnedSemaphorePermit>, Status> {
        let Some((sem, max)) = &self.slots else { return Ok(None) };
        sem.clone().try_acquire_owned().map(Some).map_err(|_| {
            Status::resource_exhausted(format!(
                "this node already serves {max} block streams (see [stream] max_subscribers in app.toml): try again later"
            ))
        })
    }

    pub fn server(self) -> StreamServer {
        StreamServer { inner: std::sync::Arc::new(self) }
    }

    async fn blocks(&self, req: pb::BlocksRequest) -> Result<RawStream, Status> {
        let permit = self.slot()?;
        subscribe_with(self.storage.clone(), req.start_height, None, Some(self.closing.clone()), permit).await
    }

    async fn filtered_blocks(&self, req: pb::FilteredBlocksRequest) -> Result<RawStream, Status> {
        let filter = Filter::from_request(&req)?;
        let permit = self.slot()?;
        subscribe_with(self.storage.clone(), req.start_height, Some(filter), Some(self.closing.clone()), permit).await
    }
}

/// The gRPC service `openledger.stream.v1.StreamService`, written out instead of
/// tonic-build's generated server so that records go out as they are stored: its
/// response messages are `RawRecord`s (already-encoded `BlockRecord`s), which clients —
/// the generated client included — decode as `BlockRecord`s. Same paths, same codec
/// (protobuf), same errors.
#[derive(Clone)]
pub struct StreamServer {
    inner: std::sync::Arc<BlockStream>,
}

pub const SERVICE_NAME: &str = "openledger.stream.v1.StreamService";

impl tonic::server::NamedService for StreamServer {
    const NAME: &'static str = SERVICE_NAME;
}

type BoxFuture<T, E> = tonic::codegen::BoxFuture<T, E>;

struct BlocksMethod(std::sync::Arc<BlockStream>);

impl tonic::server::ServerStreamingService<pb::BlocksRequest> for BlocksMethod {
    type Response = RawRecord;
    type ResponseStream = RawStream;
    type Future = BoxFuture<Response<RawStream>, Status>;
    fn call(&mut self, request: Request<pb::BlocksRequest>) -> Self::Future {
        let inner = self.0.clone();
        Box::pin(async move { inner.blocks(request.into_inner()).await.map(Response::new) })
    }
}

struct FilteredBlocksMethod(std::sync::Arc<BlockStream>);

impl tonic::server::ServerStreamingService<pb::FilteredBlocksRequest> for FilteredBlocksMethod {
    type Response = RawRecord;
    type ResponseStream = RawStream;
    type Future = BoxFuture<Response<RawStream>, Status>;
    fn call(&mut self, request: Request<pb::FilteredBlocksRequest>) -> Self::Future {
        let inner = self.0.clone();
        Box::pin(async move { inner.filtered_blocks(request.into_inner()).await.map(Response::new) })
    }
}

impl<B> tonic::codegen::Service<tonic::codegen::http::Request<B>> for StreamServer
where
    B: tonic::codegen::Body + Send + 'static,
    B::Error: Into<tonic::codegen::StdError> + Send + 'static,
{
    type Response = tonic::codegen::http::Response<tonic::body::Body>;
    type Error = std::convert::Infallible;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, _cx: &mut std::task::Context<'_>) -> std::task::Poll<Result<(), Self::Error>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: tonic::codegen::http::Request<B>) -> Self::Future {
        let inner = self.inner.clone();
        match req.uri().path() {
            "/openledger.stream.v1.StreamService/Blocks" => Box::pin(async move {
                let mut grpc = tonic::server::Grpc::new(tonic::codec::ProstCodec::<RawRecord, pb::BlocksRequest>::default());
                Ok(grpc.server_streaming(BlocksMethod(inner), req).await)
            }),
            "/openledger.stream.v1.StreamService/FilteredBlocks" => Box::pin(async move {
                let mut grpc = tonic::server::Grpc::new(tonic::codec::ProstCodec::<RawRecord, pb::FilteredBlocksRequest>::default());
                Ok(grpc.server_streaming(FilteredBlocksMethod(inner), req).await)
            }),
            _ => Box::pin(async move {
                let mut response = tonic::codegen::http::Response::new(tonic::body::Body::default());
                let headers = response.headers_mut();
                headers.insert(tonic::Status::GRPC_STATUS, (tonic::Code::Unimplemented as i32).into());
                headers.insert(tonic::codegen::http::header::CONTENT_TYPE, tonic::metadata::GRPC_CONTENT_TYPE);
                Ok(response)
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_sort_by_height() {
        assert!(record_key(255) < record_key(256));
        assert_eq!(height_of(&record_key(7), RECORD_PREFIX), Some(7));
        assert_eq!(height_of(b"stream/b/xx", RECORD_PREFIX), None);
        assert!(!String::from_utf8_lossy(RECORD_PREFIX).starts_with("datanet"));
    }

    #[test]
    fn the_direct_encoding_decodes_to_the_record() {
        use tendermint::abci::{Event, EventAttribute};
        let ev = |kind: &str, attrs: Vec<(&str, &str, bool)>| {
            Event::new(kind, attrs.into_iter().map(|(k, v, i)| EventAttribute::from((k, v, i))))
        };
        let results = vec![
            TxOutcome {
                code: 0,
                gas_wanted: 200_000,
                gas_used: 37_327,
                events: vec![
                    ev("transfer", vec![("recipient", "open1x", true), ("amount", "5uopen", true)]),
                    ev("tx", vec![("fee", "", false)]),
                ],
                ..Default::default()
            },
            TxOutcome {
                code: 5,
                codespace: "sdk".into(),
                log: "insufficient funds ünïcode".into(),
                gas_wanted: 1,
                gas_used: 0,
                ..Default::default()
            },
            TxOutcome::default(),
        ];
        let txs = vec![vec![1u8, 2, 3], vec![], vec![0xff; 300]];
        let decoded: Vec<Result<DecodedTx, ChainError>> = vec![];
        let block_events = vec![ev("openledger.token.v1.EventFeesDistributed", vec![("power", "10", true)]), ev("", vec![])];
        // A pre-0.37 byte attribute that is not UTF-8 (converted lossily, as prost's
        // strings must be), in a record whose other attributes are all UTF-8.
        let v034 = EventAttribute::V034(tendermint::abci::v0_34::EventAttribute {
            key: b"raw".to_vec(),
            value: vec![0xff, b'a', 0xc3],
            index: true,
        });
        let bytes_events = vec![Event { kind: "legacy".into(), attributes: vec![v034] }];
        for (height, secs, nanos, block_events) in [
            (1u64, 1_700_000_001i64, 0i32, &block_events),
            (u64::MAX, -5, 999_999_999, &block_events),
            (300, 0, -1, &block_events),
            (7, 1, 1, &bytes_events),
        ] {
            let hashes: Vec<[u8; 32]> = txs.iter().map(|t| crate::exec::perf::sigverify::tx_hash(t)).collect();
            let direct = encode::block_record(height, secs, nanos, &hashes, &decoded, &results, block_events);
            let mut expected = block_record(height, secs, nanos, &txs, &decoded, &results, block_events);
            if height == 7 {
                // tendermint's own conversion drops such an attribute; the record keeps it.
                let lossy = pb::EventAttribute { key: "raw".into(), value: "\u{FFFD}a\u{FFFD}".into(), index: true };
                expected.block_events[0].attributes = vec![lossy];
            }
            assert_eq!(pb::BlockRecord::decode(direct.as_slice()).expect("decodes"), expected);
            assert_eq!(direct, expected.encode_to_vec(), "byte for byte what prost writes");
        }
    }

    #[test]
    fn first_height_rules() {
        let r = Retained { lowest: 5, tip: 20 };
        assert_eq!(first_height(0, r).ok(), Some(20));
        assert_eq!(first_height(5, r).ok(), Some(5));
        assert_eq!(first_height(30, r).ok(), Some(30));
        let e = first_height(4, r).err().map(|s| (s.code(), s.message().to_string()));
        assert!(matches!(&e, Some((tonic::Code::OutOfRange, m)) if m.contains("lowest retained height is 5")), "{e:?}");
        // Empty log (new chain): start at the next block.
        assert_eq!(first_height(0, Retained { lowest: 1, tip: 0 }).ok(), Some(1));
        assert_eq!(first_height(1, Retained { lowest: 1, tip: 0 }).ok(), Some(1));
        // A store older than the log: the log starts at the next block.
        assert_eq!(first_height(0, Retained { lowest: 11, tip: 10 }).ok(), Some(11));
    }

    #[test]
    fn filter_keeps_matching_events_only() {
        let ev = |t: &str, kv: &[(&str, &str)]| pb::Event {
            r#type: t.into(),
            attributes: kv.iter().map(|(k, v)| pb::EventAttribute { key: (*k).into(), value: (*v).into(), index: true }).collect(),
        };
        let f = Filter { event_type: "transfer".into(), attributes: vec![("recipient".into(), "b".into())] };
        let rec = pb::BlockRecord {
            height: 3,
            txs: vec![
                pb::TxRecord { index: 0, events: vec![ev("transfer", &[("recipient", "a")]), ev("message", &[])], ..Default::default() },
                pb::TxRecord { index: 1, events: vec![ev("transfer", &[("recipient", "b")]), ev("tx", &[])], ..Default::default() },
            ],
            block_events: vec![ev("transfer", &[("recipient", "b")]), ev("transfer", &[("sender", "b")])],
            ..Default::default()
        };
        let out = f.apply(rec);
        assert_eq!(out.height, 3);
        assert_eq!(out.txs.len(), 1);
        assert_eq!(out.txs[0].index, 1);
        assert_eq!(out.txs[0].events.len(), 1);
        assert_eq!(out.block_events.len(), 1);
        let any_value = Filter { event_type: "transfer".into(), attributes: vec![("sender".into(), String::new())] };
        assert!(any_value.matches(&ev("transfer", &[("sender", "x")])));
        assert!(!any_value.matches(&ev("transfer", &[("recipient", "x")])));
    }
}
