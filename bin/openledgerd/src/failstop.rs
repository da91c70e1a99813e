//! Fail-stop: a panic anywhere in the node — a handler, a gRPC task, the storage layer —
//! stops the process at once, with a log line that says so, instead of unwinding one
//! thread while the others (and CometBFT, waiting on the ABCI socket) carry on. The
//! state store is never written outside Commit's one atomic batch, so stopping at any
//! point loses nothing committed; restarted, CometBFT's handshake replays the rest.
//!
//! One place expects a panic and survives it: opening a store another process holds
//! (cnidarium panics on RocksDB's lock), inside `expecting_panics`, before the node runs.
use std::sync::atomic::{AtomicBool, Ordering};

static EXPECTING: AtomicBool = AtomicBool::new(false);

/// Install the hook: log the panic, print the default report, and abort.
pub fn install() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if EXPECTING.load(Ordering::SeqCst) {
            return;
        }
        let thread = std::thread::current().name().unwrap_or("unnamed").to_string();
        tracing::error!(
            "FATAL: panic in thread {thread}: {info}; stopping the node (nothing uncommitted is kept; restart it once the cause is fixed)"
        );
        default(info);
        std::process::abort();
    }));
}

/// Run `f` with panics unwinding as usual (the caller turns them into errors).
pub async fn expecting_panics<T>(f: impl std::future::Future<Output = T>) -> T {
    EXPECTING.store(true, Ordering::SeqCst);
    let out = f.await;
    EXPECTING.store(false, Ordering::SeqCst);
    out
}
