//! Module tests: messages, queries and genesis against a real (temporary) store.
use cnidarium::{Snapshot, StateDelta, StateRead, StateWrite, TempStorage};
use futures::StreamExt;
use openledger_datanet::state_ext::DatanetWrite;
use openledger_framework::{Address, ChainError, QueryError};
use openledger_proto::cosmos::base::query::v1beta1::PageRequest;
use openledger_proto::cosmos::base::v1beta1::Coin;
use openledger_proto::openledger::datanet::v1::{Datanet, Version};
use openledger_proto::openledger::model::v1::*;
use openledger_token::state_ext::TokenRead;
use prost::Message;
use tendermint::abci::Event;

use crate::component::default_params;
use crate::msg::ModelMsg;
use crate::state_ext::ModelRead;
use crate::ModelModule;
use crate::{bonds, error, query};
use openledger_framework::Module;
use openledger_framework::{ModuleMsg, MsgCtx};

const REGISTER: &str = "/openledger.model.v1.MsgRegisterModel";
const UPDATE: &str = "/openledger.model.v1.MsgUpdateModel";

fn addr(n: u8) -> Address {
    Address([n; 20])
}

fn uopen(amount: u128) -> Coin {
    Coin { denom: "uopen".into(), amount: amount.to_string() }
}

fn entry(datanet_id: u64, version: u64, weight_bps: u32) -> TrainingEntry {
    TrainingEntry { datanet_id, version, weight_bps }
}

fn test_params() -> Params {
    Params {
        max_name_length: 16,
        max_uri_length: 32,
        max_base_model_length: 12,
        max_training_entries: 4,
        max_operators: 3,
        min_operator_bond: "1000".into(),
        bond_unbonding_blocks: 10,
    }
}

/// Datanet 1 has versions 1 and 2, datanet 2 version 1, datanet 3 none yet.
fn put_datanets<S: StateWrite>(state: &mut S) {
    for (id, latest) in [(1u64, 2u64), (2, 1), (3, 0)] {
        state.put_datanet(&Datanet { id, owner: addr(50).to_string(), latest_version: latest, ..Default::default() });
        for v in 1..=latest {
            state.put_version(&Version {
                datanet_id: id,
                version: v,
                contribution_count: 1,
                total_weight: "1".into(),
                merkle_root: vec![v as u8; 32],
                height: 1,
                publisher: addr(50).to_string(),
            });
        }
    }
}

async fn setup() -> (TempStorage, StateDelta<Snapshot>) {
    let storage = TempStorage::new().await.unwrap();
    let mut state = StateDelta::new(storage.latest_snapshot());
    put_datanets(&mut state);
    ModelModule::init_genesis(&mut state, &GenesisState { params: Some(test_params()), models: vec![], next_model_id: 0 }).await.unwrap();
    // Funds come from the token module's genesis, the only way to mint.
    let balances = [(1u8, 1_000_000u128), (2, 1_000_000), (3, 500)]
        .map(|(n, amount)| openledger_proto::openledger::token::v1::GenesisBalance {
            address: addr(n).to_string(),
            coins: vec![openledger_proto::openledger::token::v1::GenesisCoin { denom: "uopen".into(), amount: amount.to_string() }],
        })
        .to_vec();
    let token = openledger_proto::openledger::token::v1::GenesisState { balances, ..Default::default() };
    <openledger_token::TokenModule as openledger_framework::Module>::init_genesis(&mut state, &token).await.unwrap();
    (storage, state)
}

fn register_msg(owner: &Address) -> MsgRegisterModel {
    MsgRegisterModel {
        owner: owner.to_string(),
        name: "llama-ft".into(),
        base_model: "llama-3-8b".into(),
        artifact_hash: vec![7; 32],
        artifact_uri: "ipfs://artifact".into(),
        training_set: vec![entry(1, 1, 6000), entry(2, 1, 4000)],
        operators: vec![addr(10).to_string()],
        price_per_unit: Some(uopen(5)),
        fee_split: Some(FeeSplit {
            owner_bps: 4000,
            contributors_bps: 4000,
            datanet_owners_bps: 1000,
            protocol_bps: 1000,
            operator_bps: 0,
        }),
        bond: Some(uopen(1000)),
    }
}

fn update_msg(owner: &Address, model_id: u64) -> MsgUpdateModel {
    MsgUpdateModel { owner: owner.to_string(), model_id, ..Default::default() }
}

