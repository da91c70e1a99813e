//! The ABCI socket server: CometBFT's connections (consensus, mempool, query, snapshot)
//! to `openledgerd`, each a stream (a Unix socket by default, TCP opt-in) of
//! varint-length-delimited `Request`s answered in order by `Response`s. Only what
//! CometBFT opens is served: four connections at once, consensus requests on one of
//! them, and a failed `accept` never stops the listener. The application side is `tendermint_abci::Application` (abci.rs);
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
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TryRecvError};
use std::sync::Arc;
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
/// CometBFT opens four connections (query, snapshot, mempool, consensus): more at once
/// are refused.
pub const MAX_CONNECTIONS: usize = 4;
/// After a failed `accept` (out of file descriptors, say), wait this long and go on.
const ACCEPT_RETRY: Duration = Duration::from_millis(100);

/// Where the ABCI server listens: `unix://PATH` (the default, `<home>/data/abci.sock`:
/// only this node's user can connect) or `tcp://HOST:PORT` / `HOST:PORT` (opt-in).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AbciAddr {
    Unix(PathBuf),
    Tcp(String),
}

impl AbciAddr {
    /// Parse an address; a relative Unix path is taken relative to `home`.
    pub fn parse(s: &str, home: &Path) -> AbciAddr {
        match s.strip_prefix("unix://") {
            Some(p) if Path::new(p).is_absolute() => AbciAddr::Unix(PathBuf::from(p)),
            Some(p) => AbciAddr::Unix(home.join(p)),
            None => AbciAddr::Tcp(s.strip_prefix("tcp://").unwrap_or(s).to_string()),
        }
    }

    /// The address as CometBFT's `proxy_app` names it.
    pub fn proxy_app(&self) -> String {
        match self {
            AbciAddr::Unix(p) => format!("unix://{}", p.display()),
            AbciAddr::Tcp(a) => format!("tcp://{a}"),
        }
    }
}

/// A bound ABCI listener.
pub enum Listener {
    Unix(UnixListener, PathBuf),
    Tcp(TcpListener),
}

impl Listener {
    /// Bind `addr`. A Unix socket file left by an earlier run is replaced if nothing
    /// listens on it (refused if something does), and made readable and writable by
    /// this user only.
    pub fn bind(addr: &AbciAddr) -> io::Result<Listener> {
        match addr {
            AbciAddr::Tcp(a) => Ok(Listener::Tcp(TcpListener::bind(a.as_str())?)),
            AbciAddr::Unix(path) => {
                if path.exists() {
                    if UnixStream::connect(path).is_ok() {
                        return Err(io::Error::new(io::ErrorKind::AddrInUse, format!("{} is in use by another process", path.display())));
                    }
                    std::fs::remove_file(path)?;
                }
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir)?;
                }
                let l = UnixListener::bind(path)?;
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
                Ok(Listener::Unix(l, path.clone()))
            }
        }
    }

    /// What it listens on, as `proxy_app` names it.
    pub fn address(&self) -> io::Result<String> {
        Ok(match self {
            Listener::Unix(_, p) => format!("unix://{}", p.display()),
            Listener::Tcp(l) => l.local_addr()?.to_string(),
        })
    }

    fn accept(&self) -> io::Result<(Conn, String)> {
        match self {
            Listener::Unix(l, p) => l.accept().map(|(s, _)| (Conn::Unix(s), p.display().to_string())),
            Listener::Tcp(l) => l.accept().map(|(s, a)| (Conn::Tcp(s), a.to_string())),
        }
    }
}

/// One CometBFT connection.
enum Conn {
    Unix(UnixStream),
    Tcp(TcpStream),
}

impl Conn {
    fn try_clone(&self) -> io::Result<Conn> {
        Ok(match self {
            Conn::Unix(s) => Conn::Unix(s.try_clone()?),
            Conn::Tcp(s) => Conn::Tcp(s.try_clone()?),
        })
    }

    fn shutdown(&self) {
        let _ = match self {
            Conn::Unix(s) => s.shutdown(std::net::Shutdown::Both),
            Conn::Tcp(s) => s.shutdown(std::net::Shutdown::Both),
        };
    }
}

impl Read for Conn {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Conn::Unix(s) => s.read(buf),
            Conn::Tcp(s) => s.read(buf),
        }
    }
}

impl Write for Conn {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Conn::Unix(s) => s.write(buf),
            Conn::Tcp(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Conn::Unix(s) => s.flush(),
            Conn::Tcp(s) => s.flush(),
        }
    }
}

/// What the connections share: how many are open, and which one (if any) carries the
/// consensus requests (InitChain, PrepareProposal, ProcessProposal, FinalizeBlock,
/// Commit): the first to send one. Another connection sending one gets an exception
/// instead — only CometBFT's consensus connection drives the chain.
#[derive(Default)]
struct Shared {
    open: AtomicUsize,
    /// 0: unclaimed; otherwise the connection number.
    consensus: AtomicU32,
}

