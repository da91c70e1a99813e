//! The datanet story through the real app (ABCI driver, RocksDB): a datanet with three
//! contributors; a duplicate refused; one contribution rejected and slashed; a version
//! published whose proof verifies offline; a model registered on that version; a
//! challenge upheld and one dismissed; stake refunds at the end of the window; every
//! query answering from committed state; genesis export → import of both modules.
use cosmos_sdk_proto::Any;
use openledger_app::genesis::AppState;
use openledger_datanet::merkle;
use openledger_framework::Address;
use openledger_proto::cosmos::base::v1beta1::Coin;
use openledger_proto::openledger::datanet::v1 as dn;
use openledger_proto::openledger::model::v1 as md;
use openledger_test_driver::{test_key, TestNode};
use prost::Message;

const FUND: u128 = 1_000_000_000;
const FEE: u128 = 20_000;
const GAS: u64 = 6_000_000;
const WINDOW: u64 = 30;

fn uopen(n: u128) -> Option<Coin> {
    Some(Coin { denom: "uopen".into(), amount: n.to_string() })
}

fn any<M: Message>(name: &str, m: &M) -> Any {
    Any { type_url: format!("/openledger.datanet.v1.{name}"), value: m.encode_to_vec() }
}

fn model_any<M: Message>(name: &str, m: &M) -> Any {
    Any { type_url: format!("/openledger.model.v1.{name}"), value: m.encode_to_vec() }
}

const MODEL_BOND: u128 = 1_000_000;
/// The chain's minimum curator bond (default params).
const CURATOR_BOND: u128 = 10_000_000;

/// The owner and every listed curator of datanet `id` (test keys 0..8) bond the minimum.
fn bond_all(n: &mut TestNode, id: u64) {
    let d: dn::QueryDatanetResponse = query(n, "Datanet", dn::QueryDatanetRequest { id });
    let d = d.datanet.unwrap();
    for who in std::iter::once(&d.owner).chain(&d.curators) {
        let k = (0..8).find(|k| test_key(*k).address().to_string() == *who).expect("a test key");
        ok(n, k, bond_curator(k, id, CURATOR_BOND));
    }
}

/// `who` bonds `amount` as a curator of datanet `datanet_id`.
fn bond_curator(who: u64, datanet_id: u64, amount: u128) -> Any {
    any("MsgBondCurator", &dn::MsgBondCurator { curator: test_key(who).address().to_string(), datanet_id, amount: uopen(amount) })
}
const UNBONDING: u64 = 5;
/// Blocks a quorum's decision waits for an appeal in these tests.
const APPEAL: u64 = 3;

/// A node whose challenges resolve, escalate and expire in tens of blocks, with test key
/// `arbiter` the chain's arbiter.
fn node_with_arbiter(arbiter: u64) -> TestNode {
    let builder = TestNode::builder().funded_accounts(8, FUND);
    let mut state: AppState = builder.app_state();
    let mut p = openledger_datanet::component::default_params();
    p.challenge_window_blocks = WINDOW;
    p.challenge_resolution_blocks = 10;
    p.escalation_blocks = 10;
    p.appeal_blocks = APPEAL;
    p.curator_unbonding_blocks = WINDOW + 20 + APPEAL;
    p.arbiters = vec![test_key(arbiter).address().to_string()];
    state.datanet.params = Some(p);
    builder.with_app_state(state).build()
}

fn challenge_of(n: &TestNode, id: u64) -> dn::Challenge {
    let r: dn::QueryChallengeResponse = query(n, "Challenge", dn::QueryChallengeRequest { id });
    r.challenge.unwrap()
}

/// A quorum decided challenge `id`: run blocks until its appeal window ends and the
/// decision takes effect; the challenge as it then is.
fn take_effect(n: &mut TestNode, id: u64) -> dn::Challenge {
    let ch = challenge_of(n, id);
    assert_eq!(ch.status, dn::ChallengeStatus::Decided as i32, "challenge {id} awaits its appeal window");
    while n.height < ch.deadline_height {
        n.execute_block(vec![]);
    }
    challenge_of(n, id)
}

fn node() -> TestNode {
    let builder = TestNode::builder().funded_accounts(8, FUND);
    let mut state: AppState = builder.app_state();
    let mut p = openledger_datanet::component::default_params();
    p.challenge_window_blocks = WINDOW;
    p.challenge_resolution_blocks = WINDOW;
    p.appeal_blocks = APPEAL;
    p.min_challenge_bond = "1000".into();
    state.datanet.params = Some(p);
    let mut mp = openledger_model::component::default_params();
    mp.min_operator_bond = MODEL_BOND.to_string();
    mp.bond_unbonding_blocks = UNBONDING;
    state.model.params = Some(mp);
    builder.with_app_state(state).build()
}

/// Run one tx in its own block; returns (code, log, data).
/// Send one tx as a node takes it: CheckTx refuses what needs no state (a malformed
/// message never reaches a block); the rest runs in a block of its own.
fn run(n: &mut TestNode, who: u64, msg: Any) -> (u32, String, Vec<u8>) {
    run_with_gas(n, who, msg, GAS)
}

fn run_with_gas(n: &mut TestNode, who: u64, msg: Any, gas: u64) -> (u32, String, Vec<u8>) {
    let tx = n.msg_tx(&test_key(who), vec![msg], FEE, gas);
    let c = n.check_tx(&tx);
    if c.code != 0 {
        return (c.code, c.log, vec![]);
    }
    let r = n.execute_block(vec![tx]);
    let t = &r.tx_results[0];
    (t.code, t.log.clone(), t.data.to_vec())
}

fn ok(n: &mut TestNode, who: u64, msg: Any) -> Vec<u8> {
    let (code, log, data) = run(n, who, msg);
    assert_eq!(code, 0, "{log}");
    // TxMsgData { msg_responses: [Any] } → the response value.
    let d = cosmos_sdk_proto::cosmos::base::abci::v1beta1::TxMsgData::decode(data.as_slice()).unwrap();
    d.msg_responses[0].value.clone()
}

fn refused(n: &mut TestNode, who: u64, msg: Any, code: u32, contains: &str) {
    let (c, log, _) = run(n, who, msg);
    assert_eq!(c, code, "{log}");
    assert!(log.contains(contains), "{log:?} should contain {contains:?}");
}

fn query<Req: Message, Resp: Message + Default>(n: &TestNode, method: &str, req: Req) -> Resp {
    query_service(n, "openledger.datanet.v1", method, req)
}

fn query_service<Req: Message, Resp: Message + Default>(n: &TestNode, service: &str, method: &str, req: Req) -> Resp {
    let r = n.query(&format!("/{service}.Query/{method}"), req.encode_to_vec(), 0);
    assert_eq!(r.code, 0, "{}", r.log);
    Resp::decode(r.value.as_ref()).unwrap()
}

/// The fingerprinting of this file's datanets: every shingle kept (modulus 1), so short
/// test texts have fingerprints, and contribution weights count them.
fn test_fp() -> Option<dn::FingerprintParams> {
    Some(dn::FingerprintParams { modulus: 1, max_hashes: 1024, near_duplicate_bps: 0 })
}

fn fp_of(content: &[u8]) -> Vec<u64> {
    openledger_datanet::fingerprint::compute(std::str::from_utf8(content).unwrap(), 1, 1024).unwrap()
}

fn submit(who: u64, content: &[u8], stake: u128) -> Any {
    use sha2::Digest;
    any(
        "MsgSubmitContribution",
        &dn::MsgSubmitContribution {
            contributor: test_key(who).address().to_string(),
            datanet_id: 1,
            content_hash: sha2::Sha256::digest(content).to_vec(),
            size: content.len() as u64,
            uri: format!("ipfs://{}", content.len()),
            fingerprint: fp_of(content),
            stake: uopen(stake),
            salt: vec![],
        },
    )
}

fn review(curator: u64, id: u64, accept: bool, quality: u32) -> Any {
    any(
        "MsgReviewContribution",
        &dn::MsgReviewContribution {
            curator: test_key(curator).address().to_string(),
            contribution_id: id,
            accept,
            quality_bps: quality,
            reason: if accept { String::new() } else { "off-topic".into() },
        },
    )
}

