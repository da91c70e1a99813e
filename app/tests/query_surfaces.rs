//! The registry's query table is the one list of routes: every route of every module is
//! answered over ABCI Query, over gRPC and over REST, with the same outcome on each —
//! the same response bytes on ABCI and gRPC, an answer or the same refusal on REST.
use cosmos_sdk_proto::Any;
use openledger_proto::cosmos::base::v1beta1::Coin;
use openledger_proto::openledger::attribution::v1 as at;
use openledger_proto::openledger::datanet::v1 as dn;
use openledger_proto::openledger::model::v1 as md;
use openledger_test_driver::{test_key, TestNode};
use prost::Message;
use prost_reflect::{DescriptorPool, DynamicMessage, MethodDescriptor};
use serde_json::{json, Map, Value};

const FUND: u128 = 1_000_000_000;
const FEE: u128 = 20_000;
const GAS: u64 = 2_000_000;
// Keys: 0 owns the datanet and contributes to it, 1 curates, 2 owns and operates the
// model, 3 pays for inferences, 4 challenges.
const OWNER: u64 = 0;
const CURATOR: u64 = 1;
const BUILDER: u64 = 2;
const CONSUMER: u64 = 3;
const CHALLENGER: u64 = 4;

fn uopen(n: u128) -> Option<Coin> {
    Some(Coin { denom: "uopen".into(), amount: n.to_string() })
}

fn addr(k: u64) -> String {
    test_key(k).address().to_string()
}

/// `who` sends `msg` in a block of its own; it must succeed. Returns its response bytes.
fn ok<M: Message>(n: &mut TestNode, who: u64, module: &str, name: &str, msg: &M) -> Vec<u8> {
    let any = Any { type_url: format!("/openledger.{module}.v1.{name}"), value: msg.encode_to_vec() };
    let tx = n.msg_tx(&test_key(who), vec![any], FEE, GAS);
    let r = n.execute_block(vec![tx]);
    let t = &r.tx_results[0];
    assert_eq!(t.code, 0, "{name}: {}", t.log);
    let data = cosmos_sdk_proto::cosmos::base::abci::v1beta1::TxMsgData::decode(t.data.as_ref()).unwrap();
    data.msg_responses[0].value.to_vec()
}

/// A chain where every object a query can name exists as id 1 (or version 1): a datanet
/// with an accepted contribution and a published version, a model trained on it, a
/// paid inference scored by the consumer's receipt and one settled by default into the
/// version's reward pool, and a challenge.
fn populated() -> TestNode {
    use sha2::Digest;
    const REPORT_WINDOW: u64 = 2;
    let builder = TestNode::builder().funded_accounts(5, FUND);
    let mut state = builder.app_state();
    let mut params = openledger_attribution::component::default_params();
    params.report_window_blocks = REPORT_WINDOW;
    state.attribution.params = Some(params);
    let mut n = builder.with_app_state(state).build();
    let tx = n.send_tx(&test_key(OWNER), &test_key(CURATOR).address(), 100, 5_000, 200_000);
    n.execute_block(vec![tx]);
    let datanet = dn::MsgCreateDatanet {
        owner: addr(OWNER),
        name: "surfaces".into(),
        curators: vec![addr(CURATOR)],
        policy: dn::ContributionPolicy::Open as i32,
        min_stake: uopen(1000),
        fingerprint: Some(dn::FingerprintParams { modulus: 1, max_hashes: 512, near_duplicate_bps: 0 }),
        ..Default::default()
    };
    ok(&mut n, OWNER, "datanet", "MsgCreateDatanet", &datanet);
    let text = "the patient heart rate at rest is sixty to one hundred beats per minute for most adults";
    let contribution = dn::MsgSubmitContribution {
        contributor: addr(OWNER),
        datanet_id: 1,
        content_hash: sha2::Sha256::digest(text).to_vec(),
        size: text.len() as u64,
        uri: "ipfs://c".into(),
        fingerprint: openledger_datanet::fingerprint::compute(text, 1, 512).unwrap(),
        stake: uopen(1000),
        salt: vec![],
    };
    let bond = openledger_datanet::component::default_params().min_curator_bond.parse::<u128>().unwrap();
    let bond = dn::MsgBondCurator { curator: addr(CURATOR), datanet_id: 1, amount: uopen(bond) };
    ok(&mut n, CURATOR, "datanet", "MsgBondCurator", &bond);
    ok(&mut n, OWNER, "datanet", "MsgSubmitContribution", &contribution);
    let review =
        dn::MsgReviewContribution { curator: addr(CURATOR), contribution_id: 1, accept: true, quality_bps: 8000, reason: String::new() };
    ok(&mut n, CURATOR, "datanet", "MsgReviewContribution", &review);
    ok(&mut n, CURATOR, "datanet", "MsgPublishVersion", &dn::MsgPublishVersion { publisher: addr(CURATOR), datanet_id: 1 });
    let bond = openledger_model::component::default_params().min_operator_bond.parse::<u128>().unwrap();
    let model = md::MsgRegisterModel {
        owner: addr(BUILDER),
        name: "m".into(),
        base_model: String::new(),
        artifact_hash: vec![1; 32],
        artifact_uri: "ipfs://m".into(),
        training_set: vec![md::TrainingEntry { datanet_id: 1, version: 1, weight_bps: 10_000 }],
        operators: vec![addr(BUILDER)],
        price_per_unit: uopen(1000),
        fee_split: Some(md::FeeSplit {
            owner_bps: 4000,
            contributors_bps: 4000,
            datanet_owners_bps: 1000,
            protocol_bps: 500,
            operator_bps: 500,
        }),
        bond: uopen(bond),
    };
    ok(&mut n, BUILDER, "model", "MsgRegisterModel", &model);
    let pay = at::MsgPayInference { consumer: addr(CONSUMER), model_id: 1, units: 10, max_fee: uopen(10_000) };
    ok(&mut n, CONSUMER, "attribution", "MsgPayInference", &pay);
    let output = format!("{text} and children");
    let receipt = at::Receipt {
        chain_id: openledger_test_driver::TEST_CHAIN_ID.into(),
        inference_id: 1,
        output_hash: sha2::Sha256::digest(&output).to_vec(),
        output_fingerprint: openledger_datanet::fingerprint::compute(&output, 1, 1024).unwrap(),
        operator: String::new(),
    };
    ok(&mut n, CONSUMER, "attribution", "MsgSubmitReceipt", &at::MsgSubmitReceipt { consumer: addr(CONSUMER), receipt: Some(receipt) });
    ok(&mut n, CONSUMER, "attribution", "MsgPayInference", &pay);
    for _ in 0..=REPORT_WINDOW {
        n.execute_block(vec![]);
    }
    let bond = openledger_datanet::component::default_params().min_challenge_bond.parse::<u128>().unwrap();
    let challenge =
        dn::MsgChallengeContribution { challenger: addr(CHALLENGER), contribution_id: 1, reason: "copied".into(), bond: uopen(bond) };
    ok(&mut n, CHALLENGER, "datanet", "MsgChallengeContribution", &challenge);
    n
}