/// Decode and execute one message in an overlay, as the app does: a refused message
/// leaves no trace. Returns the response and the events.
async fn run(
    state: &mut StateDelta<Snapshot>,
    type_url: &str,
    msg: &impl Message,
    height: u64,
) -> Result<(prost_types::Any, Vec<Event>), ChainError> {
    let m = ModelMsg::decode(type_url, &msg.encode_to_vec()).expect("a model message")?;
    assert_eq!(m.type_url(), type_url);
    let mut tx = StateDelta::new(&mut *state);
    let any = m.execute(&mut tx, MsgCtx { height, msg_index: 0, module_accounts: &[crate::BONDS] }).await?;
    let (_, events) = tx.apply();
    Ok((any, events))
}

async fn register(state: &mut StateDelta<Snapshot>, m: &MsgRegisterModel, height: u64) -> Result<u64, ChainError> {
    let (any, _) = run(state, REGISTER, m, height).await?;
    assert_eq!(any.type_url, "/openledger.model.v1.MsgRegisterModelResponse");
    Ok(MsgRegisterModelResponse::decode(any.value.as_slice()).unwrap().model_id)
}

async fn update(state: &mut StateDelta<Snapshot>, m: &MsgUpdateModel, height: u64) -> Result<u64, ChainError> {
    let (any, _) = run(state, UPDATE, m, height).await?;
    assert_eq!(any.type_url, "/openledger.model.v1.MsgUpdateModelResponse");
    Ok(MsgUpdateModelResponse::decode(any.value.as_slice()).unwrap().terms_version)
}

fn attr(e: &Event, key: &str) -> String {
    e.attributes
        .iter()
        .find(|a| a.key_str().unwrap() == key)
        .map(|a| a.value_str().unwrap().to_string())
        .unwrap_or_else(|| panic!("no attribute {key} in {}", e.kind))
}

#[track_caller]
fn assert_code(r: Result<u64, ChainError>, expected: ChainError, needle: &str) {
    let e = r.expect_err("the message should be refused");
    assert_eq!((e.codespace, e.code), (expected.codespace, expected.code), "{}", e.message);
    assert!(e.message.contains(needle), "{:?} does not mention {needle:?}", e.message);
}