#[test]
fn datanet_story_contributions_reviews_versions_proofs_and_challenges() {
    let mut n = node();
    let owner = 0;
    let (alice, bob, carol, challenger) = (1, 2, 3, 4);
    let escrow = openledger_datanet::escrow();
    let treasury = openledger_datanet::treasury(1);

    // Create: owner 0, curators 5, 6 and 7, 20% of a rejected stake slashed, 50% of a
    // slashed stake to a successful challenger.
    let create = dn::MsgCreateDatanet {
        owner: test_key(owner).address().to_string(),
        name: "Medical QA".into(),
        description: "Curated clinical question/answer pairs".into(),
        tags: vec!["medical".into(), "qa".into()],
        metadata_uri: "ipfs://meta".into(),
        curators: [5, 6, 7].iter().map(|k| test_key(*k).address().to_string()).collect(),
        policy: dn::ContributionPolicy::Open as i32,
        allow_list: vec![],
        min_stake: uopen(10_000),
        terms: Some(dn::ContributionTerms { reject_slash_bps: 2000, challenge_reward_bps: 5000 }),
        fingerprint: test_fp(),
        model_terms: None,
        curators_bps: 0,
    };
    refused(&mut n, owner, any("MsgCreateDatanet", &dn::MsgCreateDatanet { name: String::new(), ..create.clone() }), 2, "name is required");
    refused(&mut n, owner, any("MsgCreateDatanet", &dn::MsgCreateDatanet { tags: vec!["Bad Tag".into()], ..create.clone() }), 2, "tag");
    refused(&mut n, owner, any("MsgCreateDatanet", &dn::MsgCreateDatanet { min_stake: uopen(1), ..create.clone() }), 6, "floor");
    let r = dn::MsgCreateDatanetResponse::decode(ok(&mut n, owner, any("MsgCreateDatanet", &create)).as_slice()).unwrap();
    assert_eq!((r.id, r.treasury.clone()), (1, treasury.to_string()));
    // Curators act only bonded: below the minimum is refused, and so is an unlisted key.
    refused(&mut n, 5, bond_curator(5, 1, CURATOR_BOND - 1), 6, "below the minimum");
    refused(&mut n, 1, bond_curator(1, 1, CURATOR_BOND), 3, "neither the owner nor a curator");
    for k in [owner, 5, 6, 7] {
        ok(&mut n, k, bond_curator(k, 1, CURATOR_BOND));
    }

    // Three contributors; the same content a second time is refused; a stake below the
    // minimum is refused.
    let texts: [&[u8]; 3] = [
        b"what is the normal resting heart rate of an adult human being at rest in beats per minute",
        b"how long should a patient fast before a routine blood glucose test according to common guidance",
        b"buy cheap watches now best prices click here limited offer today only act fast",
    ];
    refused(&mut n, alice, submit(alice, texts[0], 9_999), 6, "below datanet 1's minimum");
    for (i, who) in [alice, bob, carol].into_iter().enumerate() {
        let id =
            dn::MsgSubmitContributionResponse::decode(ok(&mut n, who, submit(who, texts[i], 10_000)).as_slice()).unwrap().contribution_id;
        assert_eq!(id, i as u64 + 1);
    }
    refused(&mut n, bob, submit(bob, texts[0], 10_000), 5, "already in datanet 1 as contribution 1");
    assert_eq!(n.balance(&escrow), 30_000 + 4 * CURATOR_BOND);

    // Only curators review, not their own work; accept two, reject the spam (20% slashed).
    refused(&mut n, alice, review(alice, 2, true, 9000), 3, "not a curator");
    ok(&mut n, 5, review(5, 1, true, 9000));
    ok(&mut n, owner, review(owner, 2, true, 6000));
    let carol_before = n.balance(&test_key(carol).address());
    let rej = dn::MsgReviewContributionResponse::decode(ok(&mut n, 5, review(5, 3, false, 0)).as_slice()).unwrap();
    assert_eq!((rej.slashed.as_str(), rej.refunded.as_str()), ("2000", "8000"));
    assert_eq!(n.balance(&treasury), 2000);
    assert_eq!(n.balance(&test_key(carol).address()), carol_before + 8000);
    refused(&mut n, 5, review(5, 3, true, 9000), 7, "only pending ones are reviewed");

    // Publish version 1; its proof for contribution 1 verifies offline.
    let publish_by =
        |who: u64| any("MsgPublishVersion", &dn::MsgPublishVersion { publisher: test_key(who).address().to_string(), datanet_id: 1 });
    let publish = publish_by(5);
    refused(&mut n, alice, publish_by(alice), 3, "is not a curator");
    let v1 = dn::MsgPublishVersionResponse::decode(ok(&mut n, 5, publish.clone()).as_slice()).unwrap();
    assert_eq!(v1.version, 1);
    refused(&mut n, 5, publish.clone(), 11, "nothing changed");
    let version: dn::QueryVersionResponse = query(&n, "Version", dn::QueryVersionRequest { datanet_id: 1, version: 1 });
    let version = version.version.unwrap();
    // Each weighs its quality times the hashes it brought (all of them: nothing shared).
    let weight_1 = openledger_datanet::reward_weight(9000, fp_of(texts[0]).len() as u64);
    let weight_2 = openledger_datanet::reward_weight(6000, fp_of(texts[1]).len() as u64);
    assert_eq!((version.contribution_count, version.total_weight.clone()), (2, (weight_1 + weight_2).to_string()));
    let proof: dn::QueryInclusionProofResponse =
        query(&n, "InclusionProof", dn::QueryInclusionProofRequest { datanet_id: 1, version: 1, contribution_id: 1 });
    let proof = proof.proof.unwrap();
    assert_eq!(merkle::verify(&proof), Ok(()));
    assert_eq!(proof.weight, weight_1.to_string());
    // The rejected contribution is in no version.
    let r = n.query(
        "/openledger.datanet.v1.Query/InclusionProof",
        dn::QueryInclusionProofRequest { datanet_id: 1, version: 1, contribution_id: 3 }.encode_to_vec(),
        0,
    );
    assert!(r.log.contains("code = NotFound"), "{}", r.log);

    // A model trained on version 1: the bond moves to model_bonds; a training set naming
    // an unpublished version is refused; only the owner updates it, and each change of
    // terms bumps terms_version.
    let builder_key = 4;
    let register = md::MsgRegisterModel {
        owner: test_key(builder_key).address().to_string(),
        name: "medqa-8b".into(),
        base_model: "llama-3-8b".into(),
        artifact_hash: vec![0xab; 32],
        artifact_uri: "ipfs://medqa-8b".into(),
        training_set: vec![md::TrainingEntry { datanet_id: 1, version: 1, weight_bps: 10_000 }],
        operators: vec![test_key(5).address().to_string()],
        price_per_unit: uopen(50),
        fee_split: Some(md::FeeSplit {
            owner_bps: 4000,
            contributors_bps: 4000,
            datanet_owners_bps: 1000,
            protocol_bps: 1000,
            operator_bps: 0,
        }),
        bond: uopen(MODEL_BOND),
    };
    let unpublished = md::MsgRegisterModel {
        training_set: vec![md::TrainingEntry { datanet_id: 1, version: 2, weight_bps: 10_000 }],
        ..register.clone()
    };
    refused(&mut n, builder_key, model_any("MsgRegisterModel", &unpublished), 5, "version 2");
    let model_id = md::MsgRegisterModelResponse::decode(ok(&mut n, builder_key, model_any("MsgRegisterModel", &register)).as_slice())
        .unwrap()
        .model_id;
    assert_eq!(model_id, 1);
    assert_eq!(n.balance(&openledger_model::bonds()), MODEL_BOND);
    let reprice = |who: u64| md::MsgUpdateModel {
        owner: test_key(who).address().to_string(),
        model_id,
        price_per_unit: uopen(60),
        ..Default::default()
    };
    refused(&mut n, alice, model_any("MsgUpdateModel", &reprice(alice)), 3, "owner");
    let terms = md::MsgUpdateModelResponse::decode(ok(&mut n, builder_key, model_any("MsgUpdateModel", &reprice(builder_key))).as_slice())
        .unwrap()
        .terms_version;
    assert_eq!(terms, 2);
    let by_datanet: md::QueryModelsByDatanetResponse =
        model_query(&n, "ModelsByDatanet", md::QueryModelsByDatanetRequest { datanet_id: 1, pagination: None });
    assert_eq!(
        by_datanet.models.iter().map(|m| (m.id, m.price_per_unit.clone().unwrap().amount)).collect::<Vec<_>>(),
        vec![(1, "60".to_string())]
    );

    // Challenge 1 against contribution 2: upheld → weight 0 from version 2, stake slashed
    // (half to the challenger, half to the treasury), bond back. A bond is half the
    // stake at risk.
    let challenge = |id: u64| {
        any(
            "MsgChallengeContribution",
            &dn::MsgChallengeContribution {
                challenger: test_key(challenger).address().to_string(),
                contribution_id: id,
                reason: "copied from a copyrighted textbook".into(),
                bond: uopen(5000),
            },
        )
    };
    refused(
        &mut n,
        bob,
        any(
            "MsgChallengeContribution",
            &dn::MsgChallengeContribution {
                challenger: test_key(bob).address().to_string(),
                contribution_id: 2,
                reason: "x".into(),
                bond: uopen(1000),
            },
        ),
        3,
        "own contribution",
    );
    let ch1 = dn::MsgChallengeContributionResponse::decode(ok(&mut n, challenger, challenge(2)).as_slice()).unwrap().challenge_id;
    refused(&mut n, challenger, challenge(2), 15, "already has open challenge");
    let ch2 = dn::MsgChallengeContributionResponse::decode(ok(&mut n, challenger, challenge(1)).as_slice()).unwrap().challenge_id;
    let challenger_before = n.balance(&test_key(challenger).address());
    let resolve = |who: u64, id: u64, uphold: bool| {
        any(
            "MsgResolveChallenge",
            &dn::MsgResolveChallenge {
                curator: test_key(who).address().to_string(),
                challenge_id: id,
                uphold,
                resolution: "checked".into(),
            },
        )
    };
    refused(&mut n, alice, resolve(alice, ch1, true), 3, "not a curator");
    // The curator who accepted a contribution does not judge the challenge against it.
    refused(&mut n, owner, resolve(owner, ch1, true), 3, "a contribution they accepted");
    refused(&mut n, 5, resolve(5, ch2, false), 3, "a contribution they accepted");
    // A quorum of the uninvolved decides: for challenge 1 curators 5, 6 and 7 are
    // eligible (the owner accepted contribution 2), so two votes on one side.
    let vote = dn::MsgResolveChallengeResponse::decode(ok(&mut n, 5, resolve(5, ch1, true)).as_slice()).unwrap();
    assert_eq!((vote.status, vote.slashed.as_str()), (dn::ChallengeStatus::Open as i32, "0"), "one vote decides nothing");
    refused(&mut n, 5, resolve(5, ch1, false), 19, "already voted");
    let treasury_before = n.balance(&treasury);
    let up = dn::MsgResolveChallengeResponse::decode(ok(&mut n, 6, resolve(6, ch1, true)).as_slice()).unwrap();
    // Decided, and held for the appeal window: nothing moves yet.
    assert_eq!((up.status, up.slashed.as_str()), (dn::ChallengeStatus::Decided as i32, "0"));
    refused(&mut n, 7, resolve(7, ch1, false), 7, "unless appealed");
    assert_eq!(n.balance(&test_key(challenger).address()), challenger_before);
    let c = take_effect(&mut n, ch1);
    // Stake 10,000: half and the bond back to the challenger, half to the treasury.
    assert_eq!(c.status, dn::ChallengeStatus::Upheld as i32);
    assert_eq!(n.balance(&test_key(challenger).address()), challenger_before + 10000);
    // The curator who accepted the bad contribution (the owner) loses 10% of its bond.
    assert_eq!(n.balance(&treasury), treasury_before + 5000 + CURATOR_BOND / 10);
    assert_eq!((c.uphold_votes.len(), c.resolver), (2, test_key(6).address().to_string()));
    // Dismissed by the owner and curator 7 (curator 5 accepted contribution 1): the
    // bond goes to the treasury. Slashed below the minimum, the owner tops up to vote.
    refused(&mut n, owner, resolve(owner, ch2, false), 18, "9000000 uopen bonded");
    ok(&mut n, owner, bond_curator(owner, 1, CURATOR_BOND / 10));
    let treasury_before = n.balance(&treasury);
    let alice_addr: Address = test_key(alice).address();
    let before = n.balance(&alice_addr);
    ok(&mut n, owner, resolve(owner, ch2, false));
    ok(&mut n, 7, resolve(7, ch2, false));
    assert_eq!(take_effect(&mut n, ch2).status, dn::ChallengeStatus::Dismissed as i32);
    assert_eq!(n.balance(&treasury), treasury_before + 5000);
    refused(&mut n, owner, resolve(owner, ch2, true), 7, "no longer open");

    // Version 2 has contribution 2 at weight 0; version 1's proof still verifies.
    let v2 = dn::MsgPublishVersionResponse::decode(ok(&mut n, owner, publish_by(owner)).as_slice()).unwrap();
    assert_eq!(v2.version, 2);
    for (version, expect) in [(1u64, weight_2.to_string()), (2, "0".to_string())] {
        let p: dn::QueryInclusionProofResponse =
            query(&n, "InclusionProof", dn::QueryInclusionProofRequest { datanet_id: 1, version, contribution_id: 2 });
        let p = p.proof.unwrap();
        assert_eq!(merkle::verify(&p), Ok(()), "version {version}");
        assert_eq!(p.weight, expect);
    }

    // Past the window (or at the dismissal, if later), alice's stake comes back.
    for _ in 0..WINDOW {
        n.execute_block(vec![]);
    }
    assert_eq!(n.balance(&alice_addr), before + 10_000);
    assert_eq!(n.balance(&escrow), 4 * CURATOR_BOND, "every stake and challenge bond is settled; curator bonds stay");

    // Lists page with next_key; status filters; owner and tag filters.
    let page1: dn::QueryContributionsResponse = query(
        &n,
        "Contributions",
        dn::QueryContributionsRequest {
            datanet_id: 1,
            pagination: Some(openledger_proto::cosmos::base::query::v1beta1::PageRequest {
                limit: 2,
                count_total: true,
                ..Default::default()
            }),
            ..Default::default()
        },
    );
    assert_eq!(page1.contributions.iter().map(|c| c.id).collect::<Vec<_>>(), vec![1, 2]);
    let pg = page1.pagination.unwrap();
    assert_eq!(pg.total, 3);
    let page2: dn::QueryContributionsResponse = query(
        &n,
        "Contributions",
        dn::QueryContributionsRequest {
            datanet_id: 1,
            pagination: Some(openledger_proto::cosmos::base::query::v1beta1::PageRequest {
                key: pg.next_key,
                limit: 2,
                ..Default::default()
            }),
            ..Default::default()
        },
    );
    assert_eq!(page2.contributions.iter().map(|c| c.id).collect::<Vec<_>>(), vec![3]);
    assert!(page2.pagination.unwrap().next_key.is_empty());
    let rejected: dn::QueryContributionsResponse = query(
        &n,
        "Contributions",
        dn::QueryContributionsRequest { datanet_id: 1, status: dn::ContributionStatus::Rejected as i32, ..Default::default() },
    );
    assert_eq!(rejected.contributions.iter().map(|c| c.id).collect::<Vec<_>>(), vec![3]);
    let by_tag: dn::QueryDatanetsResponse = query(&n, "Datanets", dn::QueryDatanetsRequest { tag: "qa".into(), ..Default::default() });
    assert_eq!(by_tag.datanets.len(), 1);
    let r = n.query("/openledger.datanet.v1.Query/Datanet", dn::QueryDatanetRequest { id: 9 }.encode_to_vec(), 0);
    assert!(r.log.contains("code = NotFound"), "{}", r.log);

    // Genesis export → import into a new chain gives the same datanet and model state.
    let exported = (export(&n), export_models(&n));
    let builder = TestNode::builder().funded_accounts(6, FUND);
    let mut state = builder.app_state();
    state.datanet = exported.0.clone();
    state.model = exported.1.clone();
    let m = builder.with_app_state(state).build();
    assert_eq!((export(&m), export_models(&m)), exported);
    let p: dn::QueryInclusionProofResponse =
        query(&m, "InclusionProof", dn::QueryInclusionProofRequest { datanet_id: 1, version: 1, contribution_id: 2 });
    assert_eq!(merkle::verify(&p.proof.unwrap()), Ok(()));
    // The import rebuilt the version tree node for node, with the same history, and the
    // lists entry for entry: what the messages wrote, the import writes.
    // (A list emptied by the messages keeps a count of 0; the import writes none.)
    for prefix in [b"tree/datanet/".as_slice(), b"ix/datanet/", b"count/ix/datanet/"] {
        let entries = |n: &TestNode| -> Vec<_> { nonverifiable(n, prefix).into_iter().filter(|(_, v)| *v != 0u64.to_be_bytes()).collect() };
        let (live, imported) = (entries(&n), entries(&m));
        assert!(!live.is_empty(), "{}", String::from_utf8_lossy(prefix));
        assert_eq!(imported, live, "{}", String::from_utf8_lossy(prefix));
    }
}

