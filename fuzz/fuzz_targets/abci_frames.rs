//! The ABCI socket's frame decoder (varint length prefixes, then `Request`s): any bytes
//! give requests, a wait for more, or an error that closes the connection — no panic,
//! and never more consumed than was given.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok((_, used)) = openledger_app::abci::server::parse_frames(data) {
        assert!(used <= data.len());
    }
});
