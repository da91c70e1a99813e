//! The ABCI socket server: CometBFT's connections (consensus, mempool, query, snapshot)
//! to `openledgerd`, each a TCP stream of varint-length-delimited `Request`s answered in
//! order by `Response`s. The application side is `tendermint_abci::Application` (abci.rs);
//! this file owns only the socket loop, because tendermint-abci's loop costs CometBFT
//! throughput in three ways measured under load (BENCHMARKS.md, "End-to-end load"):
//!
//! - it reads only between requests, so while a request runs CometBFT's writer blocks on
//!   a full socket — and CometBFT v0.38's socket client re-arms its flush timer (20 ns)
//!   while blocked, spinning;
//! - each decode copies the whole unread buffer (quadratic in a backlog of CheckTx);
//! - it writes every response with its own system call, with Nagle's algorithm on.
//!
//! Here each connection has a reader thread that keeps reading and decoding into a
//! bounded queue, and a handler thread that answers in order and writes the responses of
//! everything already queued in one write. On the mempool connection the handler first
//! verifies the signatures of the queued CheckTx requests on all cores
//! (`App::preverify_check_txs`), then answers them one by one as before.
use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TryRecvError};
use std::time::{Duration, Instant};

use prost::Message;
use tendermint_abci::Application;
use tendermint_proto::v0_38::abci::{request, response, CheckTxType, Request, Response, ResponseException};

use crate::app::App;

/// Largest request accepted (a FinalizeBlock carries the block's txs; CometBFT caps
/// blocks at 100 MiB).
const MAX_REQUEST_BYTES: u64 = 128 * 1024 * 1024;
/// Decoded batches the reader may run ahead of the handler.
const QUEUED_BATCHES: usize = 256;
/// Responses are written out at least this often (bytes), even with more requests queued.
const WRITE_CHUNK: usize = 1 << 20;
/// Fewest queued CheckTx requests whose signatures are verified ahead on all cores;
/// below it starting verifier threads costs more than it saves (CheckTx verifies inline).
const PREVERIFY_MIN: usize = 8;
/// Per-connection counters are logged (debug) at most this often.
const STATS_EVERY: Duration = Duration::from_secs(10);

/// Accept CometBFT's connections until the listener fails; one reader and one handler
/// thread per connection.
pub fn serve(listener: TcpListener, app: App) -> io::Result<()> {
    let mut n = 0u32;
    for stream in listener.incoming() {
        let stream = stream?;
        let peer = stream.peer_addr().map_or_else(|_| "?".to_string(), |a| a.to_string());
        n = n.wrapping_add(1);
        let app = app.clone();
        std::thread::Builder::new().name(format!("abci-conn-{n}")).spawn(move || {
            if let Err(e) = connection(stream, app, n) {
                tracing::info!("ABCI connection from {peer} closed: {e}");
            } else {
                tracing::info!("ABCI connection from {peer} closed");
            }
        })?;
    }
    Ok(())
}

fn connection(stream: TcpStream, app: App, n: u32) -> io::Result<()> {
    stream.set_nodelay(true)?;
    let reader_stream = stream.try_clone()?;
    let closer = stream.try_clone()?;
    let (tx, rx) = sync_channel::<Vec<Request>>(QUEUED_BATCHES);
    let reader = std::thread::Builder::new().name(format!("abci-read-{n}")).spawn(move || read_requests(reader_stream, tx))?;
    let served = handle_requests(stream, rx, &app);
    // The handler stops when the reader does (stream ended, or a malformed request) or
    // a write fails; shutting the stream ends the reader in every case.
    let _ = closer.shutdown(std::net::Shutdown::Both);
    let read = reader.join().unwrap_or_else(|_| Err(io::Error::other("ABCI reader thread panicked")));
    served.and(read)
}