/// Every non-verifiable entry under `prefix` of the latest state.
fn nonverifiable(n: &TestNode, prefix: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
    use openledger_framework::StoreRead;
    let snap = n.app.storage().latest_snapshot();
    n.rt().block_on(async move { snap.nonverifiable_entries(prefix).await }).unwrap()
}

fn export_models(n: &TestNode) -> md::GenesisState {
    n.rt().block_on(async {
        <openledger_model::ModelModule as openledger_framework::Module>::export_genesis(&n.app.storage().latest_snapshot()).await.unwrap()
    })
}

fn model_query<Req: Message, Resp: Message + Default>(n: &TestNode, method: &str, req: Req) -> Resp {
    query_service(n, "openledger.model.v1", method, req)
}

fn export(n: &TestNode) -> dn::GenesisState {
    n.rt().block_on(async {
        <openledger_datanet::DatanetModule as openledger_framework::Module>::export_genesis(&n.app.storage().latest_snapshot())
            .await
            .unwrap()
    })
}

/// Refusals not reached by the story: each leaves the module's state (and the escrow)
/// exactly as it was; only the tx's fee and sequence move.
#[test]
fn refused_datanet_messages_change_no_module_state() {
    let mut n = node();
    let (owner, alice, bob) = (0, 1, 2);
    let create = dn::MsgCreateDatanet {
        owner: test_key(owner).address().to_string(),
        name: "Allow-listed".into(),
        fingerprint: test_fp(),
        policy: dn::ContributionPolicy::AllowList as i32,
        allow_list: vec![test_key(alice).address().to_string()],
        min_stake: uopen(10_000),
        ..Default::default()
    };
    ok(&mut n, owner, any("MsgCreateDatanet", &create));
    bond_all(&mut n, 1);
    let id = dn::MsgSubmitContributionResponse::decode(
        ok(&mut n, alice, submit(alice, b"one two three four five six seven eight nine", 10_000)).as_slice(),
    )
    .unwrap()
    .contribution_id;
    let before = (export(&n), n.balance(&openledger_datanet::escrow()));

    let bad_fingerprint = |fp: Vec<u64>| {
        let mut m = dn::MsgSubmitContribution::decode(submit(alice, b"other data entirely", 10_000).value.as_slice()).unwrap();
        m.fingerprint = fp;
        any("MsgSubmitContribution", &m)
    };
    let mut short_hash = dn::MsgSubmitContribution::decode(submit(alice, b"x", 10_000).value.as_slice()).unwrap();
    short_hash.content_hash.truncate(31);
    let update = |who: u64| dn::MsgUpdateDatanet {
        owner: test_key(who).address().to_string(),
        datanet_id: 1,
        description: Some("new".into()),
        ..Default::default()
    };
    let cases: Vec<(u64, Any, u32, &str)> = vec![
        (bob, submit(bob, b"bob is not on the allow list at all", 10_000), 9, "not on the allow-list"),
        (alice, bad_fingerprint(vec![32, 16]), 8, "sorted and unique"),
        (alice, bad_fingerprint(vec![]), 8, "fingerprint is empty"),
        (alice, bad_fingerprint((1..=1025).collect()), 8, "the datanet's cap is 1024"),
        (alice, any("MsgSubmitContribution", &short_hash), 2, "32-byte"),
        (
            alice,
            any(
                "MsgSubmitContribution",
                &dn::MsgSubmitContribution {
                    datanet_id: 9,
                    ..dn::MsgSubmitContribution::decode(submit(alice, b"x", 10_000).value.as_slice()).unwrap()
                },
            ),
            4,
            "datanet 9 not found",
        ),
        (
            alice,
            any(
                "MsgSubmitContribution",
                &dn::MsgSubmitContribution {
                    stake: Some(Coin { denom: "uatom".into(), amount: "10000".into() }),
                    ..dn::MsgSubmitContribution::decode(submit(alice, b"fresh data", 1).value.as_slice()).unwrap()
                },
            ),
            14,
            "must be in uopen",
        ),
        (alice, submit(alice, b"one two three four five six seven eight nine", 10_000), 5, "already in datanet 1"),
        (bob, any("MsgUpdateDatanet", &update(bob)), 3, "only the owner"),
        (owner, any("MsgUpdateDatanet", &dn::MsgUpdateDatanet { policy: 1, ..update(owner) }), 2, "allow-list needs policy"),
        (
            bob,
            any(
                "MsgWithdrawContribution",
                &dn::MsgWithdrawContribution { contributor: test_key(bob).address().to_string(), contribution_id: id },
            ),
            3,
            "only the contributor",
        ),
        (
            alice,
            any(
                "MsgWithdrawContribution",
                &dn::MsgWithdrawContribution { contributor: test_key(alice).address().to_string(), contribution_id: 77 },
            ),
            4,
            "not found",
        ),
        (owner, review(owner, id, true, 0), 2, "quality_bps 0"),
        (owner, review(owner, id, true, 10_001), 2, "quality_bps 10001"),
        (
            owner,
            any(
                "MsgReviewContribution",
                &dn::MsgReviewContribution {
                    curator: test_key(owner).address().to_string(),
                    contribution_id: id,
                    accept: false,
                    ..Default::default()
                },
            ),
            2,
            "reason is required",
        ),
        (
            owner,
            any("MsgPublishVersion", &dn::MsgPublishVersion { publisher: test_key(owner).address().to_string(), datanet_id: 1 }),
            11,
            "no accepted contribution",
        ),
        (
            bob,
            any(
                "MsgChallengeContribution",
                &dn::MsgChallengeContribution {
                    challenger: test_key(bob).address().to_string(),
                    contribution_id: id,
                    reason: "r".into(),
                    bond: uopen(1000),
                },
            ),
            7,
            "only accepted ones",
        ),
        (
            bob,
            any(
                "MsgResolveChallenge",
                &dn::MsgResolveChallenge { curator: test_key(bob).address().to_string(), challenge_id: 5, ..Default::default() },
            ),
            4,
            "challenge 5 not found",
        ),
    ];
    for (who, msg, code, contains) in cases {
        refused(&mut n, who, msg, code, contains);
        assert_eq!((export(&n), n.balance(&openledger_datanet::escrow())), before, "{contains}: module state moved");
    }

    // A pending contribution is withdrawn with a full refund; its content may come back.
    let alice_before = n.balance(&test_key(alice).address());
    let r = dn::MsgWithdrawContributionResponse::decode(
        ok(
            &mut n,
            alice,
            any(
                "MsgWithdrawContribution",
                &dn::MsgWithdrawContribution { contributor: test_key(alice).address().to_string(), contribution_id: id },
            ),
        )
        .as_slice(),
    )
    .unwrap();
    assert_eq!(r.refunded, "10000");
    assert_eq!(n.balance(&test_key(alice).address()), alice_before + 10_000 - FEE);
    refused(
        &mut n,
        alice,
        any(
            "MsgWithdrawContribution",
            &dn::MsgWithdrawContribution { contributor: test_key(alice).address().to_string(), contribution_id: id },
        ),
        7,
        "only pending ones",
    );
    ok(&mut n, alice, submit(alice, b"one two three four five six seven eight nine", 10_000));
}

