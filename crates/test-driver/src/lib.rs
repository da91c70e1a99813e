//! An in-process ABCI 2.0 consensus driver: drives the real `App` (real cnidarium on
//! RocksDB in a temporary directory) through InitChain → FinalizeBlock → Commit using
//! the same `tendermint_abci::Application` calls CometBFT makes. Integration tests and
//! the benchmarks use it; after every block it checks every registered module's
//! invariants (token conservation, the attribution books, …). Tests only: the
//! production library does not contain it.
#![allow(clippy::unwrap_used, clippy::expect_used)]
use std::path::{Path, PathBuf};

use openledger_client::txbuilder::{self, SignerKey, TxSpec};
use openledger_framework::Address;
use openledger_proto::cosmos::auth::v1beta1 as auth;
use openledger_proto::cosmos::bank::v1beta1 as bank;
use openledger_proto::openledger::auth::v1::GenesisAccount;
use openledger_proto::openledger::token::v1::{GenesisBalance, GenesisCoin, ValidatorAccount};
use prost::Message;
use sha2::{Digest, Sha256};
use tendermint_abci::Application;
use tendermint_proto::v0_38::abci as pb;

use openledger_app::genesis::{default_auth_params, AppState};
use openledger_app::{App, NodeSettings};

pub const TEST_CHAIN_ID: &str = "openledger-test";

/// A deterministic secp256k1 key for test account `i`.
pub fn test_key(i: u64) -> SignerKey {
    let mut seed = Sha256::digest(format!("openledger test key {i}").as_bytes());
    loop {
        if let Ok(k) = k256::ecdsa::SigningKey::from_slice(&seed) {
            return SignerKey::Secp256k1(k);
        }
        seed = Sha256::digest(seed);
    }
}

/// A deterministic ed25519 key for test account `i`.
pub fn test_ed25519_key(i: u64) -> SignerKey {
    let seed: [u8; 32] = Sha256::digest(format!("openledger ed25519 test key {i}").as_bytes()).into();
    SignerKey::Ed25519(ed25519_dalek::SigningKey::from_bytes(&seed))
}

/// A validator of the simulated network: consensus address and power.
#[derive(Clone, Debug)]
pub struct TestValidator {
    pub consensus_address: [u8; 20],
    pub power: i64,
    pub operator: Address,
}

pub struct TestNodeBuilder {
    funded: Vec<(SignerKey, u128)>,
    validators: Vec<TestValidator>,
    min_gas_price_atto: u128,
    stream_retain_blocks: u64,
    retain_blocks: u64,
    stream_max_subscribers: u64,
    no_memory_index: bool,
    no_caches: bool,
    failpoints: Vec<openledger_app::failpoint::Failpoint>,
    rpc: openledger_app::rpc::limits::RpcLimits,
    dir: Option<PathBuf>,
    app_state: Option<AppState>,
}

impl TestNodeBuilder {
    /// Use this genesis `app_state` (start from `app_state()` and change it).
    pub fn with_app_state(mut self, s: AppState) -> Self {
        self.app_state = Some(s);
        self
    }

    /// Accounts 0..n (from `test_key`), each funded with `amount`.
    pub fn funded_accounts(mut self, n: u64, amount: u128) -> Self {
        self.funded.extend((0..n).map(|i| (test_key(i), amount)));
        self
    }

    pub fn fund(mut self, key: SignerKey, amount: u128) -> Self {
        self.funded.push((key, amount));
        self
    }

    pub fn validator(mut self, v: TestValidator) -> Self {
        self.validators.push(v);
        self
    }

    pub fn min_gas_price_atto(mut self, p: u128) -> Self {
        self.min_gas_price_atto = p;
        self
    }

    /// `[pruning] keep_blocks` as CometBFT sees it: Commit's `retain_height` keeps the
    /// latest `n` blocks (0: all).
    pub fn retain_blocks(mut self, n: u64) -> Self {
        self.retain_blocks = n;
        self
    }

    /// `[stream] retain_blocks`: the block log keeps the latest `n` blocks (0: all).
    pub fn stream_retain_blocks(mut self, n: u64) -> Self {
        self.stream_retain_blocks = n;
        self
    }

    /// `[stream] max_subscribers` (0: no limit, the default here).
    pub fn stream_max_subscribers(mut self, n: u64) -> Self {
        self.stream_max_subscribers = n;
        self
    }