/// Read and decode requests until the stream ends, a request is malformed, or the
/// handler has gone. Each read's complete requests go to the handler as one batch.
fn read_requests(mut stream: TcpStream, tx: SyncSender<Vec<Request>>) -> io::Result<()> {
    let mut buf: Vec<u8> = Vec::with_capacity(1 << 20);
    let mut start = 0usize;
    let mut chunk = vec![0u8; 1 << 20];
    loop {
        let got = match stream.read(&mut chunk) {
            Ok(0) => return Ok(()),
            Ok(got) => got,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        buf.extend_from_slice(&chunk[..got]);
        let mut batch = Vec::new();
        loop {
            match next_frame(&buf[start..]) {
                Ok(Some((header, len))) => {
                    let body = &buf[start + header..start + header + len];
                    let req = Request::decode(body)
                        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("undecodable ABCI request: {e}")))?;
                    batch.push(req);
                    start += header + len;
                }
                Ok(None) => break,
                Err(e) => return Err(e),
            }
        }
        // Keep only the unread tail (a partial request), without copying it per request.
        if start > 0 {
            buf.drain(..start);
            start = 0;
        }
        if !batch.is_empty() && tx.send(batch).is_err() {
            return Ok(());
        }
    }
}

/// The varint header length and body length of the first frame of `b`, if complete.
fn next_frame(b: &[u8]) -> io::Result<Option<(usize, usize)>> {
    let mut len: u64 = 0;
    for (i, byte) in b.iter().enumerate().take(10) {
        len |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            if len > MAX_REQUEST_BYTES {
                return Err(io::Error::new(io::ErrorKind::InvalidData, format!("ABCI request of {len} bytes (limit {MAX_REQUEST_BYTES})")));
            }
            let (header, len) = (i + 1, len as usize);
            return Ok((b.len() >= header + len).then_some((header, len)));
        }
    }
    if b.len() >= 10 {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "ABCI length prefix longer than 10 bytes"));
    }
    Ok(None)
}

#[derive(Default)]
struct Stats {
    requests: u64,
    check_tx: u64,
    rechecks: u64,
    flushes: u64,
    writes: u64,
    busy: Duration,
    since: Option<Instant>,
}

impl Stats {
    fn maybe_log(&mut self, n: &str) {
        let since = *self.since.get_or_insert_with(Instant::now);
        let wall = since.elapsed();
        if wall < STATS_EVERY {
            return;
        }
        if self.requests > 0 {
            tracing::debug!(
                "ABCI {n}: {} requests in {:.1} s ({} CheckTx, {} rechecks, {} flushes), {} writes, busy {:.0}%",
                self.requests,
                wall.as_secs_f64(),
                self.check_tx,
                self.rechecks,
                self.flushes,
                self.writes,
                100.0 * self.busy.as_secs_f64() / wall.as_secs_f64()
            );
        }
        *self = Stats { since: Some(Instant::now()), ..Stats::default() };
    }
}

/// Answer requests in order; write what has been answered whenever the queue is empty
/// (or a chunk has built up).
fn handle_requests(mut stream: TcpStream, rx: Receiver<Vec<Request>>, app: &App) -> io::Result<()> {
    let name = std::thread::current().name().unwrap_or("abci-conn").to_string();
    let mut out: Vec<u8> = Vec::with_capacity(1 << 16);
    let mut stats = Stats::default();
    loop {
        let mut batch = match rx.recv() {
            Ok(b) => b,
            Err(_) => return Ok(()),
        };
        loop {
            let t = Instant::now();
            // Verify the queued CheckTx signatures on all cores before answering in order.
            let fresh: Vec<&[u8]> = batch
                .iter()
                .filter_map(|r| match &r.value {
                    Some(request::Value::CheckTx(c)) if c.r#type == CheckTxType::New as i32 => Some(c.tx.as_ref()),
                    _ => None,
                })
                .collect();
            if fresh.len() >= PREVERIFY_MIN {
                app.preverify_check_txs(&fresh);
            }
            for req in batch {
                stats.requests += 1;
                match &req.value {
                    Some(request::Value::CheckTx(c)) if c.r#type == CheckTxType::Recheck as i32 => stats.rechecks += 1,
                    Some(request::Value::CheckTx(_)) => stats.check_tx += 1,
                    Some(request::Value::Flush(_)) => stats.flushes += 1,
                    _ => {}
                }
                let resp = dispatch(app, req);
                resp.encode_length_delimited(&mut out).map_err(|e| io::Error::other(format!("encoding an ABCI response: {e}")))?;
            }
            stats.busy += t.elapsed();
            if out.len() >= WRITE_CHUNK {
                stream.write_all(&out)?;
                stats.writes += 1;
                out.clear();
            }
            batch = match rx.try_recv() {
                Ok(b) => b,
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    stream.write_all(&out)?;
                    return Ok(());
                }
            };
        }
        if !out.is_empty() {
            stream.write_all(&out)?;
            stats.writes += 1;
            out.clear();
        }
        stats.maybe_log(&name);
    }
}