/// Every datanet query refuses bad input with a gRPC code, over ABCI.
#[test]
fn datanet_queries_refuse_bad_input() {
    use openledger_proto::cosmos::base::query::v1beta1::PageRequest;
    let n = node();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("Datanet", dn::QueryDatanetRequest { id: 1 }.encode_to_vec(), "NotFound"),
        ("Curators", dn::QueryCuratorsRequest { datanet_id: 1 }.encode_to_vec(), "NotFound"),
        ("Datanets", dn::QueryDatanetsRequest { owner: "open1bad".into(), ..Default::default() }.encode_to_vec(), "InvalidArgument"),
        (
            "Datanets",
            dn::QueryDatanetsRequest { owner: test_key(0).address().to_string(), tag: "qa".into(), ..Default::default() }.encode_to_vec(),
            "InvalidArgument",
        ),
        (
            "Datanets",
            dn::QueryDatanetsRequest { pagination: Some(PageRequest { reverse: true, ..Default::default() }), ..Default::default() }
                .encode_to_vec(),
            "InvalidArgument",
        ),
        (
            "Datanets",
            dn::QueryDatanetsRequest { pagination: Some(PageRequest { limit: 1001, ..Default::default() }), ..Default::default() }
                .encode_to_vec(),
            "InvalidArgument",
        ),
        (
            "Datanets",
            dn::QueryDatanetsRequest {
                pagination: Some(PageRequest { key: vec![1], offset: 1, ..Default::default() }),
                ..Default::default()
            }
            .encode_to_vec(),
            "InvalidArgument",
        ),
        ("Contribution", dn::QueryContributionRequest { id: 3 }.encode_to_vec(), "NotFound"),
        ("Contributions", dn::QueryContributionsRequest::default().encode_to_vec(), "InvalidArgument"),
        (
            "Contributions",
            dn::QueryContributionsRequest { datanet_id: 1, contributor: test_key(0).address().to_string(), ..Default::default() }
                .encode_to_vec(),
            "InvalidArgument",
        ),
        (
            "Contributions",
            dn::QueryContributionsRequest { contributor: test_key(0).address().to_string(), status: 2, ..Default::default() }
                .encode_to_vec(),
            "InvalidArgument",
        ),
        (
            "Contributions",
            dn::QueryContributionsRequest { datanet_id: 1, status: 99, ..Default::default() }.encode_to_vec(),
            "InvalidArgument",
        ),
        ("Contributions", dn::QueryContributionsRequest { datanet_id: 4, ..Default::default() }.encode_to_vec(), "NotFound"),
        ("Version", dn::QueryVersionRequest { datanet_id: 1, version: 1 }.encode_to_vec(), "NotFound"),
        ("Versions", dn::QueryVersionsRequest { datanet_id: 1, ..Default::default() }.encode_to_vec(), "NotFound"),
        ("Challenge", dn::QueryChallengeRequest { id: 1 }.encode_to_vec(), "NotFound"),
        ("InclusionProof", dn::QueryInclusionProofRequest { datanet_id: 1, version: 1, contribution_id: 1 }.encode_to_vec(), "NotFound"),
        ("Datanet", vec![0xff, 0xff], "InvalidArgument"),
    ];
    for (method, data, code) in cases {
        let r = n.query(&format!("/openledger.datanet.v1.Query/{method}"), data, 0);
        assert_ne!(r.code, 0, "{method} answered");
        assert!(r.log.contains(&format!("code = {code}")), "{method}: {}", r.log);
    }
}

/// Import a datanet genesis into fresh storage; the error message if it is refused.
fn import_datanets(rt: &tokio::runtime::Runtime, g: &dn::GenesisState) -> Result<(), String> {
    rt.block_on(async {
        let storage = cnidarium::TempStorage::new().await.unwrap();
        let mut state = cnidarium::StateDelta::new(storage.latest_snapshot());
        <openledger_datanet::DatanetModule as openledger_framework::Module>::init_genesis(&mut state, g).await.map_err(|e| {
            assert_eq!((e.codespace, e.code), ("datanet", 12), "{}", e.message);
            e.message
        })
    })
}

#[test]
fn datanet_genesis_import_refuses_records_messages_could_not_have_written() {
    let mut n = node();
    let create = dn::MsgCreateDatanet {
        owner: test_key(0).address().to_string(),
        name: "g".into(),
        fingerprint: test_fp(),
        tags: vec!["t".into()],
        curators: vec![test_key(5).address().to_string()],
        policy: dn::ContributionPolicy::Open as i32,
        min_stake: uopen(10_000),
        ..Default::default()
    };
    ok(&mut n, 0, any("MsgCreateDatanet", &create));
    bond_all(&mut n, 1);
    ok(&mut n, 1, submit(1, b"one two three four five six seven eight nine ten", 10_000));
    ok(&mut n, 5, review(5, 1, true, 8000));
    ok(&mut n, 5, any("MsgPublishVersion", &dn::MsgPublishVersion { publisher: test_key(5).address().to_string(), datanet_id: 1 }));
    ok(
        &mut n,
        2,
        any(
            "MsgChallengeContribution",
            &dn::MsgChallengeContribution {
                challenger: test_key(2).address().to_string(),
                contribution_id: 1,
                reason: "r".into(),
                bond: uopen(5000),
            },
        ),
    );
    let good = export(&n);
    assert_eq!((good.datanets.len(), good.contributions.len(), good.versions.len(), good.challenges.len()), (1, 1, 1, 1));
    let rt = tokio::runtime::Runtime::new().unwrap();
    assert_eq!(import_datanets(&rt, &good), Ok(()));

    type Edit = fn(&mut dn::GenesisState);
    let cases: Vec<(&str, Edit, &str)> = vec![
        ("upper-case owner", |g| g.datanets[0].owner = g.datanets[0].owner.to_uppercase(), "owner"),
        ("bad curator", |g| g.datanets[0].curators[0] = "open1xyz".into(), "curators"),
        (
            "curator twice",
            |g| {
                let c = g.datanets[0].curators[0].clone();
                g.datanets[0].curators.push(c)
            },
            "listed twice",
        ),
        ("bad policy", |g| g.datanets[0].policy = 7, "policy 7"),
        ("empty name", |g| g.datanets[0].name.clear(), "name is required"),
        ("bad tag", |g| g.datanets[0].tags = vec!["Bad Tag".into()], "tag"),
        (
            "datanet twice",
            |g| {
                let d = g.datanets[0].clone();
                g.datanets.push(d)
            },
            "zero or repeated",
        ),
        ("unknown datanet", |g| g.contributions[0].datanet_id = 9, "unknown datanet 9"),
        ("bad contributor", |g| g.contributions[0].contributor = "open1xyz".into(), "contribution 1"),
        ("wrong weight", |g| g.contributions[0].weight = "1".into(), "do not give its merkle root"),
        ("challenge of nothing", |g| g.challenges[0].contribution_id = 42, "contribution 42 unknown"),
        (
            "challenge twice",
            |g| {
                let c = g.challenges[0].clone();
                g.challenges.push(c)
            },
            "zero or repeated",
        ),
        ("curator bond without its pool", |g| g.curator_pools.clear(), "no curator pool"),
        ("pool bonded not the bonds' sum", |g| g.curator_pools[0].bonded = "1".into(), "not the sum of its bonds"),
        ("bond ahead of its pool", |g| g.curator_bonds[0].reward_acc = "1".into(), "ahead of its pool"),
        ("unbonding without a release", |g| g.curator_bonds[0].unbonding = "5".into(), "release height"),
        ("curator bond twice", |g| g.curator_bonds.push(g.curator_bonds[0].clone()), "repeated"),
    ];
    for (what, edit, needle) in cases {
        let mut g = good.clone();
        edit(&mut g);
        let err = import_datanets(&rt, &g).expect_err(what);
        assert!(err.contains(needle), "{what}: {err:?} should mention {needle:?}");
    }
}

/// A datanet (created by `owner`, curated by the owner) with one accepted contribution
/// of `contributor` published as version 1; returns its id.
fn published_datanet(n: &mut TestNode, owner: u64, contributor: u64, model_terms: Option<dn::ModelTerms>, text: &[u8]) -> u64 {
    let create = dn::MsgCreateDatanet {
        owner: test_key(owner).address().to_string(),
        name: "Consent".into(),
        fingerprint: test_fp(),
        curators: vec![test_key(owner).address().to_string()],
        policy: dn::ContributionPolicy::Open as i32,
        min_stake: uopen(10_000),
        model_terms,
        ..Default::default()
    };
    let id = dn::MsgCreateDatanetResponse::decode(ok(n, owner, any("MsgCreateDatanet", &create)).as_slice()).unwrap().id;
    bond_all(n, id);
    let mut m = dn::MsgSubmitContribution::decode(submit(contributor, text, 10_000).value.as_slice()).unwrap();
    m.datanet_id = id;
    let c = dn::MsgSubmitContributionResponse::decode(ok(n, contributor, any("MsgSubmitContribution", &m)).as_slice()).unwrap();
    ok(n, owner, review(owner, c.contribution_id, true, 8000));
    ok(n, owner, any("MsgPublishVersion", &dn::MsgPublishVersion { publisher: test_key(owner).address().to_string(), datanet_id: id }));
    id
}

