//! Every query, served over ABCI Query and over gRPC from the same handler: answers,
//! heights, and the failure cases (bad address, missing account, unknown path, heights
//! out of range).
use openledger_framework::Address;
use openledger_proto::cosmos::auth::v1beta1 as auth;
use openledger_proto::cosmos::bank::v1beta1 as bank;
use openledger_proto::openledger::token::v1 as token;
use openledger_test_driver::{test_key, TestNode};
use prost::Message;

const FUND: u128 = 1_000_000;

fn node_with_history() -> TestNode {
    let mut n = TestNode::builder().funded_accounts(2, FUND).build();
    for _ in 0..3 {
        let tx = n.send_tx(&test_key(0), &test_key(1).address(), 100, 5_000, 200_000);
        n.execute_block(vec![tx]);
    }
    n
}

#[test]
fn abci_account_answers_any_base_account_or_not_found() {
    let n = node_with_history();
    let r = n.query(
        "/cosmos.auth.v1beta1.Query/Account",
        auth::QueryAccountRequest { address: test_key(0).address().to_string() }.encode_to_vec(),
        0,
    );
    assert_eq!(r.code, 0, "{}", r.log);
    assert_eq!(r.height, 3);
    let any = auth::QueryAccountResponse::decode(r.value.as_ref()).unwrap().account.unwrap();
    assert_eq!(any.type_url, "/cosmos.auth.v1beta1.BaseAccount");
    let acct = auth::BaseAccount::decode(any.value.as_slice()).unwrap();
    assert_eq!((acct.account_number, acct.sequence), (0, 3));
    assert_eq!(acct.pub_key.unwrap().type_url, "/cosmos.crypto.secp256k1.PubKey");

    let missing = Address([42; 20]);
    let r = n.query("/cosmos.auth.v1beta1.Query/Account", auth::QueryAccountRequest { address: missing.to_string() }.encode_to_vec(), 0);
    assert_ne!(r.code, 0);
    assert!(r.log.starts_with("rpc error: code = NotFound"), "{}", r.log);

    let module = n.query(
        "/cosmos.auth.v1beta1.Query/Account",
        auth::QueryAccountRequest { address: openledger_token::fee_collector().to_string() }.encode_to_vec(),
        0,
    );
    let any = auth::QueryAccountResponse::decode(module.value.as_ref()).unwrap().account.unwrap();
    assert_eq!(any.type_url, "/cosmos.auth.v1beta1.ModuleAccount");
}

#[test]
fn abci_balance_is_always_a_coin_and_honours_height() {
    let n = node_with_history();
    let b = test_key(1).address();
    assert_eq!(n.balance(&b), FUND + 300);
    assert_eq!(n.balance_at(&b, 1), FUND + 100, "height 1 answer");
    assert_eq!(n.balance_at(&b, 2), FUND + 200);
    assert_eq!(n.balance(&Address([7; 20])), 0, "unknown address: a zero coin");
    let r = n.query(
        "/cosmos.bank.v1beta1.Query/Balance",
        bank::QueryBalanceRequest { address: b.to_string(), denom: "uatom".into() }.encode_to_vec(),
        0,
    );
    let coin = bank::QueryBalanceResponse::decode(r.value.as_ref()).unwrap().balance.unwrap();
    assert_eq!((coin.denom.as_str(), coin.amount.as_str()), ("uatom", "0"));
}