    /// Read the fingerprint index (and any memory prefix) from storage only, as a node
    /// without the in-memory copy does.
    pub fn no_memory_index(mut self) -> Self {
        self.no_memory_index = true;
        self
    }

    /// Every performance cache off (`NodeSettings::no_caches`).
    pub fn no_caches(mut self) -> Self {
        self.no_caches = true;
        self
    }

    /// Arm injected faults (`openledger_app::failpoint`), e.g. `"commit:error@3"`.
    pub fn failpoints(mut self, spec: &str) -> Self {
        self.failpoints = openledger_app::failpoint::parse(spec).expect("failpoint spec");
        self
    }

    /// Bounds on the gRPC and REST servers a test starts on this node.
    pub fn rpc_limits(mut self, limits: openledger_app::rpc::limits::RpcLimits) -> Self {
        self.rpc = limits;
        self
    }

    /// Store the chain in `dir` (kept), instead of a fresh temporary directory.
    pub fn dir(mut self, dir: &Path) -> Self {
        self.dir = Some(dir.to_path_buf());
        self
    }

    pub fn app_state(&self) -> AppState {
        if let Some(s) = &self.app_state {
            return s.clone();
        }
        let mut s = AppState::default();
        s.auth.params = Some(default_auth_params());
        s.token.params = Some(openledger_token::component::default_params());
        for (k, amount) in &self.funded {
            s.auth.accounts.push(GenesisAccount { address: k.address().to_string(), ..Default::default() });
            s.token.balances.push(GenesisBalance {
                address: k.address().to_string(),
                coins: vec![GenesisCoin { denom: "uopen".into(), amount: amount.to_string() }],
            });
        }
        for v in &self.validators {
            s.token.validator_accounts.push(ValidatorAccount {
                consensus_address: hex::encode_upper(v.consensus_address),
                operator_address: v.operator.to_string(),
            });
        }
        s
    }

    pub fn build(self) -> TestNode {
        let app_state = serde_json::to_vec(&self.app_state()).expect("genesis serialises");
        let (dir, tmp) = match &self.dir {
            Some(d) => (d.clone(), None),
            None => {
                let t = tempfile::tempdir().expect("tempdir");
                (t.path().to_path_buf(), Some(t))
            }
        };
        let settings = NodeSettings {
            min_gas_price_atto: self.min_gas_price_atto,
            stream_retain_blocks: self.stream_retain_blocks,
            retain_blocks: self.retain_blocks,
            stream_max_subscribers: self.stream_max_subscribers,
            no_memory_index: self.no_memory_index,
            no_caches: self.no_caches,
            failpoints: self.failpoints.clone(),
            rpc: self.rpc.clone(),
        };
        let mut node = TestNode::open(&dir, tmp, settings, self.validators.clone());
        let resp = Application::init_chain(
            &node.app,
            pb::RequestInitChain {
                chain_id: TEST_CHAIN_ID.into(),
                app_state_bytes: app_state.into(),
                initial_height: 1,
                ..Default::default()
            },
        );
        node.genesis_app_hash = resp.app_hash.to_vec();
        node
    }
}

/// A node's gRPC and REST servers on free loopback ports (`TestNode::serve_rpc`); they
/// stop when this is dropped.
pub struct RpcServers {
    pub grpc: std::net::SocketAddr,
    pub rest: std::net::SocketAddr,
    _stop: Vec<tokio::sync::oneshot::Sender<()>>,
}

fn free_port() -> std::net::SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr")
}