/// Consent. Attacks: a builder registers a model on someone's data with a contributors'
/// share of zero; an owner not on a datanet's allow-list trains on it; a builder keeps a
/// model below terms the data's owner raised, by updating it. Each is refused (model code
/// 13) and costs the attacker its fee, never a bond; within the terms, registration and
/// updates work, a raised minimum leaves serving models serving, and retiring stays open.
#[test]
fn models_must_meet_each_training_datanets_terms() {
    let mut n = node();
    let (owner, alice, bob, carol) = (0, 1, 2, 3);
    let default_min = openledger_datanet::component::default_params().default_min_contributors_bps;
    let open = published_datanet(&mut n, owner, alice, None, b"a plain datanet created without model terms of its own");
    let d: dn::QueryDatanetResponse = query(&n, "Datanet", dn::QueryDatanetRequest { id: open });
    assert_eq!(d.datanet.unwrap().model_terms, Some(dn::ModelTerms { min_contributors_bps: default_min, allowed_model_owners: vec![] }));
    let strict_terms = dn::ModelTerms { min_contributors_bps: 5000, allowed_model_owners: vec![test_key(carol).address().to_string()] };
    let strict =
        published_datanet(&mut n, owner, alice, Some(strict_terms.clone()), b"a datanet whose owner chose strict terms for its models");

    let model = |who: u64, datanet_id: u64, contributors_bps: u32| md::MsgRegisterModel {
        owner: test_key(who).address().to_string(),
        name: "m".into(),
        base_model: String::new(),
        artifact_hash: vec![7; 32],
        artifact_uri: "ipfs://m".into(),
        training_set: vec![md::TrainingEntry { datanet_id, version: 1, weight_bps: 10_000 }],
        operators: vec![test_key(who).address().to_string()],
        price_per_unit: uopen(50),
        fee_split: Some(md::FeeSplit {
            owner_bps: 9000 - contributors_bps,
            contributors_bps,
            datanet_owners_bps: 500,
            protocol_bps: 500,
            operator_bps: 0,
        }),
        bond: uopen(MODEL_BOND),
    };
    let attempt = |n: &mut TestNode, who: u64, m: &md::MsgRegisterModel, contains: &str| {
        let before = n.balance(&test_key(who).address());
        refused(n, who, model_any("MsgRegisterModel", m), 13, contains);
        assert_eq!(n.balance(&test_key(who).address()), before - FEE, "only the fee: no bond was taken");
    };
    attempt(&mut n, bob, &model(bob, open, 0), &format!("at least {default_min} bps"));
    attempt(&mut n, bob, &model(bob, open, default_min - 1), "the fee split gives");
    attempt(&mut n, bob, &model(bob, strict, 6000), "admits models of");
    attempt(&mut n, carol, &model(carol, strict, 4999), "at least 5000 bps");
    // A model on both datanets must meet both.
    let mut both = model(carol, open, 4000);
    both.training_set = vec![
        md::TrainingEntry { datanet_id: open, version: 1, weight_bps: 5000 },
        md::TrainingEntry { datanet_id: strict, version: 1, weight_bps: 5000 },
    ];
    attempt(&mut n, carol, &both, "datanet 2 requires");
    let bonds_before = n.balance(&openledger_model::bonds());
    let register = |n: &mut TestNode, who: u64, m: &md::MsgRegisterModel| {
        md::MsgRegisterModelResponse::decode(ok(n, who, model_any("MsgRegisterModel", m)).as_slice()).unwrap().model_id
    };
    let bobs = register(&mut n, bob, &model(bob, open, default_min));
    let carols = register(&mut n, carol, &model(carol, strict, 5000));
    assert_eq!(n.balance(&openledger_model::bonds()), bonds_before + 2 * MODEL_BOND);

    // The owner raises the open datanet's minimum (only the owner may).
    let raise = |who: u64| dn::MsgUpdateDatanet {
        owner: test_key(who).address().to_string(),
        datanet_id: open,
        model_terms: Some(dn::ModelTerms { min_contributors_bps: 3000, allowed_model_owners: vec![] }),
        ..Default::default()
    };
    refused(&mut n, bob, any("MsgUpdateDatanet", &raise(bob)), 3, "only the owner");
    ok(&mut n, owner, any("MsgUpdateDatanet", &raise(owner)));
    // Bob's model still serves (an inference is paid at its terms)...
    let pay = openledger_proto::openledger::attribution::v1::MsgPayInference {
        consumer: test_key(alice).address().to_string(),
        model_id: bobs,
        units: 1,
        max_fee: uopen(50),
    };
    let pay_any = Any { type_url: "/openledger.attribution.v1.MsgPayInference".into(), value: pay.encode_to_vec() };
    ok(&mut n, alice, pay_any);
    // ...but no update below the new terms passes, until the split meets them.
    let update = |price: u128, split: Option<md::FeeSplit>| md::MsgUpdateModel {
        owner: test_key(bob).address().to_string(),
        model_id: bobs,
        price_per_unit: uopen(price),
        fee_split: split,
        ..Default::default()
    };
    refused(&mut n, bob, model_any("MsgUpdateModel", &update(60, None)), 13, "at least 3000 bps");
    let fair = md::FeeSplit { owner_bps: 6000, contributors_bps: 3000, datanet_owners_bps: 500, protocol_bps: 500, operator_bps: 0 };
    let r = md::MsgUpdateModelResponse::decode(ok(&mut n, bob, model_any("MsgUpdateModel", &update(60, Some(fair)))).as_slice()).unwrap();
    assert_eq!(r.terms_version, 2);
    let m: md::QueryModelResponse = query_service(&n, "openledger.model.v1", "Model", md::QueryModelRequest { id: bobs });
    assert_eq!(m.model.unwrap().fee_split, Some(fair));
    // A malformed split is refused at CheckTx (it never reaches a block).
    let bad = md::FeeSplit { contributors_bps: 9999, ..fair };
    let tx = n.msg_tx(&test_key(bob), vec![model_any("MsgUpdateModel", &update(60, Some(bad)))], FEE, GAS);
    assert_eq!(n.check_tx(&tx).code, 6);
    // Carol is on the strict datanet's list; when the list drops her, she can still retire.
    let drop_carol = dn::MsgUpdateDatanet {
        owner: test_key(owner).address().to_string(),
        datanet_id: strict,
        model_terms: Some(dn::ModelTerms { allowed_model_owners: vec![test_key(alice).address().to_string()], ..strict_terms }),
        ..Default::default()
    };
    ok(&mut n, owner, any("MsgUpdateDatanet", &drop_carol));
    let carol_update = |status: md::ModelStatus| md::MsgUpdateModel {
        owner: test_key(carol).address().to_string(),
        model_id: carols,
        price_per_unit: if status == md::ModelStatus::Unspecified { uopen(70) } else { None },
        status: status as i32,
        ..Default::default()
    };
    refused(&mut n, carol, model_any("MsgUpdateModel", &carol_update(md::ModelStatus::Unspecified)), 13, "admits models of");
    ok(&mut n, carol, model_any("MsgUpdateModel", &carol_update(md::ModelStatus::Retired)));
    let retired_at = n.height;
    // Bonds: only a retired model's, only its owner's, only after unbonding, only once.
    let withdraw = |who: u64, model_id: u64| {
        model_any("MsgWithdrawBond", &md::MsgWithdrawBond { owner: test_key(who).address().to_string(), model_id })
    };
    refused(&mut n, bob, withdraw(bob, carols), 3, "only the owner");
    refused(&mut n, bob, withdraw(bob, bobs), 14, "is active: retire it first");
    refused(&mut n, carol, withdraw(carol, carols), 14, &format!("unbonds at height {}", retired_at + UNBONDING));
    while n.height + 1 < retired_at + UNBONDING {
        n.execute_block(vec![]);
    }
    let (carol_before, bonds_before) = (n.balance(&test_key(carol).address()), n.balance(&openledger_model::bonds()));
    let r = md::MsgWithdrawBondResponse::decode(ok(&mut n, carol, withdraw(carol, carols)).as_slice()).unwrap();
    assert_eq!(r.withdrawn, MODEL_BOND.to_string());
    assert_eq!(n.balance(&test_key(carol).address()), carol_before + MODEL_BOND - FEE);
    assert_eq!(n.balance(&openledger_model::bonds()), bonds_before - MODEL_BOND);
    refused(&mut n, carol, withdraw(carol, carols), 14, "already withdrawn");
    // Model terms in a datanet message are checked statelessly too.
    let bad_terms = dn::MsgCreateDatanet {
        owner: test_key(owner).address().to_string(),
        name: "x".into(),
        policy: 1,
        model_terms: Some(dn::ModelTerms { min_contributors_bps: 10_001, allowed_model_owners: vec![] }),
        ..Default::default()
    };
    let tx = n.msg_tx(&test_key(owner), vec![any("MsgCreateDatanet", &bad_terms)], FEE, GAS);
    let c = n.check_tx(&tx);
    assert_eq!((c.codespace.as_str(), c.code), ("datanet", 2), "{}", c.log);
}

/// Attack: a copier submits someone's file first, to lock its real author out of the
/// datanet (the same content cannot be submitted twice). A curator rejects the copy;
/// the rejection frees the content, and the author's own submission is then accepted.
#[test]
fn a_rejected_contribution_does_not_lock_its_content_out() {
    let mut n = node();
    let (owner, author, copier) = (0, 1, 2);
    let text: &[u8] = b"an original essay on the migration of arctic terns written by its author";
    let id = published_datanet(&mut n, owner, 3, None, b"a first contribution so the datanet has a version");
    let to = |who: u64| {
        let mut m = dn::MsgSubmitContribution::decode(submit(who, text, 10_000).value.as_slice()).unwrap();
        m.datanet_id = id;
        any("MsgSubmitContribution", &m)
    };
    let copy = dn::MsgSubmitContributionResponse::decode(ok(&mut n, copier, to(copier)).as_slice()).unwrap().contribution_id;
    refused(&mut n, author, to(author), 5, &format!("as contribution {copy}"));
    let r = any(
        "MsgReviewContribution",
        &dn::MsgReviewContribution {
            curator: test_key(owner).address().to_string(),
            contribution_id: copy,
            accept: false,
            quality_bps: 0,
            reason: "copied".into(),
        },
    );
    ok(&mut n, owner, r);
    let mine = dn::MsgSubmitContributionResponse::decode(ok(&mut n, author, to(author)).as_slice()).unwrap().contribution_id;
    ok(&mut n, owner, review(owner, mine, true, 9000));
    let c: dn::QueryContributionResponse = query(&n, "Contribution", dn::QueryContributionRequest { id: mine });
    let c = c.contribution.unwrap();
    assert_eq!((c.status, c.contributor), (dn::ContributionStatus::Accepted as i32, test_key(author).address().to_string()));
    // The copy, accepted content's duplicate, is refused again while the author's stands.
    refused(&mut n, copier, to(copier), 5, &format!("as contribution {mine}"));
}

/// Near-duplicates. Attacks: a copier resubmits a file already accepted in the datanet
/// with its case or whitespace changed, with one word edited, or cut down to a piece of
/// it — each passes the content-hash check, and each is refused (datanet code 16, naming
/// the contribution it copies) before its stake is taken, so the copier loses only its
/// fee. A genuinely different file is accepted. A near-duplicate submitted while its
/// original was still pending is refused at review, once the original is accepted.
#[test]
fn near_duplicates_are_refused_naming_the_contribution_they_copy() {
    let mut n = node();
    let (owner, author, copier) = (0, 1, 2);
    // 1,000 distinct words: 993 hashes (every shingle kept).
    let words = |stem: &str| (0..1000).map(|i| format!("{stem}{i}")).collect::<Vec<_>>();
    let original = words("tern").join(" ");
    let id = published_datanet(&mut n, owner, author, None, original.as_bytes());
    assert_eq!(id, 1, "`submit` writes to datanet 1");
    let fp = fp_of(original.as_bytes());
    assert!(fp.len() > 30, "a fingerprint worth testing: {} hashes", fp.len());
    let mut edited = words("tern");
    edited[500] = "gull".into();
    let variants = [
        ("upper case", original.to_uppercase()),
        ("other whitespace", original.replace(' ', "\n\t ")),
        ("one word edited", edited.join(" ")),
        ("its first half", words("tern")[..500].join(" ")),
    ];
    let before = n.balance(&test_key(copier).address());
    for (what, text) in &variants {
        let c = n.balance(&test_key(copier).address());
        refused(&mut n, copier, submit(copier, text.as_bytes(), 10_000), 16, "near-duplicate of contribution 1");
        assert_eq!(n.balance(&test_key(copier).address()), c - FEE, "{what}: only the fee is charged");
    }
    assert_eq!(n.balance(&test_key(copier).address()), before - 4 * FEE);
    // A different file is accepted.
    let other = words("gull").join(" ");
    let id2 = dn::MsgSubmitContributionResponse::decode(ok(&mut n, copier, submit(copier, other.as_bytes(), 10_000)).as_slice())
        .unwrap()
        .contribution_id;
    // A copy of it submitted while it is pending passes submission (nothing accepted to
    // compare with), and is refused at review once the original is accepted.
    let mut copy = words("gull");
    copy[10] = "tern".into();
    let id3 = dn::MsgSubmitContributionResponse::decode(ok(&mut n, author, submit(author, copy.join(" ").as_bytes(), 10_000)).as_slice())
        .unwrap()
        .contribution_id;
    ok(&mut n, owner, review(owner, id2, true, 8000));
    refused(&mut n, owner, review(owner, id3, true, 8000), 16, &format!("near-duplicate of contribution {id2}"));
    ok(&mut n, owner, review(owner, id3, false, 0));
    let c: dn::QueryContributionResponse = query(&n, "Contribution", dn::QueryContributionRequest { id: id3 });
    assert_eq!(c.contribution.unwrap().status, dn::ContributionStatus::Rejected as i32);
}