#[test]
fn abci_query_failures_have_codes() {
    let n = node_with_history();
    let cases: Vec<(&str, Vec<u8>, u64, &str)> = vec![
        (
            "/cosmos.bank.v1beta1.Query/Balance",
            bank::QueryBalanceRequest { address: "open1bad".into(), denom: "uopen".into() }.encode_to_vec(),
            0,
            "InvalidArgument",
        ),
        (
            "/cosmos.bank.v1beta1.Query/Balance",
            bank::QueryBalanceRequest { address: "".into(), denom: "uopen".into() }.encode_to_vec(),
            0,
            "InvalidArgument",
        ),
        (
            "/cosmos.bank.v1beta1.Query/Balance",
            bank::QueryBalanceRequest { address: test_key(0).address().to_string(), denom: "".into() }.encode_to_vec(),
            0,
            "InvalidArgument",
        ),
        ("/cosmos.bank.v1beta1.Query/AllBalances", vec![0xff, 0xff, 0xff], 0, "InvalidArgument"),
        (
            "/cosmos.auth.v1beta1.Query/Account",
            auth::QueryAccountRequest { address: "cosmos1qypqxpq9qcrsszg2pvxq6rs0zqg3yyc5lzv7xu".into() }.encode_to_vec(),
            0,
            "InvalidArgument",
        ),
        ("/cosmos.bank.v1beta1.Query/TotalSupply", vec![], 99, "InvalidArgument"),
    ];
    for (path, data, height, code_name) in cases {
        let r = n.query(path, data, height);
        assert_ne!(r.code, 0, "{path} succeeded");
        assert_eq!(r.codespace, "sdk");
        assert!(r.log.contains(code_name), "{path}: {}", r.log);
    }
    let unknown = n.query("/cosmos.nothing.v1.Query/Nothing", vec![], 0);
    assert_eq!((unknown.codespace.as_str(), unknown.code), ("sdk", 6));
}

/// The node keeps its recent heights readable (cnidarium's snapshot cache, 10 heights);
/// an older one is refused with FailedPrecondition, never answered from another height.
#[test]
fn abci_query_at_a_height_no_longer_retained_is_refused() {
    let mut n = node_with_history();
    for _ in 0..12 {
        n.execute_block(vec![]);
    }
    let b = test_key(1).address();
    assert_eq!(n.balance_at(&b, 10), FUND + 300, "a recent height still answers");
    let req = bank::QueryBalanceRequest { address: b.to_string(), denom: "uopen".into() }.encode_to_vec();
    let r = n.query("/cosmos.bank.v1beta1.Query/Balance", req, 1);
    assert_ne!(r.code, 0, "height 1 answered: {:?}", r.value);
    assert_eq!(r.codespace, "sdk");
    assert!(r.value.is_empty());
    assert!(r.log.contains("FailedPrecondition") && r.log.contains("height 1 is no longer retained for queries"), "{}", r.log);
}

#[test]
fn abci_supply_and_token_queries_answer() {
    let n = node_with_history();
    let r = n.query("/cosmos.bank.v1beta1.Query/TotalSupply", vec![], 0);
    let s = bank::QueryTotalSupplyResponse::decode(r.value.as_ref()).unwrap();
    assert_eq!(s.supply[0].amount, (2 * FUND).to_string());
    let all = n.query(
        "/cosmos.bank.v1beta1.Query/AllBalances",
        bank::QueryAllBalancesRequest { address: test_key(1).address().to_string(), ..Default::default() }.encode_to_vec(),
        0,
    );
    assert_eq!(bank::QueryAllBalancesResponse::decode(all.value.as_ref()).unwrap().balances.len(), 1);
    let empty = n.query(
        "/cosmos.bank.v1beta1.Query/AllBalances",
        bank::QueryAllBalancesRequest { address: Address([3; 20]).to_string(), ..Default::default() }.encode_to_vec(),
        0,
    );
    assert!(bank::QueryAllBalancesResponse::decode(empty.value.as_ref()).unwrap().balances.is_empty());
    let p = token::QueryParamsResponse::decode(n.query("/openledger.token.v1.Query/Params", vec![], 0).value.as_ref()).unwrap();
    assert_eq!(p.params.unwrap().denom, "uopen");
    let m =
        token::QueryModuleAccountsResponse::decode(n.query("/openledger.token.v1.Query/ModuleAccounts", vec![], 0).value.as_ref()).unwrap();
    assert_eq!(m.accounts[0].name, "fee_collector");
    assert_eq!(m.accounts[0].balance, "15000");
    let sup = token::QuerySupplyResponse::decode(n.query("/openledger.token.v1.Query/Supply", vec![], 0).value.as_ref()).unwrap();
    assert_eq!(sup.amount, (2 * FUND).to_string());
    let v =
        token::QueryValidatorAccountsResponse::decode(n.query("/openledger.token.v1.Query/ValidatorAccounts", vec![], 0).value.as_ref())
            .unwrap();
    assert!(v.accounts.is_empty());
}

