//! The public surfaces are bounded (`rpc/limits.rs`): a request past the deadline, past
//! the number in flight or over the size limit gets an error that names the limit —
//! on gRPC, REST and CometBFT's `abci_query` alike — and blocks are produced as before.
//! Simulation is capped at the most gas a tx may use.
use std::time::Duration;

use cosmos_sdk_proto::cosmos::bank::v1beta1 as bank;
use cosmos_sdk_proto::cosmos::tx::v1beta1::{SimulateRequest, SimulateResponse};
use openledger_app::rpc::limits::RpcLimits;
use openledger_client::txbuilder::{self, TxSpec};
use openledger_test_driver::{test_key, TestNode, TEST_CHAIN_ID};
use prost::Message;

const FUND: u128 = 1_000_000_000;
const FEE: u128 = 5_000;
const GAS: u64 = 200_000;

fn grpc_call(n: &TestNode, addr: std::net::SocketAddr, method: &'static str, body: Vec<u8>) -> Result<Vec<u8>, Box<tonic::Status>> {
    n.rt().block_on(async {
        let channel = tonic::transport::Channel::from_shared(format!("http://{addr}")).unwrap().connect().await.unwrap();
        let mut client = tonic::client::Grpc::new(channel);
        client.ready().await.unwrap();
        let path = tonic::codegen::http::uri::PathAndQuery::from_static(method);
        client.unary(tonic::Request::new(body), path, openledger_app::rpc::grpc::RawCodec).await.map(|r| r.into_inner()).map_err(Box::new)
    })
}

fn balance_request() -> Vec<u8> {
    bank::QueryBalanceRequest { address: test_key(0).address().to_string(), denom: "uopen".into() }.encode_to_vec()
}

/// A signed send from test key 0 (account 0) at `sequence`.
fn send(sequence: u64) -> Vec<u8> {
    let a = test_key(0);
    let spec = TxSpec::new(vec![txbuilder::msg_send(&a.address(), &test_key(1).address(), 1)], FEE, GAS);
    txbuilder::sign_tx(&spec, &a, TEST_CHAIN_ID, 0, sequence)
}

/// Blocks go on: a block with a transfer commits.
fn block_goes_on(n: &mut TestNode, sequence: u64) {
    let r = n.execute_block(vec![send(sequence)]);
    assert_eq!(r.tx_results[0].code, 0, "{}", r.tx_results[0].log);
}

/// A deadline of zero: every request is past it when answered (a request cut short
/// while it runs gets the same error; a zero deadline makes the test exact).
#[test]
fn requests_past_the_deadline_are_cancelled_with_deadline_exceeded_on_grpc_rest_and_abci() {
    let limits = RpcLimits { request_timeout: Duration::ZERO, ..Default::default() };
    let mut n = TestNode::builder().funded_accounts(2, FUND).rpc_limits(limits).build();
    let servers = n.serve_rpc();
    let (grpc, rest) = (servers.grpc, servers.rest);
    let e = grpc_call(&n, grpc, "/cosmos.bank.v1beta1.Query/Balance", balance_request()).unwrap_err();
    assert_eq!(e.code(), tonic::Code::DeadlineExceeded, "{e:?}");
    assert!(e.message().contains("within this node's 0 ms limit"), "{}", e.message());
    let (status, body): (u16, serde_json::Value) = n.rt().block_on(async {
        let r = reqwest::get(format!("http://{rest}/cosmos/bank/v1beta1/balances/{}", test_key(0).address())).await.unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    });
    assert_eq!(status, 504, "{body}");
    assert!(body["message"].as_str().unwrap().contains("0 ms limit"), "{body}");
    let q = n.query("/cosmos.bank.v1beta1.Query/Balance", balance_request(), 0);
    assert_eq!((q.codespace.as_str(), q.code), ("sdk", 1), "{}", q.log);
    assert!(q.log.contains("not answered within this node's 0 ms limit"), "{}", q.log);
    block_goes_on(&mut n, 0);
}

#[test]
fn requests_beyond_the_number_in_flight_are_refused_with_resource_exhausted_and_the_stream_is_exempt() {
    let limits = RpcLimits { max_in_flight: 0, ..Default::default() };
    let mut n = TestNode::builder().funded_accounts(2, FUND).rpc_limits(limits).build();
    block_goes_on(&mut n, 0);
    let servers = n.serve_rpc();
    let (grpc, rest) = (servers.grpc, servers.rest);
    let e = grpc_call(&n, grpc, "/cosmos.bank.v1beta1.Query/Balance", balance_request()).unwrap_err();
    assert_eq!(e.code(), tonic::Code::ResourceExhausted, "{e:?}");
    assert!(e.message().contains("node busy: 0 requests in flight"), "{}", e.message());
    let status = n.rt().block_on(async {
        reqwest::get(format!("http://{rest}/cosmos/bank/v1beta1/balances/{}", test_key(0).address())).await.unwrap().status().as_u16()
    });
    assert_eq!(status, 503);
    // The block stream has its own limit (subscribers) and is not counted here.
    let first = n.rt().block_on(async {
        use openledger_proto::openledger::stream::v1::{stream_service_client::StreamServiceClient, BlocksRequest};
        let mut c = StreamServiceClient::connect(format!("http://{grpc}")).await.unwrap();
        let mut s = c.blocks(BlocksRequest { start_height: 1 }).await.unwrap().into_inner();
        s.message().await.unwrap().unwrap().height
    });
    assert_eq!(first, 1);
    block_goes_on(&mut n, 1);
}