/// Accept CometBFT's connections, forever: a failed `accept` is logged and retried;
/// beyond `MAX_CONNECTIONS` open at once a connection is closed at once. One reader and
/// one handler thread per connection.
pub fn serve(listener: Listener, app: App) -> io::Result<()> {
    let shared = Arc::new(Shared::default());
    let mut n = 0u32;
    loop {
        let (stream, peer) = match listener.accept() {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!("ABCI accept failed: {e}; retrying");
                std::thread::sleep(ACCEPT_RETRY);
                continue;
            }
        };
        if shared.open.fetch_add(1, Ordering::SeqCst) >= MAX_CONNECTIONS {
            shared.open.fetch_sub(1, Ordering::SeqCst);
            tracing::warn!("ABCI connection from {peer} refused: {MAX_CONNECTIONS} are open (CometBFT opens {MAX_CONNECTIONS})");
            stream.shutdown();
            continue;
        }
        n = n.wrapping_add(1).max(1);
        let (app, shared) = (app.clone(), shared.clone());
        let spawned = std::thread::Builder::new().name(format!("abci-conn-{n}")).spawn(move || {
            match connection(stream, app, n, &shared) {
                Err(e) => tracing::info!("ABCI connection from {peer} closed: {e}"),
                Ok(()) => tracing::info!("ABCI connection from {peer} closed"),
            }
            // A consensus connection that closed frees the role for CometBFT's next one.
            let _ = shared.consensus.compare_exchange(n, 0, Ordering::SeqCst, Ordering::SeqCst);
            shared.open.fetch_sub(1, Ordering::SeqCst);
        });
        if let Err(e) = spawned {
            tracing::warn!("ABCI connection from a new client dropped: cannot start its thread: {e}");
        }
    }
}

fn connection(stream: Conn, app: App, n: u32, shared: &Shared) -> io::Result<()> {
    if let Conn::Tcp(s) = &stream {
        s.set_nodelay(true)?;
    }
    let reader_stream = stream.try_clone()?;
    let closer = stream.try_clone()?;
    let (tx, rx) = sync_channel::<Vec<Request>>(QUEUED_BATCHES);
    let reader = std::thread::Builder::new().name(format!("abci-read-{n}")).spawn(move || read_requests(reader_stream, tx))?;
    let served = handle_requests(stream, rx, &app, n, shared);
    // The handler stops when the reader does (stream ended, or a malformed request) or
    // a write fails; shutting the stream ends the reader in every case.
    closer.shutdown();
    let read = reader.join().unwrap_or_else(|_| Err(io::Error::other("ABCI reader thread panicked")));
    served.and(read)
}

/// Read and decode requests until the stream ends, a request is malformed, or the
/// handler has gone. Each read's complete requests go to the handler as one batch.
fn read_requests(mut stream: Conn, tx: SyncSender<Vec<Request>>) -> io::Result<()> {
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
        let (batch, used) = parse_frames(&buf[start..])?;
        start += used;
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

/// The complete requests at the start of `b`, and the bytes they take (a partial one
/// after them waits for more bytes). A frame over the size limit, a length prefix over
/// 10 bytes or bytes that are not a `Request` are an error: the connection closes.
pub fn parse_frames(b: &[u8]) -> io::Result<(Vec<Request>, usize)> {
    let mut out = Vec::new();
    let mut start = 0;
    while let Some((header, len)) = next_frame(&b[start..])? {
        let body = &b[start + header..start + header + len];
        let req =
            Request::decode(body).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("undecodable ABCI request: {e}")))?;
        out.push(req);
        start += header + len;
    }
    Ok((out, start))
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
fn handle_requests(mut stream: Conn, rx: Receiver<Vec<Request>>, app: &App, n: u32, shared: &Shared) -> io::Result<()> {
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
                let resp = if is_consensus(&req) && !claims_consensus(shared, n) {
                    let owner = shared.consensus.load(Ordering::SeqCst);
                    tracing::warn!("ABCI connection {n} sent a consensus request; connection {owner} is the consensus connection: refused");
                    Response {
                        value: Some(response::Value::Exception(ResponseException {
                            error: format!("consensus requests are served on ABCI connection {owner} only"),
                        })),
                    }
                } else {
                    dispatch(app, req)
                };
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

/// Requests that drive the chain (CometBFT sends them on its consensus connection).
fn is_consensus(req: &Request) -> bool {
    use request::Value as Q;
    matches!(
        req.value,
        Some(
            Q::InitChain(_)
                | Q::PrepareProposal(_)
                | Q::ProcessProposal(_)
                | Q::FinalizeBlock(_)
                | Q::Commit(_)
                | Q::ExtendVote(_)
                | Q::VerifyVoteExtension(_)
        )
    )
}

/// Whether connection `n` is (or now becomes) the consensus connection.
fn claims_consensus(shared: &Shared, n: u32) -> bool {
    match shared.consensus.compare_exchange(0, n, Ordering::SeqCst, Ordering::SeqCst) {
        Ok(_) => true,
        Err(owner) => owner == n,
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