#[tokio::test]
async fn register_update_and_retire() {
    let (_storage, mut state) = setup().await;
    let owner = addr(1);
    let (any, events) = run(&mut state, REGISTER, &register_msg(&owner), 7).await.unwrap();
    assert_eq!(MsgRegisterModelResponse::decode(any.value.as_slice()).unwrap().model_id, 1);
    assert_eq!(state.balance(&owner).await.unwrap(), 1_000_000 - 1000);
    assert_eq!(state.balance(&bonds()).await.unwrap(), 1000);
    assert_eq!(bonds(), Address::module("model_bonds"));
    let ev = events.iter().find(|e| e.kind == "openledger.model.v1.EventModelRegistered").unwrap();
    assert_eq!(attr(ev, "model_id"), "1");
    assert_eq!(attr(ev, "owner"), owner.to_string());
    assert_eq!(attr(ev, "training_set"), "1/1:6000,2/1:4000");
    assert_eq!(attr(ev, "fee_split"), "4000/4000/1000/1000/0");
    assert_eq!(attr(ev, "price_per_unit"), "5uopen");
    assert_eq!(attr(ev, "bond"), "1000uopen");
    assert_eq!(attr(ev, "artifact_hash"), hex::encode([7u8; 32]));
    assert!(events.iter().any(|e| e.kind == "transfer"), "the bond moves with a transfer event");

    let m = state.model(1).await.unwrap().unwrap();
    assert_eq!(
        m,
        Model {
            id: 1,
            owner: owner.to_string(),
            name: "llama-ft".into(),
            base_model: "llama-3-8b".into(),
            artifact_hash: vec![7; 32],
            artifact_uri: "ipfs://artifact".into(),
            training_set: vec![entry(1, 1, 6000), entry(2, 1, 4000)],
            operators: vec![addr(10).to_string()],
            price_per_unit: Some(uopen(5)),
            fee_split: Some(FeeSplit {
                owner_bps: 4000,
                contributors_bps: 4000,
                datanet_owners_bps: 1000,
                protocol_bps: 1000,
                operator_bps: 0
            }),
            bond: Some(uopen(1000)),
            status: ModelStatus::Active as i32,
            registered_height: 7,
            updated_height: 7,
            terms_version: 1,
        }
    );
    // Ids count up; a zero-padded amount and an optional empty base model are accepted
    // (amounts are stored canonically).
    let mut second = register_msg(&owner);
    second.base_model = String::new();
    second.bond = Some(Coin { denom: "uopen".into(), amount: "0001500".into() });
    assert_eq!(register(&mut state, &second, 8).await.unwrap(), 2);
    assert_eq!(state.model(2).await.unwrap().unwrap().bond, Some(uopen(1500)));
    assert_eq!(state.balance(&bonds()).await.unwrap(), 2500);

    // A new price bumps the terms version; the same price again does not.
    let mut u = update_msg(&owner, 1);
    u.price_per_unit = Some(uopen(9));
    assert_eq!(update(&mut state, &u, 10).await.unwrap(), 2);
    assert_eq!(update(&mut state, &u, 11).await.unwrap(), 2);
    let m = state.model(1).await.unwrap().unwrap();
    assert_eq!((m.price_per_unit, m.updated_height, m.registered_height), (Some(uopen(9)), 11, 7));
    // New operators bump it; the same list does not.
    let mut u = update_msg(&owner, 1);
    u.set_operators = true;
    u.operators = vec![addr(10).to_string(), addr(11).to_string()];
    assert_eq!(update(&mut state, &u, 12).await.unwrap(), 3);
    let (_, events) = run(&mut state, UPDATE, &u, 13).await.unwrap();
    let ev = events.iter().find(|e| e.kind == "openledger.model.v1.EventModelUpdated").unwrap();
    assert_eq!(attr(ev, "terms_changed"), "false");
    assert_eq!(attr(ev, "terms_version"), "3");
    assert_eq!(attr(ev, "operators"), format!("{},{}", addr(10), addr(11)));
    // ACTIVE on an active model is accepted and changes nothing but updated_height.
    let mut u = update_msg(&owner, 1);
    u.status = ModelStatus::Active as i32;
    assert_eq!(update(&mut state, &u, 14).await.unwrap(), 3);

    // Retire (with a price change in the same message).
    let mut u = update_msg(&owner, 1);
    u.status = ModelStatus::Retired as i32;
    u.price_per_unit = Some(uopen(1));
    let (_, events) = run(&mut state, UPDATE, &u, 15).await.unwrap();
    let ev = events.iter().find(|e| e.kind == "openledger.model.v1.EventModelUpdated").unwrap();
    assert_eq!(attr(ev, "status"), "MODEL_STATUS_RETIRED");
    assert_eq!(attr(ev, "retired"), "true");
    assert_eq!(attr(ev, "terms_version"), "4");
    assert_eq!(attr(ev, "updated_height"), "15");
    let m = state.model(1).await.unwrap().unwrap();
    assert_eq!((m.status, m.terms_version, m.updated_height), (ModelStatus::Retired as i32, 4, 15));
    // The bond stays held after retirement.
    assert_eq!(state.balance(&bonds()).await.unwrap(), 2500);

    // Retired is final: no reactivation, no update of any kind.
    let mut u = update_msg(&owner, 1);
    u.status = ModelStatus::Active as i32;
    assert_code(update(&mut state, &u, 16).await, error::retired(""), "cannot be updated or reactivated");
    let mut u = update_msg(&owner, 1);
    u.price_per_unit = Some(uopen(3));
    assert_code(update(&mut state, &u, 16).await, error::retired(""), "retired");
    let mut u = update_msg(&owner, 1);
    u.status = ModelStatus::Retired as i32;
    assert_code(update(&mut state, &u, 16).await, error::retired(""), "retired");
    assert_eq!(state.model(1).await.unwrap().unwrap().updated_height, 15);
    // Model 2 is untouched.
    assert_eq!(state.model(2).await.unwrap().unwrap().terms_version, 1);
}