/// Commit–reveal. Attack: a copier watches the mempool, sees an author's reveal and
/// gets the same content in first — in the same block, ahead of it. The author had
/// committed a block earlier, so its claim is earlier: the copy is rejected in its
/// favour and the copier loses its fee and the slashed part of its stake. A copier who
/// commits only after seeing the content is refused as a duplicate; nobody can reveal
/// against someone else's commitment (it binds the contributor); a reveal in the
/// commitment's own block is refused.
#[test]
fn a_mempool_copier_loses_to_the_earliest_commitment() {
    let mut n = node();
    let (owner, author, copier) = (0, 1, 2);
    let create = dn::MsgCreateDatanet {
        owner: test_key(owner).address().to_string(),
        name: "Terns".into(),
        fingerprint: test_fp(),
        curators: vec![test_key(owner).address().to_string()],
        policy: dn::ContributionPolicy::Open as i32,
        min_stake: uopen(10_000),
        terms: Some(dn::ContributionTerms { reject_slash_bps: 5000, challenge_reward_bps: 5000 }),
        ..Default::default()
    };
    ok(&mut n, owner, any("MsgCreateDatanet", &create));
    bond_all(&mut n, 1);
    let text = b"an original essay on the migration of arctic terns, written by its author over a long winter";
    let salt = vec![42u8; 32];
    let reveal = |who: u64, salt: &[u8]| {
        let mut m = dn::MsgSubmitContribution::decode(submit(who, text, 10_000).value.as_slice()).unwrap();
        m.salt = salt.to_vec();
        any("MsgSubmitContribution", &m)
    };
    let commit = |who: u64, salt: &[u8]| {
        use sha2::Digest;
        let addr = test_key(who).address();
        let c = openledger_datanet::msg::commit::commitment(1, &addr, &sha2::Sha256::digest(text), salt);
        any("MsgCommitContribution", &dn::MsgCommitContribution { contributor: addr.to_string(), datanet_id: 1, commitment: c.to_vec() })
    };
    ok(&mut n, author, commit(author, &salt));
    // The copier's plain submission lands first in the block, the author's reveal after.
    let copier_before = n.balance(&test_key(copier).address());
    let txs = vec![
        n.msg_tx(&test_key(copier), vec![submit(copier, text, 10_000)], FEE, GAS),
        n.msg_tx(&test_key(author), vec![reveal(author, &salt)], FEE, GAS),
    ];
    let r = n.execute_block(txs);
    assert!(r.tx_results.iter().all(|t| t.code == 0), "{:?}", r.tx_results);
    let status = |n: &TestNode, id: u64| {
        let c: dn::QueryContributionResponse = query(n, "Contribution", dn::QueryContributionRequest { id });
        c.contribution.unwrap()
    };
    let (copy, original) = (status(&n, 1), status(&n, 2));
    assert_eq!((copy.status, copy.contributor), (dn::ContributionStatus::Rejected as i32, test_key(copier).address().to_string()));
    assert!(copy.reject_reason.contains("earlier claim"), "{}", copy.reject_reason);
    assert_eq!((original.status, original.claim_height + 1), (dn::ContributionStatus::Pending as i32, original.submitted_height));
    // Half its 10,000 stake slashed, and the fee: the copier is worse off.
    assert_eq!(n.balance(&test_key(copier).address()), copier_before - FEE - 5_000);
    // Committing after seeing the content does not help: the author's claim is earlier.
    let late = vec![3u8; 16];
    ok(&mut n, copier, commit(copier, &late));
    refused(&mut n, copier, reveal(copier, &late), 5, "as contribution 2");
    // Someone else's salt proves nothing (the commitment binds its contributor), and a
    // consumed commitment cannot be revealed twice.
    refused(&mut n, copier, reveal(copier, &salt), 4, "no commitment by");
    refused(&mut n, author, reveal(author, &salt), 4, "no commitment by");
    // A reveal in its commitment's own block is refused.
    let fresh = vec![9u8; 16];
    let txs = vec![n.msg_tx(&test_key(3), vec![commit(3, &fresh), reveal(3, &fresh)], FEE, GAS)];
    let r = n.execute_block(txs);
    assert!(r.tx_results[0].code == 10 && r.tx_results[0].log.contains("reveal it in a later block"), "{:?}", r.tx_results[0]);
    // The author's contribution is accepted as usual.
    ok(&mut n, owner, review(owner, 2, true, 9000));
    assert_eq!(status(&n, 2).status, dn::ContributionStatus::Accepted as i32);
}

/// A datanet of this owner with `fp` fingerprinting; returns its id.
fn datanet_with(n: &mut TestNode, owner: u64, fp: dn::FingerprintParams) -> u64 {
    let create = dn::MsgCreateDatanet {
        owner: test_key(owner).address().to_string(),
        name: "Weights".into(),
        curators: vec![test_key(owner).address().to_string()],
        policy: dn::ContributionPolicy::Open as i32,
        min_stake: uopen(10_000),
        fingerprint: Some(fp),
        ..Default::default()
    };
    let id = dn::MsgCreateDatanetResponse::decode(ok(n, owner, any("MsgCreateDatanet", &create)).as_slice()).unwrap().id;
    bond_all(n, id);
    id
}

/// Submit `fingerprint` for `text` to datanet `id` and accept it at `quality`; returns
/// its weight, or the refusal's code.
fn contribute_weighed(
    n: &mut TestNode,
    who: u64,
    curator: u64,
    id: u64,
    text: &str,
    fingerprint: Vec<u64>,
    quality: u32,
) -> Result<u128, u32> {
    use sha2::Digest;
    let m = dn::MsgSubmitContribution {
        contributor: test_key(who).address().to_string(),
        datanet_id: id,
        content_hash: sha2::Sha256::digest(text.as_bytes()).to_vec(),
        size: text.len() as u64,
        uri: "ipfs://piece".into(),
        fingerprint,
        stake: uopen(10_000),
        salt: vec![],
    };
    let decode = |data: Vec<u8>| {
        cosmos_sdk_proto::cosmos::base::abci::v1beta1::TxMsgData::decode(data.as_slice()).unwrap().msg_responses[0].value.clone()
    };
    let (code, _, data) = run_with_gas(n, who, any("MsgSubmitContribution", &m), 10_000_000);
    if code != 0 {
        return Err(code);
    }
    let c = dn::MsgSubmitContributionResponse::decode(decode(data).as_slice()).unwrap().contribution_id;
    let (code, log, data) = run_with_gas(n, curator, review(curator, c, true, quality), 10_000_000);
    assert_eq!(code, 0, "{log}");
    let r = dn::MsgReviewContributionResponse::decode(decode(data).as_slice()).unwrap();
    Ok(r.weight.parse().unwrap())
}

/// The weight rule (quality × the fingerprint hashes a contribution is first to bring).
/// Attacks: a contributor splits a file into 1,000 pieces, or into 10; repeats it inside
/// itself; pads it with content already in the datanet; stitches others' pieces
/// together. None gains: the pieces weigh no more than the whole (the shingles across
/// each cut are lost), a repetition adds only the shingles across its seam, padding
/// adds exactly the new shingles it brings, and a stitch of held hashes is refused
/// (code 17, nothing new). A file over the cap is refused, never cut to chosen hashes.
#[test]
fn splitting_repeating_or_padding_a_file_does_not_raise_its_weight() {
    let mut n = node();
    let (owner, attacker) = (0, 1);
    let q = 8000u32;
    let words: Vec<String> = (0..8000).map(|i| format!("w{i}")).collect();
    let whole = words.join(" ");
    let sampled = dn::FingerprintParams { modulus: 16, max_hashes: 1024, near_duplicate_bps: 0 };
    let fp_whole = openledger_datanet::fingerprint::compute(&whole, 16, 1024).unwrap();
    assert!(fp_whole.len() > 400, "{}", fp_whole.len());

    // The whole file, in a datanet of its own.
    let d_whole = datanet_with(&mut n, owner, sampled);
    let w_whole = contribute_weighed(&mut n, attacker, owner, d_whole, &whole, fp_whole.clone(), q).unwrap();
    assert_eq!(w_whole, u128::from(q) * fp_whole.len() as u128);

    // 1,000 pieces of 8 words: each has one shingle, sampled one time in 16. The
    // pieces without a hash are refused (code 8, the fee only); the rest weigh one hash.
    let d_pieces = datanet_with(&mut n, owner, sampled);
    let (mut w_pieces, mut refused_pieces) = (0u128, 0);
    for piece in words.chunks(8) {
        let text = piece.join(" ");
        let fp = openledger_datanet::fingerprint::compute(&text, 16, 1024).unwrap();
        assert!(fp.iter().all(|h| fp_whole.contains(h)), "a piece's hashes are the whole's");
        match contribute_weighed(&mut n, attacker, owner, d_pieces, &text, fp, q) {
            Ok(w) => w_pieces += w,
            Err(code) => {
                assert_eq!(code, 8);
                refused_pieces += 1;
            }
        }
    }
    assert!(refused_pieces > 800, "{refused_pieces}");
    assert!(w_pieces < w_whole / 4, "1,000 pieces weigh {w_pieces}, the whole {w_whole}");

    // 10 pieces of 800 words: together, the whole less the 7 shingles across each cut.
    let d_ten = datanet_with(&mut n, owner, sampled);
    let mut w_ten = 0u128;
    for piece in words.chunks(800) {
        let text = piece.join(" ");
        let fp = openledger_datanet::fingerprint::compute(&text, 16, 1024).unwrap();
        w_ten += contribute_weighed(&mut n, attacker, owner, d_ten, &text, fp, q).unwrap();
    }
    assert!(w_ten <= w_whole && w_whole - w_ten <= u128::from(q) * 9 * 7, "10 pieces {w_ten}, whole {w_whole}");

    // The file twice over, in a fresh datanet: the seam's shingles only.
    let d_twice = datanet_with(&mut n, owner, dn::FingerprintParams { max_hashes: 1024, ..sampled });
    let twice = format!("{whole} {whole}");
    let fp_twice = openledger_datanet::fingerprint::compute(&twice, 16, 1024).unwrap();
    let w_twice = contribute_weighed(&mut n, owner + 2, owner, d_twice, &twice, fp_twice, q).unwrap();
    assert!(w_twice >= w_whole && w_twice - w_whole <= u128::from(q) * 7, "twice {w_twice}, once {w_whole}");

    // Padded with content the datanet holds: only the new part and its seam count.
    let fresh: Vec<String> = (0..4000).map(|i| format!("v{i}")).collect();
    let padded = format!("{} {}", fresh.join(" "), words[..2000].join(" "));
    let fp_padded = openledger_datanet::fingerprint::compute(&padded, 16, 1024).unwrap();
    let new_hashes = fp_padded.iter().filter(|h| !fp_whole.contains(h)).count() as u128;
    let fp_fresh = openledger_datanet::fingerprint::compute(&fresh.join(" "), 16, 1024).unwrap();
    let w_padded = contribute_weighed(&mut n, owner + 2, owner, d_whole, &padded, fp_padded, q).unwrap();
    assert_eq!(w_padded, u128::from(q) * new_hashes);
    assert!(new_hashes >= fp_fresh.len() as u128 && new_hashes <= fp_fresh.len() as u128 + 7);

    // A stitch of a third of each of three pieces' hashes: no piece is near-duplicated
    // (a third < half), but every hash has a holder: refused, nothing new.
    let thirds: Vec<u64> = words
        .chunks(800)
        .take(3)
        .flat_map(|p| {
            let fp = openledger_datanet::fingerprint::compute(&p.join(" "), 16, 1024).unwrap();
            let k = fp.len() / 3;
            fp.into_iter().take(k).collect::<Vec<_>>()
        })
        .collect::<std::collections::BTreeSet<u64>>()
        .into_iter()
        .collect();
    let before = n.balance(&test_key(attacker).address());
    refused(
        &mut n,
        attacker,
        {
            let mut m = dn::MsgSubmitContribution::decode(submit(attacker, b"a stitch of three pieces", 10_000).value.as_slice()).unwrap();
            m.datanet_id = d_ten;
            m.fingerprint = thirds;
            any("MsgSubmitContribution", &m)
        },
        17,
        "none of the fingerprint's",
    );
    assert_eq!(n.balance(&test_key(attacker).address()), before - FEE);

    // Over the cap: the client refuses to choose, and so does the chain.
    assert!(openledger_datanet::fingerprint::compute(&whole, 16, 256).unwrap_err().contains("split it"));
    let d_small = datanet_with(&mut n, owner, dn::FingerprintParams { modulus: 16, max_hashes: 256, near_duplicate_bps: 0 });
    assert_eq!(contribute_weighed(&mut n, attacker, owner, d_small, &whole, fp_whole, q), Err(8));
}