#[test]
fn requests_over_the_size_limit_are_refused() {
    let limits = RpcLimits { max_request_bytes: 1024, ..Default::default() };
    let mut n = TestNode::builder().funded_accounts(2, FUND).rpc_limits(limits).build();
    let servers = n.serve_rpc();
    let (grpc, rest) = (servers.grpc, servers.rest);
    let big = SimulateRequest { tx_bytes: vec![7; 4096], ..Default::default() }.encode_to_vec();
    let e = grpc_call(&n, grpc, "/cosmos.tx.v1beta1.Service/Simulate", big.clone()).unwrap_err();
    assert_eq!(e.code(), tonic::Code::OutOfRange, "{e:?}");
    let e = grpc_call(&n, grpc, "/cosmos.bank.v1beta1.Query/Balance", big).unwrap_err();
    assert_eq!(e.code(), tonic::Code::OutOfRange, "the query table's methods too: {e:?}");
    let body = serde_json::json!({ "tx_bytes": "A".repeat(4096) }).to_string();
    let (status, json): (u16, serde_json::Value) = n.rt().block_on(async {
        let r = reqwest::Client::new().post(format!("http://{rest}/cosmos/tx/v1beta1/simulate")).body(body).send().await.unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    });
    assert_eq!(status, 413, "{json}");
    assert!(json["message"].as_str().unwrap().contains("1024-byte limit"), "{json}");
    // Within the limit, the same server answers.
    let ok = grpc_call(&n, grpc, "/cosmos.bank.v1beta1.Query/Balance", balance_request());
    assert!(ok.is_ok(), "{ok:?}");
    block_goes_on(&mut n, 0);
}

#[test]
fn simulation_is_capped_at_the_most_gas_a_tx_may_use() {
    let b = TestNode::builder().funded_accounts(2, FUND);
    let mut s = b.app_state();
    s.auth.params.as_mut().unwrap().max_tx_gas = 20_000;
    let n = b.with_app_state(s).build();
    let a = test_key(0);
    let spec = TxSpec::new(vec![txbuilder::msg_send(&a.address(), &test_key(1).address(), 1)], 0, 0);
    let req = SimulateRequest { tx_bytes: txbuilder::unsigned_tx(&spec, &a, 0), ..Default::default() }.encode_to_vec();
    let q = n.query("/cosmos.tx.v1beta1.Service/Simulate", req, 0);
    assert_ne!(q.code, 0);
    assert!(q.log.contains("out of gas; gasWanted: 20000"), "a send needs more than 20,000 gas: {}", q.log);
    // Under the cap it measures as before.
    let n = TestNode::builder().funded_accounts(2, FUND).build();
    let req = SimulateRequest { tx_bytes: txbuilder::unsigned_tx(&spec, &a, 0), ..Default::default() }.encode_to_vec();
    let q = n.query("/cosmos.tx.v1beta1.Service/Simulate", req, 0);
    assert_eq!(q.code, 0, "{}", q.log);
    let used = SimulateResponse::decode(q.value.as_ref()).unwrap().gas_info.unwrap().gas_used;
    assert!(used > 20_000 && used < 200_000, "{used}");
}

/// (name, nice value) of every thread of this process, from /proc.
fn threads() -> Vec<(String, i32)> {
    let mut out = vec![];
    for task in std::fs::read_dir("/proc/self/task").unwrap().flatten() {
        let (Ok(comm), Ok(stat)) = (std::fs::read_to_string(task.path().join("comm")), std::fs::read_to_string(task.path().join("stat")))
        else {
            continue; // the thread ended meanwhile
        };
        // After "pid (comm) ": state is field 3 and nice field 19 of stat.
        let rest = &stat[stat.rfind(')').unwrap() + 2..];
        let nice: i32 = rest.split(' ').nth(16).unwrap().parse().unwrap();
        out.push((comm.trim().to_string(), nice));
    }
    out
}

#[test]
fn public_requests_run_on_threads_below_block_executions_priority() {
    let n = TestNode::builder().funded_accounts(2, FUND).build();
    let servers = n.serve_rpc();
    // gRPC, REST and abci_query are each answered, on the RPC runtime.
    assert!(grpc_call(&n, servers.grpc, "/cosmos.bank.v1beta1.Query/Balance", balance_request()).is_ok());
    let status = n.rt().block_on(async {
        reqwest::get(format!("http://{}/cosmos/bank/v1beta1/balances/{}", servers.rest, test_key(0).address())).await.unwrap().status()
    });
    assert_eq!(status, 200);
    assert_eq!(n.query("/cosmos.bank.v1beta1.Query/Balance", balance_request(), 0).code, 0);
    let all = threads();
    let rpc: Vec<i32> = all.iter().filter(|(name, _)| name == "rpc").map(|(_, nice)| *nice).collect();
    assert!(rpc.len() >= 2, "the RPC runtime's workers are running: {all:?}");
    assert!(rpc.iter().all(|&nice| nice == openledger_app::rpc::runtime::RPC_NICE), "{all:?}");
    // Everything else (this thread, which executes blocks, and the node's runtime) is
    // at the process's priority.
    let base = all.iter().find(|(name, _)| name.starts_with("public_requests")).map(|(_, nice)| *nice).expect("this test's thread");
    assert!(base < openledger_app::rpc::runtime::RPC_NICE, "{all:?}");
    assert!(all.iter().filter(|(name, _)| name != "rpc").all(|(_, nice)| *nice == base), "{all:?}");
}