fn wait_listening(addr: std::net::SocketAddr) {
    for _ in 0..200 {
        if std::net::TcpStream::connect(addr).is_ok() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    panic!("{addr} never listened");
}

/// See `TestNode::module_state`.
#[derive(Debug, Default, PartialEq)]
pub struct ModuleState {
    pub verifiable: std::collections::BTreeMap<String, Vec<u8>>,
    pub nonverifiable: std::collections::BTreeMap<Vec<u8>, Vec<u8>>,
}

pub struct TestNode {
    pub app: App,
    rt: Option<tokio::runtime::Runtime>,
    pub dir: PathBuf,
    _tmp: Option<tempfile::TempDir>,
    pub height: u64,
    pub genesis_app_hash: Vec<u8>,
    pub app_hashes: Vec<Vec<u8>>,
    pub validators: Vec<TestValidator>,
    settings: NodeSettings,
    /// Block time advances one second per block from this fixed start (never wall-clock).
    pub time_seconds: i64,
    /// What the last Commit told CometBFT it may prune below.
    pub last_retain_height: i64,
}

impl TestNode {
    pub fn builder() -> TestNodeBuilder {
        TestNodeBuilder {
            funded: vec![],
            validators: vec![],
            min_gas_price_atto: 0,
            stream_retain_blocks: 0,
            retain_blocks: 0,
            stream_max_subscribers: 0,
            no_memory_index: false,
            no_caches: false,
            failpoints: vec![],
            rpc: Default::default(),
            dir: None,
            app_state: None,
        }
    }

    fn open(dir: &Path, tmp: Option<tempfile::TempDir>, settings: NodeSettings, validators: Vec<TestValidator>) -> TestNode {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
        let storage = rt.block_on(openledger_app::open_storage(dir.join("state"))).expect("storage");
        let app = App::new(storage, rt.handle().clone(), settings.clone());
        let info = Application::info(&app, pb::RequestInfo::default());
        TestNode {
            app,
            rt: Some(rt),
            dir: dir.to_path_buf(),
            _tmp: tmp,
            height: info.last_block_height as u64,
            genesis_app_hash: vec![],
            app_hashes: vec![],
            validators,
            settings,
            time_seconds: 1_700_000_000,
            last_retain_height: 0,
        }
    }

    /// Simulate a crash and restart: drop the app and its storage, reopen the same
    /// directory, and handshake through Info.
    pub fn restart(self) -> TestNode {
        self.restart_with(|_| {})
    }

    /// `restart`, with the node's settings changed first (a fault fixed, say).
    pub fn restart_with(self, change: impl FnOnce(&mut NodeSettings)) -> TestNode {
        self.restart_after(change, |_| {})
    }

    /// `restart_with`, and `offline` run on the state store's directory while the store
    /// is closed (an operator's hands on a stopped node's disk).
    pub fn restart_after(mut self, change: impl FnOnce(&mut NodeSettings), offline: impl FnOnce(&Path)) -> TestNode {
        change(&mut self.settings);
        let tmp = self._tmp.take();
        let dir = self.dir.clone();
        let hashes = std::mem::take(&mut self.app_hashes);
        let genesis = std::mem::take(&mut self.genesis_app_hash);
        let validators = self.validators.clone();
        let p = self.settings.clone();
        let time = self.time_seconds;
        self.release();
        offline(&dir.join("state"));
        let mut node = TestNode::open(&dir, tmp, p, validators);
        node.app_hashes = hashes;
        node.genesis_app_hash = genesis;
        node.time_seconds = time;
        node
    }

    pub fn rt(&self) -> &tokio::runtime::Runtime {
        self.rt.as_ref().expect("runtime present")
    }

    fn last_commit(&self) -> Option<pb::CommitInfo> {
        if self.height == 0 {
            return None;
        }
        Some(pb::CommitInfo {
            round: 0,
            votes: self
                .validators
                .iter()
                .map(|v| pb::VoteInfo {
                    validator: Some(pb::Validator { address: v.consensus_address.to_vec().into(), power: v.power }),
                    block_id_flag: tendermint_proto::v0_38::types::BlockIdFlag::Commit as i32,
                })
                .collect(),
        })
    }

    /// FinalizeBlock only (no Commit): for crash tests.
    pub fn finalize_only(&mut self, txs: Vec<Vec<u8>>) -> pb::ResponseFinalizeBlock {
        Application::finalize_block(
            &self.app,
            pb::RequestFinalizeBlock {
                txs: txs.into_iter().map(Into::into).collect(),
                decided_last_commit: self.last_commit(),
                height: (self.height + 1) as i64,
                time: Some(tendermint_proto::google::protobuf::Timestamp { seconds: self.time_seconds + 1, nanos: 0 }),
                ..Default::default()
            },
        )
    }

    /// One block: ProcessProposal must accept, FinalizeBlock, Commit; then the
    /// conservation invariant is checked on the committed state.
    pub fn execute_block(&mut self, txs: Vec<Vec<u8>>) -> pb::ResponseFinalizeBlock {
        let pp = Application::process_proposal(
            &self.app,
            pb::RequestProcessProposal {
                txs: txs.iter().cloned().map(Into::into).collect(),
                height: (self.height + 1) as i64,
                ..Default::default()
            },
        );
        if pp.status != pb::response_process_proposal::ProposalStatus::Accept as i32 {
            let why = self.rt().block_on(self.app.vet_proposal(&txs, openledger_app::exec::proposal::Vet::Process));
            panic!("proposal rejected at height {}: {why:?}", self.height + 1);
        }
        self.execute_block_unchecked(txs)
    }

    /// As `execute_block` but without ProcessProposal (a block CometBFT decided anyway).
    pub fn execute_block_unchecked(&mut self, txs: Vec<Vec<u8>>) -> pb::ResponseFinalizeBlock {
        let resp = self.execute_block_no_invariant(txs);
        let snap = self.app.storage().latest_snapshot();
        if let Err(e) = self.rt().block_on(openledger_app::registry::check_invariants(&snap)) {
            panic!("invariant broken after block {}: {e}", self.height);
        }
        self.rt().block_on(no_nonverifiable_keys_in_substores(&snap));
        resp
    }

    /// FinalizeBlock + Commit only: what a validator does per block (the benchmark's unit).
    pub fn execute_block_no_invariant(&mut self, txs: Vec<Vec<u8>>) -> pb::ResponseFinalizeBlock {
        let resp = self.finalize_only(txs);
        self.commit();
        self.app_hashes.push(resp.app_hash.to_vec());
        resp
    }

    pub fn commit(&mut self) {
        self.last_retain_height = Application::commit(&self.app).retain_height;
        self.height += 1;
        self.time_seconds += 1;
    }

    /// Serve this node's gRPC and REST (no CometBFT behind them) until the result drops.
    pub fn serve_rpc(&self) -> RpcServers {
        let (grpc, rest) = (free_port(), free_port());
        let (stop_grpc, rx_grpc) = tokio::sync::oneshot::channel::<()>();
        let (stop_rest, rx_rest) = tokio::sync::oneshot::channel::<()>();
        // As a node serves them: on the app's low-priority RPC runtime.
        let runtime = self.app.rpc_runtime();
        runtime.spawn(openledger_app::rpc::grpc::serve(self.app.clone(), grpc, async {
            let _ = rx_grpc.await;
        }));
        runtime.spawn(openledger_app::rpc::rest::serve(self.app.clone(), rest, None, async {
            let _ = rx_rest.await;
        }));
        wait_listening(grpc);
        wait_listening(rest);
        RpcServers { grpc, rest, _stop: vec![stop_grpc, stop_rest] }
    }

    pub fn check_tx(&self, tx: &[u8]) -> pb::ResponseCheckTx {
        Application::check_tx(&self.app, pb::RequestCheckTx { tx: tx.to_vec().into(), r#type: pb::CheckTxType::New as i32 })
    }

    pub fn query(&self, path: &str, data: Vec<u8>, height: u64) -> pb::ResponseQuery {
        Application::query(&self.app, pb::RequestQuery { data: data.into(), path: path.into(), height: height as i64, prove: false })
    }

    pub fn balance_at(&self, addr: &Address, height: u64) -> u128 {
        let r = self.query(
            "/cosmos.bank.v1beta1.Query/Balance",
            bank::QueryBalanceRequest { address: addr.to_string(), denom: "uopen".into() }.encode_to_vec(),
            height,
        );
        assert_eq!(r.code, 0, "balance query failed: {}", r.log);
        let resp = bank::QueryBalanceResponse::decode(r.value.as_ref()).expect("decode");
        resp.balance.expect("coin").amount.parse().expect("amount")
    }

    pub fn balance(&self, addr: &Address) -> u128 {
        self.balance_at(addr, 0)
    }

    pub fn account(&self, addr: &Address) -> Option<auth::BaseAccount> {
        let r =
            self.query("/cosmos.auth.v1beta1.Query/Account", auth::QueryAccountRequest { address: addr.to_string() }.encode_to_vec(), 0);
        if r.code != 0 {
            return None;
        }
        let any = auth::QueryAccountResponse::decode(r.value.as_ref()).expect("decode").account.expect("any");
        Some(auth::BaseAccount::decode(any.value.as_slice()).expect("base account"))
    }

    /// A signed MsgSend from `key` with its current account number and sequence.
    pub fn send_tx(&self, key: &SignerKey, to: &Address, amount: u128, fee: u128, gas: u64) -> Vec<u8> {
        self.msg_tx(key, vec![txbuilder::msg_send(&key.address(), to, amount)], fee, gas)
    }

    /// A tx of `msgs` signed by `key` with its current account number and sequence.
    pub fn msg_tx(&self, key: &SignerKey, msgs: Vec<cosmos_sdk_proto::Any>, fee: u128, gas: u64) -> Vec<u8> {
        let acct = self.account(&key.address()).expect("signer account exists");
        txbuilder::sign_tx(&TxSpec::new(msgs, fee, gas), key, TEST_CHAIN_ID, acct.account_number, acct.sequence)
    }

    /// A digest of all module state (every key but the per-block `app/block_*` ones):
    /// equal digests before and after a block mean the block changed no module state.
    pub fn state_digest(&self) -> Vec<u8> {
        let mut h = Sha256::new();
        for (k, v) in self.module_state().verifiable {
            h.update((k.len() as u64).to_be_bytes());
            h.update(k.as_bytes());
            h.update((v.len() as u64).to_be_bytes());
            h.update(&v);
        }
        h.finalize().to_vec()
    }

    /// Every key and value of module state: the verifiable store (main store and
    /// substores) but the per-block `app/block_*` keys, and the non-verifiable indexes but
    /// the block stream's log, the index hints (a hint is a lower bound that depends on
    /// the removals a list has seen, not on its entries) and counters at zero (a list
    /// that emptied keeps its counter at 0; an absent counter reads as 0 too).
    pub fn module_state(&self) -> ModuleState {
        use cnidarium::StateRead;
        use futures::StreamExt;
        let snap = self.app.storage().latest_snapshot();
        self.rt().block_on(async move {
            let mut out = ModuleState::default();
            for prefix in openledger_app::state_prefixes() {
                let mut stream = std::pin::pin!(snap.prefix_raw(&prefix));
                while let Some(item) = stream.next().await {
                    let (k, v) = item.expect("read state");
                    if !k.starts_with("app/block_") {
                        out.verifiable.insert(k, v);
                    }
                }
            }
            let mut stream = std::pin::pin!(snap.nonverifiable_prefix_raw(b""));
            while let Some(item) = stream.next().await {
                let (k, v) = item.expect("read state");
                let zero_count = k.starts_with(b"count/") && v.iter().all(|b| *b == 0);
                if !k.starts_with(b"stream/") && !k.starts_with(b"hint/") && !zero_count {
                    out.nonverifiable.insert(k, v);
                }
            }
            out
        })
    }

    /// Close the store (as a stopped node does), so another process or handle may open it.
    pub fn close(self) {
        self.release();
    }

    fn release(mut self) {
        let rt = self.rt.take();
        let storage = self.app.storage().clone();
        drop(self);
        if let Some(rt) = rt {
            rt.block_on(storage.release());
            rt.shutdown_background();
        }
    }

    pub fn last_app_hash(&self) -> Vec<u8> {
        self.app_hashes.last().cloned().unwrap_or_else(|| self.genesis_app_hash.clone())
    }
}

impl Drop for TestNode {
    /// As a node stops: the RPC threads finish what they are reading before the store
    /// closes and the process may exit (an RPC thread still inside RocksDB when the
    /// process exits crashes it).
    fn drop(&mut self) {
        self.app.stop_rpc(std::time::Duration::from_secs(10));
    }
}

/// Non-verifiable keys must stay out of the substores (cnidarium's range scan there
/// returns truncated keys, see `openledger_datanet::state_key`): checked every block.
async fn no_nonverifiable_keys_in_substores(snap: &cnidarium::Snapshot) {
    use cnidarium::StateRead;
    use futures::StreamExt;
    for sub in openledger_app::registry::substores() {
        let prefix = format!("{sub}/");
        let mut stream = std::pin::pin!(snap.nonverifiable_prefix_raw(prefix.as_bytes()));
        if let Some(item) = stream.next().await {
            let (k, _) = item.expect("read state");
            panic!("non-verifiable key {:?} is in substore {sub}", String::from_utf8_lossy(&k));
        }
    }
}

/// Attribute value of the first event of `kind` with `key`, in a list of ABCI events.
pub fn event_attr(events: &[pb::Event], kind: &str, key: &str) -> Option<String> {
    events.iter().filter(|e| e.r#type == kind).flat_map(|e| &e.attributes).find(|a| a.key == key).map(|a| a.value.clone())
}