#[tokio::test]
async fn register_refusals() {
    let (_storage, mut state) = setup().await;
    let owner = addr(1);
    let bonds_before = state.balance(&bonds()).await.unwrap();
    let with = |f: &dyn Fn(&mut MsgRegisterModel)| {
        let mut m = register_msg(&owner);
        f(&mut m);
        m
    };
    let cases: Vec<(&str, MsgRegisterModel, ChainError, &str)> = vec![
        // Training set.
        ("weights below 10000", with(&|m| m.training_set[1].weight_bps = 3999), error::invalid_training_set(""), "sum to 9999"),
        ("weights above 10000", with(&|m| m.training_set[1].weight_bps = 4001), error::invalid_training_set(""), "sum to 10001"),
        (
            "unpublished version",
            with(&|m| m.training_set[0].version = 3),
            error::invalid_training_set(""),
            "datanet 1 has no published version 3",
        ),
        (
            "datanet without versions",
            with(&|m| m.training_set[0].datanet_id = 3),
            error::invalid_training_set(""),
            "datanet 3 has no published version 1",
        ),
        ("missing datanet", with(&|m| m.training_set[0].datanet_id = 99), error::invalid_training_set(""), "datanet 99 does not exist"),
        ("version 0", with(&|m| m.training_set[0].version = 0), error::invalid_training_set(""), "must be positive"),
        (
            "duplicate entry",
            with(&|m| m.training_set = vec![entry(1, 1, 5000), entry(1, 1, 5000)]),
            error::invalid_training_set(""),
            "datanet 1 version 1 is listed twice",
        ),
        (
            "zero weight",
            with(&|m| m.training_set = vec![entry(1, 1, 10000), entry(1, 2, 0)]),
            error::invalid_training_set(""),
            "weight_bps 0",
        ),
        ("empty training set", with(&|m| m.training_set.clear()), error::invalid_training_set(""), "at least one"),
        (
            "too many entries",
            with(&|m| m.training_set = vec![entry(1, 1, 2000), entry(1, 2, 2000), entry(2, 1, 2000), entry(2, 2, 2000), entry(3, 1, 2000)]),
            error::invalid_training_set(""),
            "5 entries, the maximum is 4",
        ),
        // Fee split.
        (
            "fee split below 10000",
            with(&|m| {
                m.fee_split =
                    Some(FeeSplit { owner_bps: 4000, contributors_bps: 4000, datanet_owners_bps: 1000, protocol_bps: 999, operator_bps: 0 })
            }),
            error::invalid_fee_split(""),
            "= 9999 bps",
        ),
        (
            "fee split above 10000",
            with(&|m| {
                m.fee_split = Some(FeeSplit {
                    owner_bps: u32::MAX,
                    contributors_bps: u32::MAX,
                    datanet_owners_bps: 1,
                    protocol_bps: 1,
                    operator_bps: 0,
                })
            }),
            error::invalid_fee_split(""),
            "must be exactly 10000",
        ),
        ("no fee split", with(&|m| m.fee_split = None), error::invalid_fee_split(""), "required"),
        // Coins.
        (
            "bond too small",
            with(&|m| m.bond = Some(uopen(999))),
            error::insufficient_bond(""),
            "below the minimum operator bond of 1000uopen",
        ),
        (
            "bond in another denom",
            with(&|m| m.bond = Some(Coin { denom: "uatom".into(), amount: "5000".into() })),
            error::invalid_coins(""),
            "bond must be in uopen",
        ),
        ("no bond", with(&|m| m.bond = None), error::invalid_coins(""), "bond is required"),
        (
            "negative bond",
            with(&|m| m.bond = Some(Coin { denom: "uopen".into(), amount: "-1000".into() })),
            error::invalid_coins(""),
            "not a non-negative integer",
        ),
        (
            "price in another denom",
            with(&|m| m.price_per_unit = Some(Coin { denom: "OPEN".into(), amount: "5".into() })),
            error::invalid_coins(""),
            "price_per_unit must be in uopen",
        ),
        ("zero price", with(&|m| m.price_per_unit = Some(uopen(0))), error::invalid_coins(""), "must be positive"),
        ("no price", with(&|m| m.price_per_unit = None), error::invalid_coins(""), "price_per_unit is required"),
        (
            "decimal price",
            with(&|m| m.price_per_unit = Some(Coin { denom: "uopen".into(), amount: "1.5".into() })),
            error::invalid_coins(""),
            "price_per_unit",
        ),
        // Operators.
        (
            "too many operators",
            with(&|m| m.operators = (10..14).map(|n| addr(n).to_string()).collect()),
            error::invalid_operators(""),
            "4 operators, the maximum is 3",
        ),
        ("no operator", with(&|m| m.operators.clear()), error::invalid_operators(""), "at least one operator"),
        (
            "duplicate operator",
            with(&|m| m.operators = vec![addr(10).to_string(), addr(10).to_string()]),
            error::invalid_operators(""),
            "listed twice",
        ),
        ("bad operator address", with(&|m| m.operators = vec!["cosmos1xyz".into()]), error::invalid_address(""), "operator"),
        ("empty operator address", with(&|m| m.operators = vec![String::new()]), error::invalid_address(""), "operator address is empty"),
        // Text fields and the artifact.
        ("name too long", with(&|m| m.name = "n".repeat(17)), error::invalid_field(""), "name is 17 characters, the maximum is 16"),
        ("name missing", with(&|m| m.name = "   ".into()), error::invalid_field(""), "name is required"),
        (
            "base model too long",
            with(&|m| m.base_model = "b".repeat(13)),
            error::invalid_field(""),
            "base_model is 13 characters, the maximum is 12",
        ),
        (
            "uri too long",
            with(&|m| m.artifact_uri = format!("ipfs://{}", "u".repeat(26))),
            error::invalid_field(""),
            "artifact_uri is 33 characters, the maximum is 32",
        ),
        ("uri missing", with(&|m| m.artifact_uri = String::new()), error::invalid_field(""), "artifact_uri is required"),
        ("short artifact hash", with(&|m| m.artifact_hash = vec![1; 31]), error::invalid_field(""), "32-byte SHA-256, got 31 bytes"),
        ("no artifact hash", with(&|m| m.artifact_hash.clear()), error::invalid_field(""), "got 0 bytes"),
        // Funds.
        (
            "insufficient funds",
            {
                let mut m = register_msg(&addr(3));
                m.bond = Some(uopen(1000));
                m
            },
            openledger_token::error::insufficient_funds(""),
            "insufficient funds",
        ),
        ("unfunded account", register_msg(&addr(4)), openledger_token::error::insufficient_funds(""), "insufficient funds"),
    ];
    for (what, m, expected, needle) in cases {
        let r = register(&mut state, &m, 5).await;
        let e = r.expect_err(what);
        assert_eq!((e.codespace, e.code), (expected.codespace, expected.code), "{what}: {}", e.message);
        assert!(e.message.contains(needle), "{what}: {:?} does not mention {needle:?}", e.message);
    }
    // Nothing was registered, no bond moved.
    assert_eq!(state.next_model_id().await.unwrap(), 1);
    assert_eq!(state.balance(&bonds()).await.unwrap(), bonds_before);
    assert_eq!(state.balance(&addr(3)).await.unwrap(), 500);

    // Limits are inclusive and count characters, not bytes.
    let mut m = register_msg(&owner);
    m.name = "é".repeat(16);
    m.base_model = "b".repeat(12);
    m.artifact_uri = "u".repeat(32);
    m.operators = (10..13).map(|n| addr(n).to_string()).collect();
    m.training_set = vec![entry(1, 1, 2500), entry(1, 2, 2500), entry(2, 1, 4999), entry(2, 1, 1)];
    // (2,1) twice is refused even with these weights...
    assert_code(register(&mut state, &m, 5).await, error::invalid_training_set(""), "listed twice");
    // ...and four distinct published versions at the maximum count pass.
    state.put_version(&Version { datanet_id: 2, version: 2, merkle_root: vec![2; 32], ..Default::default() });
    m.training_set = vec![entry(1, 1, 2500), entry(1, 2, 2500), entry(2, 1, 4999), entry(2, 2, 1)];
    m.fee_split = Some(FeeSplit { owner_bps: 10000, contributors_bps: 0, datanet_owners_bps: 0, protocol_bps: 0, operator_bps: 0 });
    assert_eq!(register(&mut state, &m, 5).await.unwrap(), 1);

    // Decoding: a bad signer is refused before any state is read; other type URLs are
    // not ours; garbage bytes are a decode error.
    let mut bad = register_msg(&owner);
    bad.owner = "open1notanaddress".into();
    let e = ModelMsg::decode(REGISTER, &bad.encode_to_vec()).unwrap().unwrap_err();
    assert_eq!((e.codespace, e.code), ("model", 9));
    bad.owner = String::new();
    let e = ModelMsg::decode(REGISTER, &bad.encode_to_vec()).unwrap().unwrap_err();
    assert!(e.message.contains("owner address is empty"));
    assert!(ModelMsg::decode("/openledger.datanet.v1.MsgCreateDatanet", &[]).is_none());
    assert!(ModelMsg::decode("/openledger.model.v1.MsgNope", &[]).is_none());
    let e = ModelMsg::decode(UPDATE, &[0xff, 0xff]).unwrap().unwrap_err();
    assert_eq!((e.codespace, e.code), ("sdk", 2));
}