/// Conflicted curators. Attacks: a curator contributes to their own datanet and, when
/// the contribution is challenged, dismisses the challenge themselves (keeping the
/// stake the challenge puts at risk); the curator who accepted it dismisses the
/// challenge to cover the acceptance. Both are refused (code 3) and pay only the fee;
/// a quorum of the uninvolved decides, and the reviewer's bond pays for the bad
/// acceptance. Then a sock puppet: curator 6 has its own key 7 challenge honest data and
/// votes to uphold; the uninvolved majority dismisses, and the pair is down the bond.
#[test]
fn a_curator_never_judges_a_challenge_against_their_own_data_or_acceptance() {
    let mut n = node();
    let (owner, challenger, author_curator, reviewer, judge, puppet_master, puppet, honest) = (0, 1, 3, 4, 5, 6, 7, 2);
    let create = dn::MsgCreateDatanet {
        owner: test_key(owner).address().to_string(),
        name: "Curated".into(),
        fingerprint: test_fp(),
        curators: [author_curator, reviewer, judge, puppet_master].iter().map(|k| test_key(*k).address().to_string()).collect(),
        policy: dn::ContributionPolicy::Open as i32,
        min_stake: uopen(10_000),
        ..Default::default()
    };
    ok(&mut n, owner, any("MsgCreateDatanet", &create));
    bond_all(&mut n, 1);
    let text: &[u8] = b"a curator's own contribution to the datanet they curate, nine words or more";
    let id = dn::MsgSubmitContributionResponse::decode(ok(&mut n, author_curator, submit(author_curator, text, 10_000)).as_slice())
        .unwrap()
        .contribution_id;
    refused(&mut n, author_curator, review(author_curator, id, true, 9000), 3, "their own contribution");
    ok(&mut n, reviewer, review(reviewer, id, true, 9000));
    let challenge = |who: u64, id: u64, bond: u128| {
        any(
            "MsgChallengeContribution",
            &dn::MsgChallengeContribution {
                challenger: test_key(who).address().to_string(),
                contribution_id: id,
                reason: "copied from elsewhere".into(),
                bond: uopen(bond),
            },
        )
    };
    // The bond is priced by the stake at risk: half of 10,000.
    refused(&mut n, challenger, challenge(challenger, id, 4_999), 6, "at risk");
    let ch = dn::MsgChallengeContributionResponse::decode(ok(&mut n, challenger, challenge(challenger, id, 5_000)).as_slice())
        .unwrap()
        .challenge_id;
    let resolve = |who: u64, ch: u64, uphold: bool| {
        any(
            "MsgResolveChallenge",
            &dn::MsgResolveChallenge { curator: test_key(who).address().to_string(), challenge_id: ch, uphold, resolution: "x".into() },
        )
    };
    let before = n.balance(&test_key(author_curator).address());
    refused(&mut n, author_curator, resolve(author_curator, ch, false), 3, "their own contribution");
    assert_eq!(n.balance(&test_key(author_curator).address()), before - FEE);
    refused(&mut n, reviewer, resolve(reviewer, ch, false), 3, "a contribution they accepted");
    refused(&mut n, challenger, resolve(challenger, ch, true), 3, "not a curator");
    // Eligible: the owner, the judge and curator 6 — two votes decide.
    ok(&mut n, judge, resolve(judge, ch, true));
    ok(&mut n, owner, resolve(owner, ch, true));
    assert_eq!(take_effect(&mut n, ch).status, dn::ChallengeStatus::Upheld as i32);
    assert_eq!(n.balance(&test_key(author_curator).address()), before - FEE, "the stake is gone, nothing came back");
    let bonds: dn::QueryCuratorsResponse = query(&n, "Curators", dn::QueryCuratorsRequest { datanet_id: 1 });
    let slashed: Vec<(String, String)> =
        bonds.curators.iter().filter(|b| b.slashed != "0").map(|b| (b.curator.clone(), b.bonded.clone())).collect();
    assert_eq!(slashed, vec![(test_key(reviewer).address().to_string(), (CURATOR_BOND - CURATOR_BOND / 10).to_string())]);

    // The sock puppet. Honest data, accepted by the judge; the puppet challenges it.
    let honest_text: &[u8] = b"an honest contributor's own field notes on alpine flowers, gathered over three summers";
    let hid = dn::MsgSubmitContributionResponse::decode(ok(&mut n, honest, submit(honest, honest_text, 10_000)).as_slice())
        .unwrap()
        .contribution_id;
    ok(&mut n, judge, review(judge, hid, true, 9000));
    let pair = |n: &TestNode| n.balance(&test_key(puppet_master).address()) + n.balance(&test_key(puppet).address());
    let pair_before = pair(&n);
    let honest_before = n.balance(&test_key(honest).address());
    let ch =
        dn::MsgChallengeContributionResponse::decode(ok(&mut n, puppet, challenge(puppet, hid, 5_000)).as_slice()).unwrap().challenge_id;
    // Eligible: the owner, the author-curator and curator 6 (the reviewer's slashed bond
    // is below the minimum now; the judge accepted this one): two votes decide.
    let first = dn::MsgResolveChallengeResponse::decode(ok(&mut n, puppet_master, resolve(puppet_master, ch, true)).as_slice()).unwrap();
    assert_eq!(first.status, dn::ChallengeStatus::Open as i32, "one conflicted vote decides nothing");
    ok(&mut n, owner, resolve(owner, ch, false));
    let down = dn::MsgResolveChallengeResponse::decode(ok(&mut n, author_curator, resolve(author_curator, ch, false)).as_slice()).unwrap();
    assert_eq!(down.status, dn::ChallengeStatus::Decided as i32);
    assert_eq!(take_effect(&mut n, ch).status, dn::ChallengeStatus::Dismissed as i32);
    assert!(pair(&n) < pair_before, "the sock puppet pair lost: {} → {}", pair_before, pair(&n));
    assert_eq!(pair_before - pair(&n), 5_000 + 2 * FEE, "the bond and two fees");
    assert_eq!(n.balance(&test_key(honest).address()), honest_before, "the honest contributor lost nothing");
}

/// A challenge that no quorum can decide (one uninvolved bonded curator) is not decided
/// by the clock in the contributor's favour: it escalates to an arbiter, who decides
/// it; the datanet owner cannot. An escalated challenge no arbiter decides expires after
/// `escalation_blocks`, bond and stake refunded. Curator bonds unbond after their period.
#[test]
fn a_challenge_without_a_quorum_escalates_to_an_arbiter_not_the_clock() {
    let (owner, contributor, challenger, curator, arbiter) = (0, 1, 2, 5, 7);
    let mut n = node_with_arbiter(arbiter);
    let create = dn::MsgCreateDatanet {
        owner: test_key(owner).address().to_string(),
        name: "Small".into(),
        fingerprint: test_fp(),
        curators: vec![test_key(curator).address().to_string()],
        policy: dn::ContributionPolicy::Open as i32,
        min_stake: uopen(10_000),
        ..Default::default()
    };
    ok(&mut n, owner, any("MsgCreateDatanet", &create));
    // Unbonded, a curator cannot review.
    let text: &[u8] = b"one two three four five six seven eight nine ten eleven twelve";
    let text2: &[u8] = b"thirteen fourteen fifteen sixteen seventeen eighteen nineteen twenty twentyone";
    let c1 = dn::MsgSubmitContributionResponse::decode(ok(&mut n, contributor, submit(contributor, text, 10_000)).as_slice())
        .unwrap()
        .contribution_id;
    let c2 = dn::MsgSubmitContributionResponse::decode(ok(&mut n, contributor, submit(contributor, text2, 10_000)).as_slice())
        .unwrap()
        .contribution_id;
    refused(&mut n, curator, review(curator, c1, true, 9000), 18, "bond-curator");
    bond_all(&mut n, 1);
    ok(&mut n, curator, review(curator, c1, true, 9000));
    ok(&mut n, curator, review(curator, c2, true, 9000));
    let challenge = |id: u64| {
        any(
            "MsgChallengeContribution",
            &dn::MsgChallengeContribution {
                challenger: test_key(challenger).address().to_string(),
                contribution_id: id,
                reason: "copied".into(),
                bond: uopen(5_000),
            },
        )
    };
    let ch1 = dn::MsgChallengeContributionResponse::decode(ok(&mut n, challenger, challenge(c1)).as_slice()).unwrap().challenge_id;
    let ch2 = dn::MsgChallengeContributionResponse::decode(ok(&mut n, challenger, challenge(c2)).as_slice()).unwrap().challenge_id;
    let resolve = |who: u64, ch: u64, uphold: bool| {
        any(
            "MsgResolveChallenge",
            &dn::MsgResolveChallenge { curator: test_key(who).address().to_string(), challenge_id: ch, uphold, resolution: "x".into() },
        )
    };
    // Only the owner is uninvolved (the curator accepted both): no quorum is possible.
    refused(&mut n, owner, resolve(owner, ch1, true), 9, "a quorum needs two");
    refused(&mut n, arbiter, resolve(arbiter, ch1, true), 3, "not a curator");
    let contributor_before = n.balance(&test_key(contributor).address());
    let deadlines = [ch1, ch2].map(|ch| challenge_of(&n, ch).deadline_height);
    while n.height < deadlines[1] {
        n.execute_block(vec![]);
    }
    for (ch, deadline) in [ch1, ch2].into_iter().zip(deadlines) {
        let c = challenge_of(&n, ch);
        assert_eq!((c.status, c.escalated_height), (dn::ChallengeStatus::Escalated as i32, deadline), "challenge {ch}");
    }
    assert_eq!(n.balance(&test_key(contributor).address()), contributor_before, "no stake refunded by the clock");
    refused(&mut n, owner, resolve(owner, ch1, true), 3, "only an arbiter");
    let up = dn::MsgResolveChallengeResponse::decode(ok(&mut n, arbiter, resolve(arbiter, ch1, true)).as_slice()).unwrap();
    assert_eq!((up.status, up.paid_to_challenger.as_str()), (dn::ChallengeStatus::Upheld as i32, "10000"));
    // Nobody decides challenge 2: it expires, its bond and the stake refunded.
    let challenger_before = n.balance(&test_key(challenger).address());
    let deadline = challenge_of(&n, ch2).deadline_height;
    while n.height < deadline {
        n.execute_block(vec![]);
    }
    assert_eq!(challenge_of(&n, ch2).status, dn::ChallengeStatus::Expired as i32);
    assert_eq!(n.balance(&test_key(challenger).address()), challenger_before + 5_000);
    // The stake comes back when its window ends, as if never challenged.
    for _ in 0..WINDOW {
        n.execute_block(vec![]);
    }
    assert_eq!(n.balance(&test_key(contributor).address()), contributor_before + 10_000);

    // The owner unbonds: it can no longer act, and is paid back after the period.
    let owner_addr = test_key(owner).address();
    let unbond = dn::MsgUnbondCurator { curator: owner_addr.to_string(), datanet_id: 1, amount: uopen(CURATOR_BOND - 1) };
    refused(&mut n, owner, any("MsgUnbondCurator", &unbond), 6, "below the minimum");
    let unbond = dn::MsgUnbondCurator { amount: uopen(CURATOR_BOND), ..unbond };
    let r = dn::MsgUnbondCuratorResponse::decode(ok(&mut n, owner, any("MsgUnbondCurator", &unbond)).as_slice()).unwrap();
    assert_eq!((r.bonded.as_str(), r.unbonding.as_str()), ("0", "10000000"));
    refused(
        &mut n,
        owner,
        any("MsgPublishVersion", &dn::MsgPublishVersion { publisher: owner_addr.to_string(), datanet_id: 1 }),
        18,
        "bonded",
    );
    let before = n.balance(&owner_addr);
    while n.height < r.release_height {
        n.execute_block(vec![]);
    }
    assert_eq!(n.balance(&owner_addr), before + CURATOR_BOND);
}

