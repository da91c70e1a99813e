//! Standard Cosmos clients against a real node, unchanged: a CosmJS script
//! (`@cosmjs/stargate` SigningStargateClient, `fee: "auto"`: ABCI Simulate, then
//! broadcast and `tx_search` over CometBFT RPC) and a cosmpy script (gRPC only: the
//! tendermint, auth, bank, tx and consensus services) each send a MsgSend and check both
//! balances; `grpcurl` lists and describes services and calls queries through
//! reflection; and the Cosmos tx, node and consensus gRPC services answer their failure
//! cases with clear statuses.
//!
//! Needs `cometbft`, the CLI binary, and the clients `testnet/clients/install.sh`
//! installs (scripts/setup.sh runs it). A missing client fails the test.
mod common;

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Instant;

use common::*;
use cosmos_sdk_proto::cosmos::base::tendermint::v1beta1 as tmv;
use cosmos_sdk_proto::cosmos::tx::v1beta1 as txv;
use openledger_proto::cosmos::consensus::v1 as consv;
use openledgerd::dev::DEV_CHAIN_ID;
use serde_json::Value;

/// A throwaway test mnemonic, used only on disposable dev chains.
const MNEMONIC: &str = "hello canyon raven ocean wheel blind ridge snake obvious season bacon decide over fuel text setup derive crater romance resource demise unique luxury give";

fn clients_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../testnet/clients")
}

fn home_dir() -> PathBuf {
    std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/root"))
}

fn venv_python() -> PathBuf {
    let venv = std::env::var_os("CLIENTS_VENV").map(PathBuf::from).unwrap_or_else(|| home_dir().join(".cache/openledger-clients/venv"));
    let p = venv.join("bin/python");
    assert!(p.is_file(), "{} is missing: run testnet/clients/install.sh (scripts/setup.sh does)", p.display());
    p
}

fn grpcurl() -> PathBuf {
    let p = std::env::var_os("GRPCURL").map(PathBuf::from).unwrap_or_else(|| home_dir().join("go/bin/grpcurl"));
    assert!(p.is_file(), "{} is missing: run testnet/clients/install.sh (scripts/setup.sh does)", p.display());
    p
}