#[tokio::test]
async fn update_refusals() {
    let (_storage, mut state) = setup().await;
    let owner = addr(1);
    assert_eq!(register(&mut state, &register_msg(&owner), 5).await.unwrap(), 1);
    let before = state.model(1).await.unwrap().unwrap();
    let with = |f: &dyn Fn(&mut MsgUpdateModel)| {
        let mut m = update_msg(&owner, 1);
        f(&mut m);
        m
    };
    let cases: Vec<(&str, MsgUpdateModel, ChainError, &str)> = vec![
        (
            "not the owner",
            {
                let mut m = update_msg(&addr(2), 1);
                m.price_per_unit = Some(uopen(1));
                m
            },
            error::unauthorized(""),
            "only the owner",
        ),
        (
            "missing model",
            with(&|m| {
                m.model_id = 99;
                m.price_per_unit = Some(uopen(1));
            }),
            error::not_found(""),
            "model 99 not found",
        ),
        ("nothing to update", with(&|_| {}), error::invalid_field(""), "nothing to update"),
        (
            "operators without set_operators",
            with(&|m| m.operators = vec![addr(12).to_string()]),
            error::invalid_field(""),
            "set_operators is false",
        ),
        ("unknown status", with(&|m| m.status = 7), error::invalid_field(""), "status 7"),
        ("zero price", with(&|m| m.price_per_unit = Some(uopen(0))), error::invalid_coins(""), "must be positive"),
        (
            "price in another denom",
            with(&|m| m.price_per_unit = Some(Coin { denom: "uatom".into(), amount: "1".into() })),
            error::invalid_coins(""),
            "must be in uopen",
        ),
        (
            "too many operators",
            with(&|m| {
                m.set_operators = true;
                m.operators = (10..14).map(|n| addr(n).to_string()).collect();
            }),
            error::invalid_operators(""),
            "the maximum is 3",
        ),
        ("emptied operators", with(&|m| m.set_operators = true), error::invalid_operators(""), "at least one operator"),
        (
            "duplicate operators",
            with(&|m| {
                m.set_operators = true;
                m.operators = vec![addr(12).to_string(), addr(12).to_string()];
            }),
            error::invalid_operators(""),
            "listed twice",
        ),
    ];
    for (what, m, expected, needle) in cases {
        let e = update(&mut state, &m, 6).await.expect_err(what);
        assert_eq!((e.codespace, e.code), (expected.codespace, expected.code), "{what}: {}", e.message);
        assert!(e.message.contains(needle), "{what}: {:?} does not mention {needle:?}", e.message);
    }
    assert_eq!(state.model(1).await.unwrap().unwrap(), before);
}