#[test]
fn every_routed_path_answers_an_empty_request_without_panicking() {
    let n = node_with_history();
    for route in openledger_app::registry::query_routes() {
        let path = route.method;
        let r = n.query(path, vec![], 0);
        assert!(r.code == 0 || !r.log.is_empty(), "{path}");
    }
}

#[test]
fn grpc_serves_the_same_handlers_with_heights_and_reflection() {
    let n = node_with_history();
    let app = n.app.clone();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let rt = n.rt();
    let server = rt.spawn(openledger_app::rpc::grpc::serve(app, addr, async {
        let _ = rx.await;
    }));
    rt.block_on(async {
        let url = format!("http://{addr}");
        let mut bank_c = None;
        for _ in 0..50 {
            if let Ok(c) = bank::query_client::QueryClient::connect(url.clone()).await {
                bank_c = Some(c);
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        let mut bank_c = bank_c.expect("gRPC server up");
        let b = test_key(1).address().to_string();
        let r = bank_c.balance(bank::QueryBalanceRequest { address: b.clone(), denom: "uopen".into() }).await.unwrap();
        assert_eq!(r.metadata().get("x-cosmos-block-height").unwrap(), "3");
        assert_eq!(r.into_inner().balance.unwrap().amount, (FUND + 300).to_string());

        let mut req = tonic::Request::new(bank::QueryBalanceRequest { address: b.clone(), denom: "uopen".into() });
        req.metadata_mut().insert("x-cosmos-block-height", "1".parse().unwrap());
        assert_eq!(bank_c.balance(req).await.unwrap().into_inner().balance.unwrap().amount, (FUND + 100).to_string());

        let mut req = tonic::Request::new(bank::QueryBalanceRequest { address: b.clone(), denom: "uopen".into() });
        req.metadata_mut().insert("x-cosmos-block-height", "abc".parse().unwrap());
        assert_eq!(bank_c.balance(req).await.unwrap_err().code(), tonic::Code::InvalidArgument);

        let bad = bank_c.balance(bank::QueryBalanceRequest { address: "nope".into(), denom: "uopen".into() }).await.unwrap_err();
        assert_eq!(bad.code(), tonic::Code::InvalidArgument);

        let mut auth_c = auth::query_client::QueryClient::connect(url.clone()).await.unwrap();
        let nf = auth_c.account(auth::QueryAccountRequest { address: Address([42; 20]).to_string() }).await.unwrap_err();
        assert_eq!(nf.code(), tonic::Code::NotFound);

        let mut token_c = token::query_client::QueryClient::connect(url.clone()).await.unwrap();
        assert_eq!(token_c.supply(token::QuerySupplyRequest {}).await.unwrap().into_inner().amount, (2 * FUND).to_string());

        // Reflection lists every service we serve.
        use tonic_reflection::pb::v1::{
            server_reflection_client::ServerReflectionClient, server_reflection_request::MessageRequest,
            server_reflection_response::MessageResponse, ServerReflectionRequest,
        };
        let channel = tonic::transport::Channel::from_shared(url).unwrap().connect().await.unwrap();
        let mut refl = ServerReflectionClient::new(channel);
        let mut stream = refl
            .server_reflection_info(futures::stream::iter(vec![ServerReflectionRequest {
                host: String::new(),
                message_request: Some(MessageRequest::ListServices(String::new())),
            }]))
            .await
            .unwrap()
            .into_inner();
        let resp = stream.message().await.unwrap().unwrap();
        let Some(MessageResponse::ListServicesResponse(list)) = resp.message_response else { panic!("no list") };
        let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
        for s in ["cosmos.auth.v1beta1.Query", "cosmos.bank.v1beta1.Query", "openledger.token.v1.Query"] {
            assert!(names.iter().any(|n| n == s), "{s} missing from {names:?}");
        }
    });
    let _ = tx.send(());
    let _ = rt.block_on(server);
}

/// The Cosmos metadata queries wallets ask first, and the chain-registry files
/// (`testnet/registry`) that let a wallet add the dev chain, agree with each other and
/// with the chain.
#[test]
fn cosmos_metadata_queries_and_registry_files_agree() {
    let n = TestNode::builder().funded_accounts(2, 1_000).build();
    let ask = |path: &str, data: Vec<u8>| n.query(path, data, 0);

    let r = ask("/cosmos.auth.v1beta1.Query/Bech32Prefix", auth::Bech32PrefixRequest {}.encode_to_vec());
    assert_eq!(auth::Bech32PrefixResponse::decode(r.value.as_ref()).unwrap().bech32_prefix, "open");
    let r = ask("/cosmos.bank.v1beta1.Query/SupplyOf", bank::QuerySupplyOfRequest { denom: "uopen".into() }.encode_to_vec());
    assert_eq!(bank::QuerySupplyOfResponse::decode(r.value.as_ref()).unwrap().amount.unwrap().amount, "2000");
    let r = ask("/cosmos.bank.v1beta1.Query/SupplyOf", bank::QuerySupplyOfRequest { denom: "uatom".into() }.encode_to_vec());
    assert_eq!(bank::QuerySupplyOfResponse::decode(r.value.as_ref()).unwrap().amount.unwrap().amount, "0");
    let r = ask("/cosmos.bank.v1beta1.Query/SupplyOf", bank::QuerySupplyOfRequest { denom: String::new() }.encode_to_vec());
    assert!(r.code != 0 && r.log.contains("InvalidArgument"), "{}", r.log);
    let r = ask("/cosmos.bank.v1beta1.Query/DenomMetadata", bank::QueryDenomMetadataRequest { denom: "uatom".into() }.encode_to_vec());
    assert!(r.code != 0 && r.log.contains("NotFound"), "{}", r.log);
    let r = ask("/cosmos.bank.v1beta1.Query/DenomMetadata", bank::QueryDenomMetadataRequest { denom: "uopen".into() }.encode_to_vec());
    let meta = bank::QueryDenomMetadataResponse::decode(r.value.as_ref()).unwrap().metadata.unwrap();

    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../testnet/registry");
    let read = |f: &str| -> serde_json::Value { serde_json::from_str(&std::fs::read_to_string(root.join(f)).unwrap()).unwrap() };
    let chain = read("chain.json");
    assert_eq!(chain["chain_id"], openledgerd::dev::DEV_CHAIN_ID);
    assert_eq!(chain["bech32_prefix"], "open");
    assert_eq!(chain["slip44"], 118, "the CLI derives keys on m/44'/118'/0'/0/0");
    assert_eq!(chain["fees"]["fee_tokens"][0]["denom"], "uopen");
    assert_eq!(chain["fees"]["fee_tokens"][0]["fixed_min_gas_price"], 0.025, "openledgerd's default min_gas_price");
    let assets = read("assetlist.json");
    assert_eq!(assets["chain_name"], chain["chain_name"]);
    let asset = &assets["assets"][0];
    assert_eq!(
        (asset["base"].as_str(), asset["display"].as_str(), asset["symbol"].as_str()),
        (Some(meta.base.as_str()), Some(meta.display.as_str()), Some(meta.symbol.as_str()))
    );
    let units: Vec<(String, u64)> = asset["denom_units"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| (u["denom"].as_str().unwrap().to_string(), u["exponent"].as_u64().unwrap()))
        .collect();
    let meta_units: Vec<(String, u64)> = meta.denom_units.iter().map(|u| (u.denom.clone(), u64::from(u.exponent))).collect();
    assert_eq!(units, meta_units);
}