/// Run a client script; it prints one JSON line (`ok: true`) on success.
fn run_client(name: &str, mut cmd: Command) -> Value {
    let out = cmd.stdin(Stdio::null()).output().unwrap_or_else(|e| panic!("running the {name} client: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{name} client failed ({}):\nstdout: {stdout}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("{name} printed non-JSON ({e}): {stdout}"));
    assert_eq!(v["ok"], true, "{v}");
    v
}

/// `grpcurl -plaintext FLAGS… 127.0.0.1:PORT REST…` (list, describe or a method).
fn grpcurl_ok(port: u16, flags: &[&str], rest: &[&str]) -> String {
    let addr = format!("127.0.0.1:{port}");
    let mut all = vec!["-plaintext"];
    all.extend(flags);
    all.push(&addr);
    all.extend(rest);
    let out = Command::new(grpcurl()).args(&all).output().expect("running grpcurl");
    assert!(out.status.success(), "grpcurl {}: {}", all.join(" "), String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("utf-8")
}

#[test]
fn cosmjs_cosmpy_and_grpcurl_work_unchanged_against_a_real_node() {
    let t0 = Instant::now();
    let (_, _) = (cometbft_bin(), cli_bin());
    let (python, _) = (venv_python(), grpcurl());
    assert!(clients_dir().join("cosmjs/node_modules/@cosmjs/stargate").is_dir(), "CosmJS is not installed: run testnet/clients/install.sh");
    let mut procs = Procs::new();
    let home = procs.home.clone();
    let (_, _, chain) = spawn_dev(&mut procs, 0, t0);
    let cli = Cli { home: &home, ports: &chain.ports };
    chain.wait_height(&mut procs, 2);

    // The clients' sender: recovered from the mnemonic, funded by alice.
    let mut recover = Command::new(cli_bin())
        .args(["keys", "add", "client", "--recover", "--home", &home.display().to_string(), "--keyring-backend", "test"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("keys add --recover");
    writeln!(recover.stdin.take().expect("stdin"), "{MNEMONIC}").expect("mnemonic");
    let done = recover.wait_with_output().expect("keys add --recover");
    assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stderr));
    let sender = cli.address("client");
    cli.send("alice", &sender, 1_000_000_000, DEV_CHAIN_ID);
    let bob = cli.address("bob");
    step(t0, "sender funded");

    // CosmJS: RPC only.
    let mut cmd = Command::new("node");
    cmd.arg(clients_dir().join("cosmjs/send.mjs"))
        .env("RPC", chain.ports.rpc_url())
        .env("MNEMONIC", MNEMONIC)
        .env("TO", &bob)
        .env("DENOM", DENOM)
        .env("GAS_PRICE", "0.025uopen");
    let cosmjs = run_client("CosmJS", cmd);
    assert_eq!((cosmjs["chain_id"].as_str(), cosmjs["from"].as_str()), (Some(DEV_CHAIN_ID), Some(sender.as_str())), "{cosmjs}");
    step(t0, &format!("CosmJS sent {} (gas {} of {})", cosmjs["tx_hash"], cosmjs["gas_used"], cosmjs["gas_wanted"]));

    // cosmpy: gRPC only.
    let mut cmd = Command::new(&python);
    cmd.arg(clients_dir().join("cosmpy/send.py"))
        .env("GRPC", format!("grpc+http://127.0.0.1:{}", chain.ports.grpc))
        .env("CHAIN_ID", DEV_CHAIN_ID)
        .env("MNEMONIC", MNEMONIC)
        .env("TO", &bob)
        .env("DENOM", DENOM)
        .env("GAS_PRICE", "0.025uopen");
    let cosmpy = run_client("cosmpy", cmd);
    assert_eq!(cosmpy["from"].as_str(), Some(sender.as_str()), "{cosmpy}");
    step(t0, &format!("cosmpy sent {} (gas {} of {})", cosmpy["tx_hash"], cosmpy["gas_used"], cosmpy["gas_wanted"]));

    // grpcurl through reflection.
    let port = chain.ports.grpc;
    let services = grpcurl_ok(port, &[], &["list"]);
    for s in [
        "cosmos.auth.v1beta1.Query",
        "cosmos.bank.v1beta1.Query",
        "cosmos.consensus.v1.Query",
        "openledger.token.v1.Query",
        "openledger.datanet.v1.Query",
        "openledger.model.v1.Query",
        "openledger.attribution.v1.Query",
    ] {
        assert!(services.lines().any(|l| l.trim() == s), "grpcurl list lacks {s}:\n{services}");
    }
    let described = grpcurl_ok(port, &[], &["describe", "openledger.attribution.v1.Query"]);
    assert!(described.contains("rpc Claimable"), "{described}");
    let balances: Value = serde_json::from_str(&grpcurl_ok(
        port,
        &["-d", &format!(r#"{{"address":"{sender}"}}"#)],
        &["cosmos.bank.v1beta1.Query/AllBalances"],
    ))
    .expect("JSON");
    let held: u128 = balances["balances"][0]["amount"].as_str().expect("amount").parse().expect("decimal");
    assert_eq!(held, cosmpy["from_balance_after"].as_str().expect("balance").parse::<u128>().expect("decimal"), "{balances}");
    let params: Value = serde_json::from_str(&grpcurl_ok(port, &[], &["openledger.attribution.v1.Query/Params"])).expect("JSON");
    assert!(params["params"].is_object(), "{params}");
    step(t0, "grpcurl listed, described and queried");

    // The Cosmos services directly, failure cases included (CometBFT's own answers read
    // first: its client runs on its own runtime).
    let tx_height = cosmjs["tx_height"].as_u64().expect("tx_height");
    let ids = chain.block(tx_height);
    let rpc_params = chain.rt.block_on(chain.rpc.call("consensus_params", serde_json::json!({}))).expect("consensus_params");
    let rt = runtime();
    rt.block_on(async {
        let channel = tonic::transport::Channel::from_shared(chain.ports.grpc_url()).expect("url").connect().await.expect("gRPC up");
        let mut txs = txv::service_client::ServiceClient::new(channel.clone());
        let hash = cosmjs["tx_hash"].as_str().expect("hash").to_string();
        let got = txs.get_tx(txv::GetTxRequest { hash: hash.to_lowercase() }).await.expect("GetTx").into_inner();
        let r = got.tx_response.expect("tx_response");
        assert_eq!((r.txhash.as_str(), r.code, r.height), (hash.as_str(), 0, cosmjs["tx_height"].as_i64().expect("height")));
        assert!(!r.timestamp.is_empty() && r.events.iter().any(|e| e.r#type == "transfer"), "{r:?}");
        let body = got.tx.expect("tx").body.expect("body");
        assert_eq!(body.messages[0].type_url, "/cosmos.bank.v1beta1.MsgSend");

        let unknown = txs.get_tx(txv::GetTxRequest { hash: "AB".repeat(32) }).await.unwrap_err();
        assert!(unknown.code() == tonic::Code::NotFound && unknown.message().contains("not found"), "{unknown:?}");
        let bad = txs.get_tx(txv::GetTxRequest { hash: "xyz".into() }).await.unwrap_err();
        assert_eq!(bad.code(), tonic::Code::InvalidArgument, "{bad:?}");

        let search = txs
            .get_txs_event(txv::GetTxsEventRequest {
                query: format!("transfer.recipient='{bob}' AND tx.height={}", r.height),
                ..Default::default()
            })
            .await
            .expect("GetTxsEvent")
            .into_inner();
        assert!(search.total >= 1 && search.tx_responses.iter().any(|t| t.txhash == hash), "{search:?}");
        let empty = txs.get_txs_event(txv::GetTxsEventRequest::default()).await.unwrap_err();
        assert_eq!(empty.code(), tonic::Code::InvalidArgument, "{empty:?}");

        let refused = txs
            .broadcast_tx(txv::BroadcastTxRequest { tx_bytes: vec![1, 2, 3], mode: txv::BroadcastMode::Sync as i32 })
            .await
            .expect("BroadcastTx answers")
            .into_inner()
            .tx_response
            .expect("tx_response");
        assert!(refused.code != 0 && refused.raw_log.contains("parse error"), "{refused:?}");
        let no_mode = txs.broadcast_tx(txv::BroadcastTxRequest { tx_bytes: vec![1, 2, 3], mode: 0 }).await.unwrap_err();
        assert_eq!(no_mode.code(), tonic::Code::InvalidArgument, "{no_mode:?}");

        let mut node = tmv::service_client::ServiceClient::new(channel.clone());
        let info = node.get_node_info(tmv::GetNodeInfoRequest {}).await.expect("GetNodeInfo").into_inner();
        assert_eq!(info.default_node_info.expect("node info").network, DEV_CHAIN_ID);
        assert_eq!(info.application_version.expect("version").app_name, "openledgerd");
        assert!(!node.get_syncing(tmv::GetSyncingRequest {}).await.expect("GetSyncing").into_inner().syncing);
        #[allow(deprecated)]
        let latest = node.get_latest_block(tmv::GetLatestBlockRequest {}).await.expect("GetLatestBlock").into_inner();
        let sdk_header = latest.sdk_block.expect("sdk_block").header.expect("header");
        assert_eq!(sdk_header.chain_id, DEV_CHAIN_ID);
        assert!(sdk_header.height >= r.height && sdk_header.proposer_address.starts_with("openvalcons1"), "{sdk_header:?}");
        #[allow(deprecated)]
        let at = node.get_block_by_height(tmv::GetBlockByHeightRequest { height: r.height }).await.expect("GetBlockByHeight").into_inner();
        #[allow(deprecated)]
        let block = at.block.expect("block");
        assert_eq!(hex::encode_upper(&block.header.expect("header").app_hash), ids.app_hash, "the header CometBFT stored");
        assert!(block.data.expect("data").txs.iter().any(|t| hex::encode_upper(<sha2::Sha256 as sha2::Digest>::digest(t)) == hash));
        let zero = node.get_block_by_height(tmv::GetBlockByHeightRequest { height: 0 }).await.unwrap_err();
        assert_eq!(zero.code(), tonic::Code::InvalidArgument, "{zero:?}");
        let future = node.get_block_by_height(tmv::GetBlockByHeightRequest { height: 1_000_000_000 }).await.unwrap_err();
        assert!(future.message().contains("height"), "{future:?}");

        let mut consensus = consv::query_client::QueryClient::new(channel);
        let p = consensus.params(consv::QueryParamsRequest {}).await.expect("consensus Params").into_inner().params.expect("params");
        assert_eq!(
            p.block.expect("block").max_gas.to_string(),
            rpc_params["consensus_params"]["block"]["max_gas"].as_str().expect("max_gas")
        );
    });
    step(t0, "Cosmos tx, node and consensus services answered");

    // REST, the routes that need CometBFT.
    let http = reqwest::Client::new();
    let api = chain.ports.api_url();
    let (node_info, tx, refused, missing) = rt.block_on(async {
        let get = |path: String| {
            let http = http.clone();
            async move {
                let r = http.get(path).send().await.expect("REST answers");
                (r.status().as_u16(), r.json::<Value>().await.expect("JSON"))
            }
        };
        let node_info = get(format!("{api}/cosmos/base/tendermint/v1beta1/node_info")).await;
        let tx = get(format!("{api}/cosmos/tx/v1beta1/txs/{}", cosmjs["tx_hash"].as_str().expect("hash"))).await;
        let missing = get(format!("{api}/cosmos/tx/v1beta1/txs/{}", "CD".repeat(32))).await;
        let r = http
            .post(format!("{api}/cosmos/tx/v1beta1/txs"))
            .body(r#"{"tx_bytes":"AQID","mode":"BROADCAST_MODE_SYNC"}"#)
            .send()
            .await
            .expect("REST answers");
        let refused = (r.status().as_u16(), r.json::<Value>().await.expect("JSON"));
        (node_info, tx, refused, missing)
    });
    assert_eq!((node_info.0, node_info.1["default_node_info"]["network"].as_str()), (200, Some(DEV_CHAIN_ID)), "{node_info:?}");
    assert_eq!(tx.0, 200, "{tx:?}");
    let msg = &tx.1["tx"]["body"]["messages"][0];
    assert_eq!((msg["@type"].as_str(), msg["to_address"].as_str()), (Some("/cosmos.bank.v1beta1.MsgSend"), Some(bob.as_str())), "{msg}");
    assert_eq!(tx.1["tx_response"]["height"].as_str(), Some(tx_height.to_string().as_str()), "{tx:?}");
    assert_eq!(tx.1["tx_response"]["code"], 0);
    assert_eq!((missing.0, missing.1["code"].as_i64()), (404, Some(5)), "{missing:?}");
    assert_eq!(refused.0, 200, "a refused tx is an answer: {refused:?}");
    assert!(refused.1["tx_response"]["code"].as_u64().is_some_and(|c| c != 0), "{refused:?}");
    step(t0, "REST node_info, tx lookup and broadcast answered");
}