async fn all_pages<F, Fut>(mut fetch: F, limit: u64) -> (Vec<u64>, Vec<usize>, u64)
where
    F: FnMut(PageRequest) -> Fut,
    Fut: std::future::Future<Output = Result<(Vec<Model>, openledger_proto::cosmos::base::query::v1beta1::PageResponse), QueryError>>,
{
    let mut ids = Vec::new();
    let mut sizes = Vec::new();
    let mut key = Vec::new();
    loop {
        let (models, resp) = fetch(PageRequest { key: key.clone(), limit, count_total: true, ..Default::default() }).await.unwrap();
        sizes.push(models.len());
        ids.extend(models.iter().map(|m| m.id));
        if resp.next_key.is_empty() {
            return (ids, sizes, resp.total);
        }
        key = resp.next_key;
    }
}

#[tokio::test]
async fn queries_page_in_id_order() {
    let (storage, mut state) = setup().await;
    let (a, b) = (addr(1), addr(2));
    // Models 1..=8: A owns the odd ones, B the even ones; models 3, 4 and 8 also train
    // on datanet 2 (model 8 also on two versions of datanet 1).
    for id in 1..=8u64 {
        let owner = if id % 2 == 1 { a } else { b };
        let mut m = register_msg(&owner);
        m.training_set = match id {
            3 | 4 => vec![entry(1, 1, 5000), entry(2, 1, 5000)],
            8 => vec![entry(1, 1, 3000), entry(1, 2, 3000), entry(2, 1, 4000)],
            _ => vec![entry(1, 2, 10000)],
        };
        assert_eq!(register(&mut state, &m, id).await.unwrap(), id);
    }
    storage.commit(state).await.unwrap();
    let snap = storage.latest_snapshot();

    let (ids, sizes, total) = all_pages(
        |p| {
            let snap = snap.clone();
            async move {
                let r = query::models(&snap, QueryModelsRequest { pagination: Some(p) }).await?;
                Ok((r.models, r.pagination.unwrap()))
            }
        },
        3,
    )
    .await;
    assert_eq!((ids, sizes, total), ((1..=8).collect(), vec![3, 3, 2], 8));

    let by_datanet = |datanet_id: u64| {
        let snap = snap.clone();
        move |p: PageRequest| {
            let snap = snap.clone();
            async move {
                let r = query::models_by_datanet(&snap, QueryModelsByDatanetRequest { datanet_id, pagination: Some(p) }).await?;
                Ok((r.models, r.pagination.unwrap()))
            }
        }
    };
    assert_eq!(all_pages(by_datanet(2), 2).await, (vec![3, 4, 8], vec![2, 1], 3));
    // Model 8 trains on two versions of datanet 1 and is listed once.
    assert_eq!(all_pages(by_datanet(1), 5).await, ((1..=8).collect(), vec![5, 3], 8));
    assert_eq!(all_pages(by_datanet(3), 5).await, (vec![], vec![0], 0));

    let by_owner = |owner: Address| {
        let snap = snap.clone();
        move |p: PageRequest| {
            let snap = snap.clone();
            async move {
                let r = query::models_by_owner(&snap, QueryModelsByOwnerRequest { owner: owner.to_string(), pagination: Some(p) }).await?;
                Ok((r.models, r.pagination.unwrap()))
            }
        }
    };
    assert_eq!(all_pages(by_owner(b), 3).await, (vec![2, 4, 6, 8], vec![3, 1], 4));
    assert_eq!(all_pages(by_owner(a), 4).await, (vec![1, 3, 5, 7], vec![4], 4));
    assert_eq!(all_pages(by_owner(addr(9)), 4).await, (vec![], vec![0], 0));

    // Offset paging, the default page, and no count unless asked.
    let r = query::models(&snap, QueryModelsRequest { pagination: Some(PageRequest { offset: 6, limit: 5, ..Default::default() }) })
        .await
        .unwrap();
    assert_eq!(r.models.iter().map(|m| m.id).collect::<Vec<_>>(), vec![7, 8]);
    assert_eq!(r.pagination.unwrap().total, 0);
    let r = query::models(&snap, QueryModelsRequest { pagination: None }).await.unwrap();
    assert_eq!(r.models.len(), 8);
    assert!(r.pagination.unwrap().next_key.is_empty());

    // Single records and params.
    let r = query::model(&snap, QueryModelRequest { id: 4 }).await.unwrap();
    assert_eq!(r.model.unwrap().owner, b.to_string());
    assert_eq!(query::params(&snap, QueryParamsRequest {}).await.unwrap().params, Some(test_params()));

    // Refusals.
    use openledger_framework::error::QueryCode;
    let e = query::model(&snap, QueryModelRequest { id: 99 }).await.unwrap_err();
    assert_eq!(e.code, QueryCode::NotFound);
    let e = query::model(&snap, QueryModelRequest { id: 0 }).await.unwrap_err();
    assert_eq!(e.code, QueryCode::NotFound);
    let e = query::models_by_owner(&snap, QueryModelsByOwnerRequest { owner: "nope".into(), pagination: None }).await.unwrap_err();
    assert_eq!(e.code, QueryCode::InvalidArgument);
    let e = query::models_by_owner(&snap, QueryModelsByOwnerRequest { owner: String::new(), pagination: None }).await.unwrap_err();
    assert_eq!(e.code, QueryCode::InvalidArgument);
    let e = query::models_by_datanet(&snap, QueryModelsByDatanetRequest { datanet_id: 0, pagination: None }).await.unwrap_err();
    assert_eq!(e.code, QueryCode::InvalidArgument);
    for bad in [
        PageRequest { limit: 1001, ..Default::default() },
        PageRequest { reverse: true, ..Default::default() },
        PageRequest { key: vec![0; 8], offset: 1, ..Default::default() },
    ] {
        let e = query::models(&snap, QueryModelsRequest { pagination: Some(bad) }).await.unwrap_err();
        assert_eq!(e.code, QueryCode::InvalidArgument, "{}", e.message);
    }
}