/// The owner's own quorum. Attack: curators are the owner's choice, so an owner lists
/// two accounts of its own, has a third challenge an honest contribution accepted by an
/// honest curator, and votes with one puppet to uphold it — taking half the honest
/// stake. The decision is held for the appeal window; the contributor appeals, an
/// arbiter overturns it, and the coalition ends poorer: the challenge bond lost to the
/// treasury, the two voters' bonds slashed, the fees paid; the honest contributor loses
/// only fees. A sound decision appealed costs its appellant the appeal bond; an appeal no
/// arbiter decides leaves the quorum's decision standing and the bond refunded. Each
/// misuse of the appeal is refused and changes nothing.
#[test]
fn an_owner_s_sock_puppet_quorum_is_overturned_on_appeal_and_pays_for_it() {
    let (owner, puppet1, puppet2, reviewer, honest, puppet_challenger, copier, arbiter) = (0, 1, 2, 3, 4, 5, 6, 7);
    let mut n = node_with_arbiter(arbiter);
    let create = dn::MsgCreateDatanet {
        owner: test_key(owner).address().to_string(),
        name: "Owned".into(),
        fingerprint: test_fp(),
        curators: [puppet1, puppet2, reviewer].iter().map(|k| test_key(*k).address().to_string()).collect(),
        policy: dn::ContributionPolicy::Open as i32,
        min_stake: uopen(10_000),
        ..Default::default()
    };
    ok(&mut n, owner, any("MsgCreateDatanet", &create));
    bond_all(&mut n, 1);
    let accepted = |n: &mut TestNode, who: u64, text: &[u8]| {
        let id = dn::MsgSubmitContributionResponse::decode(ok(n, who, submit(who, text, 10_000)).as_slice()).unwrap().contribution_id;
        ok(n, reviewer, review(reviewer, id, true, 9000));
        id
    };
    let challenge = |who: u64, id: u64| {
        any(
            "MsgChallengeContribution",
            &dn::MsgChallengeContribution {
                challenger: test_key(who).address().to_string(),
                contribution_id: id,
                reason: "copied".into(),
                bond: uopen(5_000),
            },
        )
    };
    let resolve = |who: u64, ch: u64, uphold: bool| {
        any(
            "MsgResolveChallenge",
            &dn::MsgResolveChallenge { curator: test_key(who).address().to_string(), challenge_id: ch, uphold, resolution: "x".into() },
        )
    };
    let appeal = |who: u64, ch: u64, bond: u128| {
        any(
            "MsgAppealChallenge",
            &dn::MsgAppealChallenge {
                appellant: test_key(who).address().to_string(),
                challenge_id: ch,
                reason: "the quorum is the owner's".into(),
                bond: uopen(bond),
            },
        )
    };
    let new_challenge = |n: &mut TestNode, who: u64, id: u64| {
        dn::MsgChallengeContributionResponse::decode(ok(n, who, challenge(who, id)).as_slice()).unwrap().challenge_id
    };
    let bonded = |n: &TestNode, k: u64| -> u128 {
        let r: dn::QueryCuratorsResponse = query(n, "Curators", dn::QueryCuratorsRequest { datanet_id: 1 });
        let a = test_key(k).address().to_string();
        r.curators.iter().filter(|b| b.curator == a).map(|b| b.bonded.parse::<u128>().unwrap()).sum()
    };
    let coalition = [owner, puppet1, puppet2, puppet_challenger];
    let worth = |n: &TestNode| -> u128 { coalition.iter().map(|k| n.balance(&test_key(*k).address()) + bonded(n, *k)).sum() };

    let hid = accepted(&mut n, honest, b"an honest contributor's own field notes on alpine flowers, gathered over three summers");
    let (coalition_before, honest_before) = (worth(&n), n.balance(&test_key(honest).address()));
    let ch = new_challenge(&mut n, puppet_challenger, hid);
    refused(&mut n, honest, appeal(honest, ch, 5_000), 7, "no curators' decision");
    ok(&mut n, owner, resolve(owner, ch, true));
    ok(&mut n, puppet1, resolve(puppet1, ch, true));
    assert_eq!(challenge_of(&n, ch).status, dn::ChallengeStatus::Decided as i32);
    // Only the party the decision goes against appeals, with the challenge's bond.
    refused(&mut n, puppet_challenger, appeal(puppet_challenger, ch, 5_000), 3, "only its contributor");
    refused(&mut n, honest, appeal(honest, ch, 4_999), 6, "equal to the challenge's");
    let r = dn::MsgAppealChallengeResponse::decode(ok(&mut n, honest, appeal(honest, ch, 5_000)).as_slice()).unwrap();
    let c = challenge_of(&n, ch);
    assert_eq!(
        (c.status, c.deadline_height, c.appellant),
        (dn::ChallengeStatus::Escalated as i32, r.deadline_height, test_key(honest).address().to_string())
    );
    refused(&mut n, honest, appeal(honest, ch, 5_000), 7, "no curators' decision");
    refused(&mut n, owner, resolve(owner, ch, true), 3, "only an arbiter");
    let down = dn::MsgResolveChallengeResponse::decode(ok(&mut n, arbiter, resolve(arbiter, ch, false)).as_slice()).unwrap();
    assert_eq!((down.status, down.overturned_slashed.as_str()), (dn::ChallengeStatus::Dismissed as i32, "2000000"));
    assert_eq!((bonded(&n, owner), bonded(&n, puppet1), bonded(&n, puppet2)), (CURATOR_BOND * 9 / 10, CURATOR_BOND * 9 / 10, CURATOR_BOND));
    let lost = coalition_before - worth(&n);
    assert_eq!(lost, 5_000 + 2 * CURATOR_BOND / 10 + 5 * FEE, "the bond, two slashes, three fees and two of refused attempts");
    assert_eq!(
        n.balance(&test_key(honest).address()),
        honest_before - 4 * FEE,
        "the honest contributor paid fees only (the appeal's, three refused attempts')"
    );
    assert_eq!(challenge_of(&n, ch).status, dn::ChallengeStatus::Dismissed as i32);

    // A sound decision appealed: the copier loses its stake and the appeal bond; the
    // decision cannot be voted on again meanwhile. (The slashed pair tops up to vote.)
    for k in [owner, puppet1] {
        ok(&mut n, k, bond_curator(k, 1, CURATOR_BOND / 10));
    }
    let cid = accepted(&mut n, copier, b"a copy of a well known textbook chapter, passed off as the copier's own notes");
    let copier_before = n.balance(&test_key(copier).address());
    let ch = new_challenge(&mut n, honest, cid);
    ok(&mut n, puppet2, resolve(puppet2, ch, true));
    ok(&mut n, puppet1, resolve(puppet1, ch, true));
    refused(&mut n, owner, resolve(owner, ch, false), 7, "unless appealed");
    ok(&mut n, copier, appeal(copier, ch, 5_000));
    let up = dn::MsgResolveChallengeResponse::decode(ok(&mut n, arbiter, resolve(arbiter, ch, true)).as_slice()).unwrap();
    assert_eq!((up.status, up.overturned_slashed.as_str(), up.slashed.as_str()), (dn::ChallengeStatus::Upheld as i32, "0", "10000"));
    assert_eq!(n.balance(&test_key(copier).address()), copier_before - FEE - 5_000, "the appeal bond is lost (the stake was held already)");

    // An appeal no arbiter decides: at its deadline the quorum's dismissal stands and
    // the appellant's bond comes back. (The reviewer, slashed for the copy, tops up.)
    ok(&mut n, reviewer, bond_curator(reviewer, 1, CURATOR_BOND / 10));
    let id2 = accepted(&mut n, honest, b"more of the honest contributor's notes, now on the lichens of the same alpine slopes");
    let challenger_before = n.balance(&test_key(copier).address());
    let ch = new_challenge(&mut n, copier, id2);
    ok(&mut n, owner, resolve(owner, ch, false));
    ok(&mut n, puppet2, resolve(puppet2, ch, false));
    ok(&mut n, copier, appeal(copier, ch, 5_000));
    let deadline = challenge_of(&n, ch).deadline_height;
    while n.height < deadline {
        n.execute_block(vec![]);
    }
    let c = challenge_of(&n, ch);
    assert_eq!((c.status, c.resolver), (dn::ChallengeStatus::Dismissed as i32, test_key(puppet2).address().to_string()));
    assert_eq!(
        n.balance(&test_key(copier).address()),
        challenger_before - 2 * FEE - 5_000,
        "the challenge bond lost, the appeal bond back"
    );
}
