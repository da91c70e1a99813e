//! The allocator `openledgerd` (and the benchmarks) run with: mimalloc, with freed
//! memory kept mapped across blocks.
//!
//! Block execution allocates many small strings (events) and buffers (protobuf, JMT
//! nodes, the stream record); mimalloc measured faster than the system allocator there.
//! By default it returns memory that has been free for 1 s to the OS, and a node that
//! finalizes a block about once a second then faults the same pages back in, zeroed by
//! the kernel, every block: in the transfer benchmark ≈ 35,000 page faults per 40,000
//! transfers, about a tenth of the non-signature CPU of a block (BENCHMARKS.md). Keeping
//! freed memory for `PURGE_DELAY_MS` holds a block's working set between blocks and
//! still returns it after a spike (a large query, a long catch-up) once idle.

/// The global allocator type; binaries declare `#[global_allocator] static GLOBAL:
/// Allocator = Allocator;` and call [`configure`] first thing in `main`.
pub use mimalloc::MiMalloc as Allocator;

/// `mi_option_purge_delay` in the bundled mimalloc v3's `mi_option_e`
/// (libmimalloc-sys `c_src/mimalloc/v3/include/mimalloc.h`; default 1000 ms).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// How long freed memory stays mapped before mimalloc purges it, in milliseconds.
pub const PURGE_DELAY_MS: i64 = 10_000;

/// Apply the node's allocator settings. Call before the first block runs.
pub fn configure() {
    // SAFETY: mi_option_set writes one option word; any value is valid for purge_delay.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, PURGE_DELAY_MS as _) }
}

/// The current purge delay (ms), as mimalloc reports it.
pub fn purge_delay_ms() -> i64 {
    // SAFETY: reads one option word.
    let ms: std::os::raw::c_long = unsafe { libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY) };
    ms as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The option index is mimalloc's `purge_delay`: before `configure` it holds that
    /// option's documented default (1000 ms), and its neighbours hold theirs; after,
    /// the node's value.
    #[test]
    fn configure_sets_mimallocs_purge_delay() {
        // SAFETY: option reads.
        let (eager_commit_delay, use_numa_nodes) = unsafe { (libmimalloc_sys::mi_option_get(14), libmimalloc_sys::mi_option_get(16)) };
        let before = purge_delay_ms();
        assert!(before == 1000 || before == PURGE_DELAY_MS, "option 15 is not purge_delay: {before}");
        assert_eq!((eager_commit_delay, use_numa_nodes), (1, 0), "mimalloc's option table moved");
        configure();
        assert_eq!(purge_delay_ms(), PURGE_DELAY_MS);
    }
}
