//! The registry's query table is the one list of routes: every route of every module is
//! answered over ABCI Query, over gRPC and over REST, with the same outcome on each —
//! the same response bytes on ABCI and gRPC, an answer or the same refusal on REST.
use openledger_test_driver::{test_key, TestNode};
use prost_reflect::{DescriptorPool, DynamicMessage, MethodDescriptor};
use serde_json::{json, Map, Value};

const FUND: u128 = 1_000_000_000;

fn free_port() -> std::net::SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap()
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

fn method(pool: &DescriptorPool, path: &str) -> MethodDescriptor {
    let (service, name) = path.trim_start_matches('/').split_once('/').unwrap();
    pool.get_service_by_name(service)
        .and_then(|s| s.methods().find(|m| m.name() == name))
        .unwrap_or_else(|| panic!("{path} is not described"))
}

/// The request fields a route's REST path names, filled: an account that exists and
/// the chain's denom. Every other field keeps its default.
fn request_fields(m: &MethodDescriptor, address: &str) -> Map<String, Value> {
    let mut out = Map::new();
    for f in m.input().fields() {
        match f.name() {
            "address" => out.insert("address".into(), json!(address)),
            "denom" => out.insert("denom".into(), json!("uopen")),
            _ => None,
        };
    }
    out
}

/// The REST path of a route: the Cosmos gateway's, with its parameters filled, or the
/// one every `openledger.*` query gets, with its fields in the query string.
fn rest_path(route: &openledger_framework::QueryRoute, fields: &Map<String, Value>) -> String {
    if let Some(template) = route.rest {
        let mut p = template.to_string();
        let mut query = vec![];
        for (k, v) in fields {
            let v = v.as_str().unwrap();
            let slot = format!("{{{k}}}");
            if p.contains(&slot) {
                p = p.replace(&slot, v);
            } else {
                query.push(format!("{k}={v}"));
            }
        }
        return if query.is_empty() { p } else { format!("{p}?{}", query.join("&")) };
    }
    let (path, _) = openledger_app::rpc::rest::openledger_routes().iter().find(|(_, m)| m == route.method).expect("an openledger route");
    let query: Vec<String> = fields.iter().map(|(k, v)| format!("{k}={}", v.as_str().unwrap())).collect();
    if query.is_empty() {
        path.clone()
    } else {
        format!("{path}?{}", query.join("&"))
    }
}

#[test]
fn every_query_route_of_every_module_is_answered_on_abci_grpc_and_rest() {
    let mut n = TestNode::builder().funded_accounts(2, FUND).build();
    let tx = n.send_tx(&test_key(0), &test_key(1).address(), 100, 5_000, 200_000);
    n.execute_block(vec![tx]);
    let (grpc_addr, rest_addr) = (free_port(), free_port());
    let (stop_grpc, rx_grpc) = tokio::sync::oneshot::channel::<()>();
    let (stop_rest, rx_rest) = tokio::sync::oneshot::channel::<()>();
    n.rt().spawn(openledger_app::rpc::grpc::serve(n.app.clone(), grpc_addr, async {
        let _ = rx_grpc.await;
    }));
    n.rt().spawn(openledger_app::rpc::rest::serve(n.app.clone(), rest_addr, None, async {
        let _ = rx_rest.await;
    }));
    wait_listening(grpc_addr);
    wait_listening(rest_addr);

    let pool = DescriptorPool::decode(openledger_proto::FILE_DESCRIPTOR_SET).unwrap();
    let address = test_key(0).address().to_string();
    let http = reqwest::Client::new();
    let routes = openledger_app::registry::query_routes();
    let modules: std::collections::BTreeSet<&str> = routes.iter().map(|r| r.method.split('.').nth(1).unwrap()).collect();
    assert!(modules.is_superset(&["auth", "bank", "token", "datanet", "model", "attribution"].into_iter().collect()), "{modules:?}");
    let mut answered = 0;
    for route in routes {
        let m = method(&pool, route.method);
        let fields = request_fields(&m, &address);
        let req = DynamicMessage::deserialize(m.input(), Value::Object(fields.clone())).unwrap();
        let req_bytes = prost::Message::encode_to_vec(&req);

        // ABCI: routed to the handler (the router's own refusal is sdk code 6).
        let abci = n.query(route.method, req_bytes.clone(), 0);
        assert!(!(abci.codespace == "sdk" && abci.code == 6), "{}: not routed on ABCI: {}", route.method, abci.log);

        // gRPC: the same bytes, or a refusal.
        let grpc = n.rt().block_on(async {
            let channel = tonic::transport::Channel::from_shared(format!("http://{grpc_addr}")).unwrap().connect().await.unwrap();
            let mut client = tonic::client::Grpc::new(channel);
            client.ready().await.unwrap();
            let path = tonic::codegen::http::uri::PathAndQuery::from_static(route.method);
            client.unary(tonic::Request::new(req_bytes.clone()), path, openledger_app::rpc::grpc::RawCodec).await.map(|r| r.into_inner())
        });

        // REST: an answer, or the same refusal with a message.
        let url = format!("http://{rest_addr}{}", rest_path(route, &fields));
        let (status, body): (u16, Value) = n.rt().block_on(async {
            let r = http.get(&url).send().await.unwrap();
            (r.status().as_u16(), r.json().await.unwrap())
        });

        if abci.code == 0 {
            assert_eq!(grpc.as_deref().ok(), Some(abci.value.as_ref()), "{}: gRPC answers as ABCI", route.method);
            assert_eq!(status, 200, "{}: REST {url}: {body}", route.method);
            answered += 1;
        } else {
            let e = grpc.expect_err("a refusal on ABCI is one on gRPC");
            assert!(abci.log.contains(e.message()), "{}: {} vs {}", route.method, abci.log, e.message());
            assert!(matches!(status, 400 | 404), "{}: REST {url}: {status} {body}", route.method);
            assert_eq!(body["message"].as_str(), Some(e.message()), "{}: REST refuses as gRPC", route.method);
        }
    }
    assert!(answered * 2 > routes.len(), "most routes answer a request naming an existing account: {answered}/{}", routes.len());
    let _ = (stop_grpc.send(()), stop_rest.send(()));
}
