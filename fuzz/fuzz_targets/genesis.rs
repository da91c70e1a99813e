//! Genesis parsing and InitChain: arbitrary `app_state` JSON is read, and if it parses,
//! written into a fresh store. Every failure is an error with a code, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fn rt() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("runtime"))
}

fuzz_target!(|data: &[u8]| {
    if openledger_app::genesis::AppState::from_json(data).is_err() {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let rt = rt();
    let storage = rt.block_on(openledger_app::open_storage(dir.path().join("state"))).expect("store");
    let app = openledger_app::App::new(storage.clone(), rt.handle().clone(), Default::default());
    let _ = rt.block_on(app.init_chain("fuzz-chain", data));
    drop(app);
    rt.block_on(storage.release());
});