/// Every `model/` entry of both stores (records, and index entries with their counters).
async fn module_state(snap: &Snapshot) -> (Vec<(String, Vec<u8>)>, Vec<(Vec<u8>, Vec<u8>)>) {
    let verifiable: Vec<_> = snap.prefix_raw("model/").map(|r| r.unwrap()).collect().await;
    let mut nonverifiable: Vec<_> = snap.nonverifiable_prefix_raw(b"model/").map(|r| r.unwrap()).collect().await;
    nonverifiable.extend(snap.nonverifiable_prefix_raw(b"count/model/").map(|r| r.unwrap()).collect::<Vec<_>>().await);
    (verifiable, nonverifiable)
}

async fn import(genesis: &GenesisState) -> Result<(TempStorage, Snapshot), ChainError> {
    let storage = TempStorage::new().await.unwrap();
    let mut state = StateDelta::new(storage.latest_snapshot());
    put_datanets(&mut state);
    ModelModule::init_genesis(&mut state, genesis).await?;
    storage.commit(state).await.unwrap();
    let snap = storage.latest_snapshot();
    Ok((storage, snap))
}

#[tokio::test]
async fn genesis_export_import_round_trip() {
    let (storage, mut state) = setup().await;
    for id in 1..=5u64 {
        let mut m = register_msg(&addr(1 + (id % 2) as u8));
        if id == 2 {
            m.training_set = vec![entry(1, 1, 5000), entry(1, 2, 5000)];
        }
        assert_eq!(register(&mut state, &m, 10 + id).await.unwrap(), id);
    }
    let mut u = update_msg(&addr(2), 3);
    u.price_per_unit = Some(uopen(77));
    u.set_operators = true;
    u.operators = vec![addr(20).to_string(), addr(21).to_string()];
    update(&mut state, &u, 30).await.unwrap();
    let mut u = update_msg(&addr(1), 4);
    u.status = ModelStatus::Retired as i32;
    update(&mut state, &u, 31).await.unwrap();
    storage.commit(state).await.unwrap();
    let original = storage.latest_snapshot();
    let exported = ModelModule::export_genesis(&original).await.unwrap();
    assert_eq!(exported.next_model_id, 6);
    assert_eq!(exported.models.iter().map(|m| m.id).collect::<Vec<_>>(), vec![1, 2, 3, 4, 5]);
    assert_eq!(exported.models[3].status, ModelStatus::Retired as i32);
    assert_eq!(exported.models[2].terms_version, 2);

    // Through JSON, as genesis files carry it (snake_case field names).
    let json = serde_json::to_string(&exported).unwrap();
    assert!(
        json.contains("\"next_model_id\"") && json.contains("\"terms_version\"") && json.contains("\"MODEL_STATUS_RETIRED\""),
        "{json}"
    );
    let parsed: GenesisState = serde_json::from_str(&json).unwrap();
    assert_eq!(parsed, exported);

    let (_fresh, imported) = import(&parsed).await.unwrap();
    let (a, b) = (module_state(&original).await, module_state(&imported).await);
    assert!(!a.0.is_empty() && !a.1.is_empty());
    assert_eq!(a, b);
    assert_eq!(ModelModule::export_genesis(&imported).await.unwrap(), exported);

    // An empty genesis: default params when none are given, ids start at 1.
    let (_s, snap) = import(&GenesisState::default()).await.unwrap();
    let g = ModelModule::export_genesis(&snap).await.unwrap();
    assert_eq!(g, GenesisState { params: Some(default_params()), models: vec![], next_model_id: 1 });
}