fn method(pool: &DescriptorPool, path: &str) -> MethodDescriptor {
    let (service, name) = path.trim_start_matches('/').split_once('/').unwrap();
    pool.get_service_by_name(service)
        .and_then(|s| s.methods().find(|m| m.name() == name))
        .unwrap_or_else(|| panic!("{path} is not described"))
}

/// A route's request, filled as a user naming what exists would fill it: every id and
/// version 1, every account the one that owns and contributes, the chain's denom.
/// Other filters (a contributor beside a datanet is refused as ambiguous), statuses and
/// pagination keep their defaults.
fn request_fields(m: &MethodDescriptor, address: &str) -> Map<String, Value> {
    let mut out = Map::new();
    for f in m.input().fields() {
        let name = f.name();
        let value = match name {
            "address" | "owner" | "consumer" => json!(address),
            "denom" => json!("uopen"),
            "id" | "version" => json!("1"),
            _ if name.ends_with("_id") => json!("1"),
            _ => continue,
        };
        out.insert(name.into(), value);
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
    let n = populated();
    let servers = n.serve_rpc();
    let (grpc_addr, rest_addr) = (servers.grpc, servers.rest);

    let pool = DescriptorPool::decode(openledger_proto::FILE_DESCRIPTOR_SET).unwrap();
    let address = addr(OWNER);
    let http = reqwest::Client::new();
    let routes = openledger_app::registry::query_routes();
    let modules: std::collections::BTreeSet<&str> = routes.iter().map(|r| r.method.split('.').nth(1).unwrap()).collect();
    assert!(modules.is_superset(&["auth", "bank", "token", "datanet", "model", "attribution"].into_iter().collect()), "{modules:?}");
    let mut refused = vec![];
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
        } else {
            let e = grpc.expect_err("a refusal on ABCI is one on gRPC");
            assert!(abci.log.contains(e.message()), "{}: {} vs {}", route.method, abci.log, e.message());
            assert!(matches!(status, 400 | 404), "{}: REST {url}: {status} {body}", route.method);
            assert_eq!(body["message"].as_str(), Some(e.message()), "{}: REST refuses as gRPC", route.method);
            refused.push(format!("{}: {}", route.method, abci.log));
        }
    }
    assert!(refused.is_empty(), "every route answers a request naming what exists; refused:\n{}", refused.join("\n"));
}
