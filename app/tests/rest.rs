//! REST (port 1317 on a node): the Cosmos endpoints wallets call answer in the Cosmos
//! JSON shapes, every `openledger.*` query has a GET route, heights are selected with
//! `x-cosmos-block-height`, and bad paths, parameters and bodies get 400/404 with a
//! message — served in process from the real app (the tx broadcast and lookup routes,
//! which need CometBFT, run end to end in `e2e_cosmos_clients.rs`).
use base64::Engine;
use openledger_client::txbuilder;
use openledger_test_driver::{test_key, TestNode};
use serde_json::Value;

const FUND: u128 = 1_000_000_000;

struct Served {
    n: TestNode,
    url: String,
    http: reqwest::Client,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl Served {
    fn start() -> Served {
        let mut n = TestNode::builder().funded_accounts(2, FUND).build();
        for _ in 0..3 {
            let tx = n.send_tx(&test_key(0), &test_key(1).address(), 100, 5_000, 200_000);
            n.execute_block(vec![tx]);
        }
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let (stop, rx) = tokio::sync::oneshot::channel::<()>();
        n.rt().spawn(openledger_app::rpc::rest::serve(n.app.clone(), addr, None, async {
            let _ = rx.await;
        }));
        let s = Served { n, url: format!("http://{addr}"), http: reqwest::Client::new(), _stop: stop };
        for _ in 0..100 {
            if std::net::TcpStream::connect(addr).is_ok() {
                return s;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        panic!("REST server did not start");
    }

    fn call(&self, req: reqwest::RequestBuilder) -> (u16, Value) {
        self.n.rt().block_on(async {
            let r = req.send().await.expect("REST answers");
            let status = r.status().as_u16();
            let text = r.text().await.expect("body");
            (status, serde_json::from_str(&text).unwrap_or_else(|e| panic!("non-JSON body ({e}): {text}")))
        })
    }

    fn get(&self, path: &str) -> (u16, Value) {
        self.call(self.http.get(format!("{}{path}", self.url)))
    }

    fn post(&self, path: &str, body: &str) -> (u16, Value) {
        self.call(self.http.post(format!("{}{path}", self.url)).header("content-type", "application/json").body(body.to_string()))
    }
}

/// An error answer: the HTTP status, the gRPC code and a message containing `needle`.
fn assert_error((status, v): (u16, Value), want_status: u16, want_code: i64, needle: &str) {
    assert_eq!((status, v["code"].as_i64()), (want_status, Some(want_code)), "{v}");
    assert!(v["message"].as_str().is_some_and(|m| m.contains(needle)), "{needle}: {v}");
}

#[test]
fn cosmos_account_and_balances_answer_in_cosmos_json() {
    let s = Served::start();
    let a0 = test_key(0).address().to_string();
    let (st, v) = s.get(&format!("/cosmos/auth/v1beta1/accounts/{a0}"));
    assert_eq!(st, 200, "{v}");
    let acct = &v["account"];
    assert_eq!(acct["@type"], "/cosmos.auth.v1beta1.BaseAccount");
    assert_eq!(
        (acct["address"].as_str(), acct["account_number"].as_str(), acct["sequence"].as_str()),
        (Some(a0.as_str()), Some("0"), Some("3"))
    );
    assert_eq!(acct["pub_key"]["@type"], "/cosmos.crypto.secp256k1.PubKey");
    assert_eq!(base64::engine::general_purpose::STANDARD.decode(acct["pub_key"]["key"].as_str().unwrap()).unwrap().len(), 33);

    let (st, v) = s.get(&format!("/cosmos/bank/v1beta1/balances/{}", test_key(1).address()));
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["balances"], serde_json::json!([{ "denom": "uopen", "amount": (FUND + 300).to_string() }]));
    assert_eq!(v["pagination"]["total"], "1");

    // Heights, as over gRPC.
    let (st, v) = s
        .call(s.http.get(format!("{}/cosmos/bank/v1beta1/balances/{}", s.url, test_key(1).address())).header("x-cosmos-block-height", "1"));
    assert_eq!((st, v["balances"][0]["amount"].as_str()), (200, Some((FUND + 100).to_string().as_str())), "{v}");
    assert_error(
        s.call(s.http.get(format!("{}/cosmos/bank/v1beta1/balances/{a0}", s.url)).header("x-cosmos-block-height", "x")),
        400,
        3,
        "x-cosmos-block-height",
    );

    assert_error(s.get("/cosmos/auth/v1beta1/accounts/open1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq"), 400, 3, "");
    let stranger = openledger_framework::Address([42; 20]).to_string();
    assert_error(s.get(&format!("/cosmos/auth/v1beta1/accounts/{stranger}")), 404, 5, "not found");
    assert_error(s.get("/cosmos/bank/v1beta1/balances/nope"), 400, 3, "");
    assert_error(s.get(&format!("/cosmos/bank/v1beta1/balances/{a0}?pagination.limit=x")), 400, 3, "");
    assert_error(s.get("/cosmos/nothing/here"), 404, 5, "no such route");
}

#[test]
fn simulate_over_rest_and_its_bad_bodies() {
    let s = Served::start();
    let key = test_key(0);
    let spec = txbuilder::TxSpec::new(vec![txbuilder::msg_send(&key.address(), &test_key(1).address(), 7)], 0, 0);
    let acct = s.n.account(&key.address()).unwrap();
    let tx = base64::engine::general_purpose::STANDARD.encode(txbuilder::unsigned_tx(&spec, &key, acct.sequence));
    let (st, v) = s.post("/cosmos/tx/v1beta1/simulate", &format!(r#"{{"tx_bytes":"{tx}"}}"#));
    assert_eq!(st, 200, "{v}");
    let used: u64 = v["gas_info"]["gas_used"].as_str().unwrap().parse().unwrap();
    assert!(used > 10_000, "{v}");
    assert_eq!(v["result"]["msg_responses"][0]["@type"], "/cosmos.bank.v1beta1.MsgSendResponse");

    assert_error(s.post("/cosmos/tx/v1beta1/simulate", "not json"), 400, 3, "not JSON");
    assert_error(s.post("/cosmos/tx/v1beta1/simulate", "{}"), 400, 3, "tx_bytes");
    assert_error(s.post("/cosmos/tx/v1beta1/simulate", r#"{"tx_bytes":"***"}"#), 400, 3, "base64");
    assert_error(s.post("/cosmos/tx/v1beta1/simulate", r#"{"tx_bytes":"AQID"}"#), 400, 3, "parse error");
    // Broadcast and tx lookup need the node's CometBFT: without one, a clear 503.
    assert_error(s.post("/cosmos/tx/v1beta1/txs", &format!(r#"{{"tx_bytes":"{tx}","mode":"BROADCAST_MODE_SYNC"}}"#)), 503, 14, "CometBFT");
    assert_error(
        s.post("/cosmos/tx/v1beta1/txs", &format!(r#"{{"tx_bytes":"{tx}","mode":"BROADCAST_MODE_NOPE"}}"#)),
        400,
        3,
        "broadcast mode",
    );
    assert_error(s.get(&format!("/cosmos/tx/v1beta1/txs/{}", "AB".repeat(32))), 503, 14, "CometBFT");
}

#[test]
fn every_openledger_query_has_a_get_route() {
    let s = Served::start();
    let routes = openledger_app::rpc::rest::openledger_routes();
    assert_eq!(
        routes.len(),
        openledger_app::registry::query_routes().iter().filter(|r| r.method.starts_with("/openledger.")).count(),
        "{routes:?}"
    );
    for (path, grpc) in routes {
        // With no parameters: an answer or a clear refusal, never a server error.
        let (st, v) = s.get(path);
        assert!(matches!(st, 200 | 400 | 404), "{path} ({grpc}): {st} {v}");
        if st != 200 {
            assert!(v["message"].as_str().is_some_and(|m| !m.is_empty()), "{path}: {v}");
        }
    }
    let (st, v) = s.get("/openledger/token/v1/supply");
    assert_eq!((st, v["amount"].as_str()), (200, Some((2 * FUND).to_string().as_str())), "{v}");
    let (st, v) = s.get("/openledger/attribution/v1/params");
    assert_eq!(st, 200, "{v}");
    assert!(v["params"]["report_window_blocks"].is_string(), "64-bit integers print as strings: {v}");
    let (st, v) = s.get("/openledger/datanet/v1/datanets?pagination.limit=5&pagination.count_total=true");
    assert_eq!((st, &v["datanets"], v["pagination"]["total"].as_str()), (200, &serde_json::json!([]), Some("0")), "{v}");
    let (st, v) = s.get("/openledger/attribution/v1/accounting");
    assert_eq!(st, 200, "{v}");

    assert_error(s.get("/openledger/datanet/v1/datanet?id=9"), 404, 5, "9");
    assert_error(s.get("/openledger/datanet/v1/datanet?nope=1"), 400, 3, "no field");
    assert_error(s.get("/openledger/datanet/v1/datanet?id=abc"), 400, 3, "bad request");
    assert_error(s.get("/openledger/datanet/v1/datanets?pagination.count_total=maybe"), 400, 3, "boolean");
    assert_error(s.get("/openledger/datanet/v1/no_such_query"), 404, 5, "no route");
    assert_error(s.get("/openledger/nothing/v1/params"), 404, 5, "no route");
}