#[tokio::test]
async fn genesis_refusals() {
    let (storage, mut state) = setup().await;
    assert_eq!(register(&mut state, &register_msg(&addr(1)), 3).await.unwrap(), 1);
    storage.commit(state).await.unwrap();
    let good = ModelModule::export_genesis(&storage.latest_snapshot()).await.unwrap();
    assert!(import(&good).await.is_ok());
    let with = |f: &dyn Fn(&mut GenesisState)| {
        let mut g = good.clone();
        f(&mut g);
        g
    };
    let cases: Vec<(&str, GenesisState, &str)> = vec![
        ("id 0", with(&|g| g.models[0].id = 0), "id 0"),
        ("id not below next", with(&|g| g.next_model_id = 1), "below next_model_id 1"),
        (
            "duplicate id",
            with(&|g| {
                let m = g.models[0].clone();
                g.models.push(m);
            }),
            "listed twice",
        ),
        ("unpublished version", with(&|g| g.models[0].training_set[0].version = 9), "no published version 9"),
        ("bad weights", with(&|g| g.models[0].training_set[0].weight_bps = 1), "sum to"),
        ("bad fee split", with(&|g| g.models[0].fee_split = None), "fee_split"),
        ("no bond", with(&|g| g.models[0].bond = None), "bond"),
        ("bad owner", with(&|g| g.models[0].owner = "x".into()), "owner"),
        ("bad status", with(&|g| g.models[0].status = 0), "status 0"),
        ("terms version 0", with(&|g| g.models[0].terms_version = 0), "terms_version"),
        ("heights", with(&|g| g.models[0].updated_height = 2), "before registered_height"),
        ("name too long", with(&|g| g.models[0].name = "x".repeat(17)), "name is 17 characters"),
        ("zero param", with(&|g| g.params.as_mut().unwrap().max_operators = 0), "max_operators must be positive"),
        ("bad min bond", with(&|g| g.params.as_mut().unwrap().min_operator_bond = "1e6".into()), "min_operator_bond"),
        ("too many entries", with(&|g| g.params.as_mut().unwrap().max_training_entries = 10_001), "max_training_entries"),
    ];
    for (what, g, needle) in cases {
        let e = import(&g).await.err().unwrap_or_else(|| panic!("{what}: accepted"));
        assert_eq!((e.codespace, e.code), ("model", 11), "{what}: {}", e.message);
        assert!(e.message.contains(needle), "{what}: {:?} does not mention {needle:?}", e.message);
    }
}

#[test]
fn bonds_account_is_the_named_module_account() {
    assert_eq!(crate::BONDS.name(), "model_bonds");
    assert_eq!(bonds(), Address::module(crate::BONDS.name()));
}
