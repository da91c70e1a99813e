//! The gRPC and REST servers run on a tokio runtime of their own, whose threads (workers
//! and the blocking pool its store reads use) run at a lower OS priority than block
//! execution: however many queries arrive, the kernel gives FinalizeBlock, Commit and the
//! proposal checks the CPU first. Together with the gate's in-flight bound
//! (`limits.rs`), public load cannot starve the consensus connection.
use std::io;

/// The nice value of every RPC thread (block execution runs at the process's, usually
/// 0): the lowest, so under contention the scheduler gives them about 1.5% of a core's
/// share each (CFS weight 15 against 1024).
pub const RPC_NICE: i32 = 19;

/// Worker threads of the RPC runtime; its blocking pool (store reads) is bounded too.
const RPC_WORKERS: usize = 2;
const RPC_BLOCKING_THREADS: usize = 32;

/// The runtime the public servers are spawned on; `stop` (or dropping it) stops them.
pub struct RpcRuntime {
    handle: tokio::runtime::Handle,
    /// Taken by `stop` or `drop`.
    rt: std::sync::Mutex<Option<tokio::runtime::Runtime>>,
}

impl RpcRuntime {
    pub fn new() -> io::Result<RpcRuntime> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(RPC_WORKERS)
            .max_blocking_threads(RPC_BLOCKING_THREADS)
            .thread_name("rpc")
            .enable_all()
            .on_thread_start(lower_priority)
            .build()?;
        Ok(RpcRuntime { handle: rt.handle().clone(), rt: std::sync::Mutex::new(Some(rt)) })
    }

    pub fn handle(&self) -> &tokio::runtime::Handle {
        &self.handle
    }

    /// Stop the servers and wait up to `timeout` for the work in flight (a store read in
    /// the blocking pool): before a process exits, so that no RPC thread is still inside
    /// RocksDB while its static state is torn down. Not from async code (it blocks).
    pub fn stop(&self, timeout: std::time::Duration) {
        if let Some(rt) = self.rt.lock().ok().and_then(|mut r| r.take()) {
            rt.shutdown_timeout(timeout);
        }
    }
}

impl Drop for RpcRuntime {
    fn drop(&mut self) {
        // Dropped from async code too (a node stopping): never block here.
        if let Some(rt) = self.rt.get_mut().ok().and_then(|r| r.take()) {
            rt.shutdown_background();
        }
    }
}

/// Lower the calling thread's priority to `RPC_NICE`. On Linux a nice value belongs to
/// a thread (`setpriority` on its thread id). A failure leaves the thread as it was:
/// the in-flight bound still holds.
pub fn lower_priority() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: gettid and setpriority take plain integers and touch no memory.
        let rc = unsafe {
            let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
            libc::setpriority(libc::PRIO_PROCESS, tid, RPC_NICE)
        };
        if rc != 0 {
            tracing::warn!("could not lower an RPC thread's priority: {}", io::Error::last_os_error());
        }
    }
}