/// The `Application` method for `req`; a request without a value (no such thing comes
/// from CometBFT) is answered with an exception rather than a panic.
fn dispatch(app: &App, req: Request) -> Response {
    use request::Value as Q;
    use response::Value as R;
    let value = match req.value {
        None => R::Exception(ResponseException { error: "empty ABCI request".to_string() }),
        Some(Q::Echo(r)) => R::Echo(Application::echo(app, r)),
        Some(Q::Flush(_)) => R::Flush(Application::flush(app)),
        Some(Q::Info(r)) => R::Info(Application::info(app, r)),
        Some(Q::InitChain(r)) => match app.abci_init_chain(r) {
            Ok(resp) => R::InitChain(resp),
            // Refused (a second InitChain): answered, not obeyed, and the node runs on.
            Err(e) if super::init_chain_refused(&e) => {
                tracing::warn!("{}", e.message);
                R::Exception(ResponseException { error: e.message })
            }
            Err(e) => super::fault("InitChain", None, &e),
        },
        Some(Q::Query(r)) => R::Query(Application::query(app, r)),
        Some(Q::CheckTx(r)) => R::CheckTx(Application::check_tx(app, r)),
        Some(Q::Commit(_)) => R::Commit(Application::commit(app)),
        Some(Q::ListSnapshots(_)) => R::ListSnapshots(Application::list_snapshots(app)),
        Some(Q::OfferSnapshot(r)) => R::OfferSnapshot(Application::offer_snapshot(app, r)),
        Some(Q::LoadSnapshotChunk(r)) => R::LoadSnapshotChunk(Application::load_snapshot_chunk(app, r)),
        Some(Q::ApplySnapshotChunk(r)) => R::ApplySnapshotChunk(Application::apply_snapshot_chunk(app, r)),
        Some(Q::PrepareProposal(r)) => R::PrepareProposal(Application::prepare_proposal(app, r)),
        Some(Q::ProcessProposal(r)) => R::ProcessProposal(Application::process_proposal(app, r)),
        Some(Q::ExtendVote(r)) => R::ExtendVote(Application::extend_vote(app, r)),
        Some(Q::VerifyVoteExtension(r)) => R::VerifyVoteExtension(Application::verify_vote_extension(app, r)),
        Some(Q::FinalizeBlock(r)) => R::FinalizeBlock(Application::finalize_block(app, r)),
    };
    Response { value: Some(value) }
}

#[cfg(test)]
mod tests {
    use super::next_frame;

    #[test]
    fn frames_are_found_only_when_complete_and_oversized_lengths_are_refused() {
        assert_eq!(next_frame(&[]).unwrap(), None);
        assert_eq!(next_frame(&[3, 1, 2]).unwrap(), None);
        assert_eq!(next_frame(&[3, 1, 2, 3, 9]).unwrap(), Some((1, 3)));
        // 300 = 0b1_0010_1100: two header bytes.
        assert_eq!(next_frame(&[0xac, 0x02]).unwrap(), None);
        let mut b = vec![0xac, 0x02];
        b.extend(std::iter::repeat_n(0u8, 300));
        assert_eq!(next_frame(&b).unwrap(), Some((2, 300)));
        // A partial varint waits; a length above the limit or an 11-byte varint is refused.
        assert_eq!(next_frame(&[0x80]).unwrap(), None);
        assert!(next_frame(&[0x80, 0x80, 0x80, 0x80, 0x80, 0x01]).is_err());
        assert!(next_frame(&[0xff; 11]).is_err());
    }
}
