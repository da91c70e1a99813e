//! Proof of attribution through the real app (ABCI driver, RocksDB; after every block
//! the driver checks token conservation and the attribution books, pools included).
//! A worked example asserted to the last uopen; default settlement; terms changed after
//! payment; receipts scored by the chain, and every way a paid party might try to steer
//! them; every refusal leaving state untouched.
use cosmos_sdk_proto::Any;
use openledger_app::genesis::AppState;
use openledger_proto::cosmos::base::v1beta1::Coin;
use openledger_proto::openledger::attribution::v1 as at;
use openledger_proto::openledger::datanet::v1 as dn;
use openledger_proto::openledger::model::v1 as md;
use openledger_test_driver::{test_key, TestNode, TestNodeBuilder, TestValidator};
use prost::Message;

const FUND: u128 = 100_000_000;
const FEE: u128 = 20_000;
const GAS: u64 = 2_000_000;
const REPORT_WINDOW: u64 = 5;
const BOND: u128 = 1_000_000;

// Keys: datanet owners A=0, B=1; contributors 2, 3, 4; curator 5; model owner 6;
// operator 7; consumer 8; challenger / another consumer 9.
const OWNER_A: u64 = 0;
const OWNER_B: u64 = 1;
const CURATOR: u64 = 5;
const MODEL_OWNER: u64 = 6;
const OPERATOR: u64 = 7;
const CONSUMER: u64 = 8;
const CHALLENGER: u64 = 9;

fn uopen(n: u128) -> Option<Coin> {
    Some(Coin { denom: "uopen".into(), amount: n.to_string() })
}

fn addr(k: u64) -> String {
    test_key(k).address().to_string()
}

fn any<M: Message>(pkg: &str, name: &str, m: &M) -> Any {
    Any { type_url: format!("/openledger.{pkg}.v1.{name}"), value: m.encode_to_vec() }
}

/// Blocks a quorum's decision waits for an appeal before it takes effect, here.
const APPEAL_BLOCKS: u64 = 2;

fn node(report_window: u64) -> TestNode {
    node_from(TestNode::builder().funded_accounts(10, FUND), report_window)
}

fn node_from(builder: TestNodeBuilder, report_window: u64) -> TestNode {
    let mut state: AppState = builder.app_state();
    let mut mp = openledger_model::component::default_params();
    mp.min_operator_bond = BOND.to_string();
    state.model.params = Some(mp);
    // A short appeal window, so a quorum's decision takes effect within a test.
    let mut dp = state.datanet.params.take().unwrap_or_else(openledger_datanet::component::default_params);
    dp.appeal_blocks = APPEAL_BLOCKS;
    state.datanet.params = Some(dp);
    let mut ap = openledger_attribution::component::default_params();
    ap.report_window_blocks = report_window;
    ap.max_default_settlements_per_block = 2;
    state.attribution.params = Some(ap);
    builder.with_app_state(state).build()
}

/// Send one tx as a node takes it: CheckTx refuses what needs no state (a malformed
/// message never reaches a block); the rest runs in a block of its own. Returns
/// (code, log, first response bytes).
fn run(n: &mut TestNode, who: u64, msg: Any) -> (u32, String, Vec<u8>) {
    let tx = n.msg_tx(&test_key(who), vec![msg], FEE, GAS);
    let c = n.check_tx(&tx);
    if c.code != 0 {
        return (c.code, c.log, vec![]);
    }
    let r = n.execute_block(vec![tx]);
    let t = &r.tx_results[0];
    let data = cosmos_sdk_proto::cosmos::base::abci::v1beta1::TxMsgData::decode(t.data.as_ref()).unwrap();
    (t.code, t.log.clone(), data.msg_responses.first().map(|a| a.value.clone()).unwrap_or_default())
}

fn ok<R: Message + Default>(n: &mut TestNode, who: u64, msg: Any) -> R {
    let (code, log, data) = run(n, who, msg);
    assert_eq!(code, 0, "{log}");
    R::decode(data.as_slice()).unwrap()
}

/// The bytes of a contribution's text.
fn content(text: &str) -> Vec<u8> {
    text.as_bytes().to_vec()
}

fn submit(n: &mut TestNode, who: u64, datanet_id: u64, text: &str) -> u64 {
    use sha2::Digest;
    let data = content(text);
    let m = dn::MsgSubmitContribution {
        contributor: addr(who),
        datanet_id,
        content_hash: sha2::Sha256::digest(&data).to_vec(),
        size: data.len() as u64,
        uri: "ipfs://c".into(),
        fingerprint: openledger_datanet::fingerprint::compute(std::str::from_utf8(&data).unwrap(), 1, 512).unwrap(),
        stake: uopen(1000),
        salt: vec![],
    };
    ok::<dn::MsgSubmitContributionResponse>(n, who, any("datanet", "MsgSubmitContribution", &m)).contribution_id
}

fn accept(n: &mut TestNode, id: u64, quality_bps: u32) {
    let m = dn::MsgReviewContribution { curator: addr(CURATOR), contribution_id: id, accept: true, quality_bps, reason: String::new() };
    ok::<dn::MsgReviewContributionResponse>(n, CURATOR, any("datanet", "MsgReviewContribution", &m));
}

fn create_datanet(n: &mut TestNode, owner: u64, name: &str) -> u64 {
    let m = dn::MsgCreateDatanet {
        owner: addr(owner),
        name: name.into(),
        curators: vec![addr(CURATOR)],
        policy: dn::ContributionPolicy::Open as i32,
        min_stake: uopen(1000),
        // Every 8-word shingle kept: the test texts are short.
        fingerprint: Some(dn::FingerprintParams { modulus: 1, max_hashes: 512, near_duplicate_bps: 0 }),
        ..Default::default()
    };
    let id = ok::<dn::MsgCreateDatanetResponse>(n, owner, any("datanet", "MsgCreateDatanet", &m)).id;
    bond_curator(n, CURATOR, id);
    id
}

/// `who` bonds the chain's minimum as a curator of `datanet_id`.
fn bond_curator(n: &mut TestNode, who: u64, datanet_id: u64) {
    let amount = uopen(openledger_datanet::component::default_params().min_curator_bond.parse().unwrap());
    let m = dn::MsgBondCurator { curator: addr(who), datanet_id, amount };
    ok::<dn::MsgBondCuratorResponse>(n, who, any("datanet", "MsgBondCurator", &m));
}

/// A quorum of datanet `a`'s uninvolved curators upholds challenge `id`: its owner and a
/// second curator (key 1, added to the list), each bonded, both voting.
fn quorum_upholds(n: &mut TestNode, a: u64, id: u64) {
    let update = dn::MsgUpdateDatanet {
        owner: addr(OWNER_A),
        datanet_id: a,
        set_curators: true,
        curators: vec![addr(CURATOR), addr(OWNER_B)],
        ..Default::default()
    };
    ok::<dn::MsgUpdateDatanetResponse>(n, OWNER_A, any("datanet", "MsgUpdateDatanet", &update));
    for who in [OWNER_A, OWNER_B] {
        bond_curator(n, who, a);
    }
    for who in [OWNER_A, OWNER_B] {
        let res = dn::MsgResolveChallenge { curator: addr(who), challenge_id: id, uphold: true, resolution: "copied".into() };
        ok::<dn::MsgResolveChallengeResponse>(n, who, any("datanet", "MsgResolveChallenge", &res));
    }
    // Unappealed, the decision takes effect when its appeal window ends.
    for _ in 0..APPEAL_BLOCKS {
        n.execute_block(vec![]);
    }
    let r = n.query("/openledger.datanet.v1.Query/Challenge", dn::QueryChallengeRequest { id }.encode_to_vec(), 0);
    let ch = dn::QueryChallengeResponse::decode(r.value.as_ref()).unwrap().challenge.unwrap();
    assert_eq!(ch.status, dn::ChallengeStatus::Upheld as i32);
}

fn publish(n: &mut TestNode, datanet_id: u64) -> u64 {
    let m = dn::MsgPublishVersion { publisher: addr(CURATOR), datanet_id };
    ok::<dn::MsgPublishVersionResponse>(n, CURATOR, any("datanet", "MsgPublishVersion", &m)).version
}

/// Two datanets, A (contributions 1 by key 2, 2 by key 3) and B (3 by key 4, 4 by
/// key 2), texts of 17 words (10 shingles) each, of weight 60,000 / 40,000 and 50,000 / 50,000 (total 100,000), version
/// 1 of each published; a model trained 70/30 on them, split 40/40/10/10, price 1,000
/// per unit. Contribution texts share words with `OUTPUT` in decreasing measure.
struct World {
    n: TestNode,
    a: u64,
    b: u64,
    model: u64,
}

const TEXTS: [&str; 4] = [
    "the patient heart rate at rest is sixty to one hundred beats per minute for most adults",
    "fasting for eight hours before a glucose test is the usual advice given to most adult patients",
    "blood pressure is measured in millimetres of mercury with a cuff on the upper arm of patients",
    "the patient heart rate at rest is sixty to one hundred beats per minute in healthy people",
];
/// The output most tests take a receipt of: shares most with text 0, then text 3.
const OUTPUT: &str = "the patient heart rate at rest is sixty to one hundred beats per minute for most adults and children";

fn world() -> World {
    world_with(REPORT_WINDOW)
}

fn world_with(report_window: u64) -> World {
    world_on(node(report_window))
}

fn world_on(n: TestNode) -> World {
    world_padded(n, "")
}

/// The world with `pad` appended to every contribution's text: a boilerplate ending
/// ("pad pad …") makes one hash every contribution of a datanet shares.
fn world_padded(mut n: TestNode, pad: &str) -> World {
    let a = create_datanet(&mut n, OWNER_A, "A");
    let b = create_datanet(&mut n, OWNER_B, "B");
    let c1 = submit(&mut n, 2, a, &format!("{}{pad}", TEXTS[0]));
    let c2 = submit(&mut n, 3, a, &format!("{}{pad}", TEXTS[1]));
    let c3 = submit(&mut n, 4, b, &format!("{}{pad}", TEXTS[2]));
    let c4 = submit(&mut n, 2, b, &format!("{}{pad}", TEXTS[3]));
    assert_eq!((c1, c2, c3, c4), (1, 2, 3, 4));
    // Weight = quality × the hashes each is first to bring. Unpadded: 17 words, 10
    // shingles, none shared within a datanet, so quality × 10.
    for (c, q) in [(c1, 6000), (c2, 4000), (c3, 5000), (c4, 5000)] {
        accept(&mut n, c, q);
    }
    assert_eq!((publish(&mut n, a), publish(&mut n, b)), (1, 1));
    let model = register_model(
        &mut n,
        "m",
        vec![
            md::TrainingEntry { datanet_id: a, version: 1, weight_bps: 7000 },
            md::TrainingEntry { datanet_id: b, version: 1, weight_bps: 3000 },
        ],
    );
    World { n, a, b, model }
}

fn pay_msg(model: u64, units: u64, max_fee: u128) -> Any {
    any(
        "attribution",
        "MsgPayInference",
        &at::MsgPayInference { consumer: addr(CONSUMER), model_id: model, units, max_fee: uopen(max_fee) },
    )
}

fn pay(n: &mut TestNode, model: u64, units: u64) -> at::MsgPayInferenceResponse {
    ok(n, CONSUMER, pay_msg(model, units, u128::from(units) * 1000))
}

/// The receipt of an output: its SHA-256 and its fingerprint (every shingle, as the
/// test datanets sample), for this chain.
fn receipt_of(inference_id: u64, output: &str) -> at::Receipt {
    use sha2::Digest;
    at::Receipt {
        chain_id: openledger_test_driver::TEST_CHAIN_ID.into(),
        inference_id,
        output_hash: sha2::Sha256::digest(output.as_bytes()).to_vec(),
        output_fingerprint: openledger_datanet::fingerprint::compute(output, 1, 1024).unwrap(),
        operator: String::new(),
    }
}

/// The operator delivers the consumer's signed receipt of `output`.
fn report_msg(inference_id: u64, output: &str) -> Any {
    report_signed(OPERATOR, CONSUMER, &receipt_of(inference_id, output))
}

/// `operator` delivers `receipt`, signed by `signer`.
fn report_signed(operator: u64, signer: u64, receipt: &at::Receipt) -> Any {
    any(
        "attribution",
        "MsgSubmitAttribution",
        &at::MsgSubmitAttribution {
            operator: addr(operator),
            inference_id: receipt.inference_id,
            receipt: Some(receipt.clone()),
            receipt_signature: test_key(signer).sign(&openledger_types::receipt::sign_bytes(receipt)),
        },
    )
}

/// `who` delivers a receipt itself (as the consumer).
fn receipt_msg(who: u64, receipt: &at::Receipt) -> Any {
    any("attribution", "MsgSubmitReceipt", &at::MsgSubmitReceipt { consumer: addr(who), receipt: Some(receipt.clone()) })
}

fn claim_msg(who: u64, ids: &[u64]) -> Any {
    any("attribution", "MsgClaimRewards", &at::MsgClaimRewards { contributor: addr(who), contribution_ids: ids.to_vec(), start_after: 0 })
}

fn query<Req: Message, Resp: Message + Default>(n: &TestNode, method: &str, req: Req) -> Resp {
    let r = n.query(&format!("/openledger.attribution.v1.Query/{method}"), req.encode_to_vec(), 0);
    assert_eq!(r.code, 0, "{}", r.log);
    Resp::decode(r.value.as_ref()).unwrap()
}

fn books(n: &TestNode) -> at::Accounting {
    query::<_, at::QueryAccountingResponse>(n, "Accounting", at::QueryAccountingRequest {}).accounting.unwrap()
}

fn balances(n: &TestNode, keys: &[u64]) -> Vec<u128> {
    keys.iter().map(|k| n.balance(&test_key(*k).address())).collect()
}

fn collector(n: &TestNode) -> u128 {
    n.balance(&openledger_token::fee_collector())
}

#[test]
fn worked_example_pays_every_recipient_to_the_last_uopen() {
    let World { mut n, a, model, .. } = world();
    let keys = [OWNER_A, OWNER_B, 2, 3, 4, MODEL_OWNER, OPERATOR, CONSUMER];
    let before = balances(&n, &keys);
    let collector_before = collector(&n);

    // 1,000 units × 1,000 uopen = 1,000,000 uopen into escrow.
    let paid = pay(&mut n, model, 1000);
    assert_eq!((paid.inference_id, paid.fee.clone().unwrap().amount.as_str()), (1, "1000000"));
    assert_eq!(n.balance(&openledger_attribution::escrow()), 1_000_000);
    let inf: at::QueryInferenceResponse = query(&n, "Inference", at::QueryInferenceRequest { id: 1 });
    let inf = inf.inference.unwrap();
    assert_eq!((inf.status, inf.terms.as_ref().unwrap().terms_version), (at::InferenceStatus::Pending as i32, 1));

    // The operator delivers the consumer's receipt; the chain chooses the entries. The
    // output shares its first 10 shingles with contribution 1 (datanet A) and 7 of them
    // with contribution 4 (datanet B), each hash held by one contribution of its
    // datanet: scores 10 × 10⁶ and 7 × 10⁶; contributions 2 and 3 share nothing.
    let r: at::MsgSubmitAttributionResponse = ok(&mut n, OPERATOR, report_msg(1, OUTPUT));
    let entries: Vec<(u64, u64, &str)> = r.entries.iter().map(|e| (e.contribution_id, e.score, e.amount.as_str())).collect();
    // owner 40%, datanet owners 10% (70/30), protocol 10%, contributors 40% = 400,000,
    // split 10:7 over the total score: ⌊235,294.1⌋ and ⌊164,705.9⌋; the 1 uopen of
    // rounding goes to the pools (70/30 by training weight: all of it to A's).
    assert_eq!(entries, vec![(1, 10_000_000, "235294"), (4, 7_000_000, "164705")]);
    let s = r.settlement.unwrap();
    assert_eq!(
        [s.model_owner.as_str(), &s.datanet_owners, &s.protocol, &s.contributor_credits, &s.version_pools, &s.datanet_treasuries],
        ["400000", "100000", "100000", "399999", "1", "0"]
    );
    // The report keeps the receipt and what the chain computed.
    let inf: at::QueryInferenceResponse = query(&n, "Inference", at::QueryInferenceRequest { id: 1 });
    let report = inf.inference.unwrap().report.unwrap();
    assert_eq!((report.submitter.as_str(), report.total_score, report.candidates), (addr(OPERATOR).as_str(), 17_000_000, 2));
    assert_eq!(report.receipt.unwrap(), receipt_of(1, OUTPUT));
    assert_eq!(report.receipt_signature.len(), 64);

    // Claimable before claiming: key 2 has contributions 1 and 4 (60% of A's 1 uopen
    // pool is less than a uopen: dust).
    let cl: at::QueryClaimableResponse = query(&n, "Claimable", at::QueryClaimableRequest { address: addr(2), pagination: None });
    let per: Vec<(u64, &str, &str)> = cl.contributions.iter().map(|c| (c.contribution_id, c.credit.as_str(), c.pools.as_str())).collect();
    assert_eq!(per, vec![(1, "235294", "0"), (4, "164705", "0")]);
    assert_eq!(cl.total, "399999");
    let r: at::MsgClaimRewardsResponse = ok(&mut n, 2, claim_msg(2, &[1, 4]));
    assert_eq!(r.claimed, "399999");

    let after = balances(&n, &keys);
    let delta: Vec<i128> = after.iter().zip(&before).map(|(a, b)| *a as i128 - *b as i128).collect();
    let fee = FEE as i128;
    assert_eq!(
        delta,
        vec![
            70_000,           // owner of A: 70% of the datanet owners' 100,000
            30_000,           // owner of B: 30%
            399_999 - fee,    // contributions 1 and 4, one claim
            0,                // contribution 2: nothing of it in the output
            0,                // contribution 3
            400_000,          // model owner: 40%
            -fee,             // operator: the report's tx fee
            -1_000_000 - fee, // consumer
        ]
    );
    // The protocol's 100,000 reached the fee collector with the three txs' fees (no
    // validators in this driver, so the collector keeps them).
    assert_eq!(collector(&n) - collector_before, 100_000 + 3 * FEE);

    // Books: everything paid in was paid out but the 1 uopen of dust in A's pool.
    let b = books(&n);
    assert_eq!(
        [b.paid_in.as_str(), &b.paid_out, &b.escrowed, &b.credits_outstanding, &b.pools_outstanding],
        ["1000000", "999999", "0", "0", "1"]
    );
    assert_eq!(n.balance(&openledger_attribution::rewards()), 1);
    // Stats and history.
    let ms: at::QueryModelStatsResponse = query(&n, "ModelStats", at::QueryModelStatsRequest { model_id: model });
    let ms = ms.stats.unwrap();
    assert_eq!((ms.inferences, ms.settled_reported, ms.revenue.as_str()), (1, 1, "1000000"));
    let ds: at::QueryDatanetStatsResponse = query(&n, "DatanetStats", at::QueryDatanetStatsRequest { datanet_id: a });
    let ds = ds.stats.unwrap();
    // A: owner 70,000 + the credit to contribution 1, 235,294 + its pool's 1.
    assert_eq!((ds.revenue.as_str(), ds.contributors_paid, ds.claimed.as_str()), ("305295", 1, "235294"));
    let h: at::QueryContributionEarningsResponse =
        query(&n, "ContributionEarnings", at::QueryContributionEarningsRequest { contribution_id: 1, pagination: None });
    let kinds: Vec<(i32, &str)> = h.history.iter().map(|r| (r.kind, r.amount.as_str())).collect();
    assert_eq!(kinds, vec![(at::EarningKind::ReportCredit as i32, "235294"), (at::EarningKind::Claim as i32, "235294")]);
    assert_eq!(h.rewards.unwrap().claimed_total, "235294");
}

#[test]
fn unreported_inferences_settle_by_training_weights_under_the_terms_they_were_paid_under() {
    let World { mut n, a, b, model } = world();
    let owner_before = n.balance(&test_key(MODEL_OWNER).address());
    // Three inferences in one block: at most two settle per block by default.
    let txs: Vec<Vec<u8>> = (0..3u64)
        .map(|i| {
            let acct = n.account(&test_key(CONSUMER).address()).unwrap();
            openledger_client::txbuilder::sign_tx(
                &openledger_client::txbuilder::TxSpec::new(vec![pay_msg(model, 100, 100_000)], FEE, GAS),
                &test_key(CONSUMER),
                openledger_test_driver::TEST_CHAIN_ID,
                acct.account_number,
                acct.sequence + i,
            )
        })
        .collect();
    let r = n.execute_block(txs);
    assert!(r.tx_results.iter().all(|t| t.code == 0), "{:?}", r.tx_results);
    let paid_at = n.height;

    // The owner doubles the price and changes the operators after payment.
    let upd = md::MsgUpdateModel { owner: addr(MODEL_OWNER), model_id: model, price_per_unit: uopen(2000), ..Default::default() };
    let terms: md::MsgUpdateModelResponse = ok(&mut n, MODEL_OWNER, any("model", "MsgUpdateModel", &upd));
    assert_eq!(terms.terms_version, 2);

    while n.height < paid_at + REPORT_WINDOW {
        n.execute_block(vec![]);
    }
    // The first block past the deadline: a report in it is too late (its txs run before
    // the end of the block settles); two settle by default, the third waits a block.
    let (code, log, _) = run(&mut n, OPERATOR, report_msg(3, OUTPUT));
    assert_eq!(code, 7, "{log}");
    assert!(log.contains("report window of inference 3 closed"), "{log}");
    let status = |n: &TestNode, id: u64| {
        let r: at::QueryInferenceResponse = query(n, "Inference", at::QueryInferenceRequest { id });
        r.inference.unwrap()
    };
    assert_eq!(
        (1..=3).map(|i| status(&n, i).status).collect::<Vec<_>>(),
        vec![at::InferenceStatus::SettledDefault as i32, at::InferenceStatus::SettledDefault as i32, at::InferenceStatus::Pending as i32]
    );
    n.execute_block(vec![]);
    let i3 = status(&n, 3);
    assert_eq!(i3.status, at::InferenceStatus::SettledDefault as i32);
    // Each paid 100,000 under terms version 1: owner 40,000; contributors' 40,000 all to
    // the pools 70/30.
    assert_eq!(i3.terms.unwrap().terms_version, 1);
    let s = i3.settlement.unwrap();
    assert_eq!((s.model_owner.as_str(), s.contributor_credits.as_str(), s.version_pools.as_str()), ("40000", "0", "40000"));
    assert_eq!(n.balance(&test_key(MODEL_OWNER).address()), owner_before - FEE + 3 * 40_000);
    for (d, expect) in [(a, "84000"), (b, "36000")] {
        let p: at::QueryVersionPoolResponse = query(&n, "VersionPool", at::QueryVersionPoolRequest { datanet_id: d, version: 1 });
        assert_eq!(p.pool.unwrap().paid_in, expect);
    }
    // A late receipt is refused, from the operator or the consumer.
    let (code, log, _) = run(&mut n, CONSUMER, receipt_msg(CONSUMER, &receipt_of(1, OUTPUT)));
    assert_eq!(code, 5, "{log}");
    let (code, log, _) = run(&mut n, OPERATOR, report_msg(1, OUTPUT));
    assert_eq!(code, 5, "{log}");
    // Contribution 2 (A, weight 40%) claims 40% of A's 84,000 pool.
    let r: at::MsgClaimRewardsResponse = ok(&mut n, 3, claim_msg(3, &[]));
    assert_eq!((r.claimed.as_str(), r.contributions, r.next_start_after), ("33600", 1, 0));
}

/// The specification's shingles of a text: 8 lower-cased words, first 8 bytes of SHA-256.
fn shingles(text: &str) -> std::collections::BTreeSet<u64> {
    use sha2::Digest;
    let words: Vec<String> = text.split_whitespace().map(str::to_lowercase).collect();
    words.windows(8).map(|w| u64::from_be_bytes(sha2::Sha256::digest(w.join(" ").as_bytes())[..8].try_into().unwrap())).collect()
}

/// The scores the rule gives, computed here from the specification, not with the
/// chain's code: `contributions` are (id, datanet, text) of the accepted contributions
/// in the training versions, in the order they were accepted; each output hash counts
/// 10⁶ / (contributions of its datanet with it) for the first of them accepted, nothing
/// above `max_sharing`. Returns (id, score) by score, then id.
fn reference_scores(output: &str, contributions: &[(u64, u64, String)], max_sharing: u64) -> Vec<(u64, u64)> {
    let out = shingles(output);
    let fps: Vec<(u64, u64, std::collections::BTreeSet<u64>)> = contributions.iter().map(|(id, d, t)| (*id, *d, shingles(t))).collect();
    let mut scores: std::collections::BTreeMap<u64, u64> = Default::default();
    let datanets: std::collections::BTreeSet<u64> = fps.iter().map(|(_, d, _)| *d).collect();
    for h in &out {
        for d in &datanets {
            let holders: Vec<u64> = fps.iter().filter(|(_, d2, f)| d2 == d && f.contains(h)).map(|(id, _, _)| *id).collect();
            let df = holders.len() as u64;
            if df == 0 || df > max_sharing {
                continue;
            }
            *scores.entry(holders[0]).or_insert(0) += 1_000_000 / df;
        }
    }
    let mut scores: Vec<(u64, u64)> = scores.into_iter().collect();
    scores.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    scores
}

const PAD: &str = " pad pad pad pad pad pad pad pad pad pad";

fn world_texts(pad: &str) -> Vec<(u64, u64, String)> {
    // Contributions 1, 2 in datanet 1 (A); 3, 4 in datanet 2 (B), accepted in id order.
    [(1, 1, 0), (2, 1, 1), (3, 2, 2), (4, 2, 3)].iter().map(|&(id, d, t)| (id, d, format!("{}{pad}", TEXTS[t]))).collect()
}

/// The chain's choice is the rule's, to the last uopen: each output below is scored here
/// from the specification and by the chain. The padding every contribution of this
/// world ends with ("pad pad …") is in both contributions of each datanet: it counts
/// half, for the first of them (1 in A, 3 in B).
#[test]
fn receipts_are_scored_by_rarity_exactly_as_specified() {
    let World { mut n, model, .. } = world_padded(node(REPORT_WINDOW), PAD);
    let pad = " pad".repeat(12);
    let outputs = [OUTPUT.to_string(), format!("{OUTPUT}{pad}"), format!("{}{pad}", TEXTS[1]), TEXTS[2].to_string(), pad.clone()];
    for (i, output) in outputs.iter().enumerate() {
        let id = pay(&mut n, model, 1000).inference_id;
        let r: at::MsgSubmitAttributionResponse = ok(&mut n, OPERATOR, report_msg(id, output));
        let expect = reference_scores(output, &world_texts(PAD), 32);
        let total: u128 = expect.iter().map(|(_, s)| u128::from(*s)).sum();
        let got: Vec<(u64, u64)> = r.entries.iter().map(|e| (e.contribution_id, e.score)).collect();
        assert_eq!(got, expect, "output {i}");
        let credited: u128 = r.entries.iter().map(|e| e.amount.parse::<u128>().unwrap()).sum();
        for e in &r.entries {
            assert_eq!(e.amount.parse::<u128>().unwrap(), 400_000 * u128::from(e.score) / total, "output {i}");
        }
        let s = r.settlement.unwrap();
        assert_eq!(
            (s.contributor_credits.parse::<u128>().unwrap(), s.version_pools.parse::<u128>().unwrap()),
            (credited, 400_000 - credited)
        );
    }
    // Output 1 by hand: 10.5 : 7 : 0.5 (× 10⁶) of 18 × 10⁶ — contribution 1 has the
    // first 10 shingles and half the pad, 4 seven shingles, 3 the pad's other half (B's
    // first holder); 2 holds nothing of it. The 1 uopen of rounding goes to the pools.
    let inf: at::QueryInferenceResponse = query(&n, "Inference", at::QueryInferenceRequest { id: 2 });
    let report = inf.inference.unwrap().report.unwrap();
    let e: Vec<(u64, u64, &str)> = report.entries.iter().map(|e| (e.contribution_id, e.score, e.amount.as_str())).collect();
    assert_eq!(e, vec![(1, 10_500_000, "233333"), (4, 7_000_000, "155555"), (3, 500_000, "11111")]);
    assert_eq!((report.total_score, report.candidates), (18_000_000, 3));
}

/// Only the top `max_entries` are credited, but each of its share of *every*
/// candidate's score: with K = 2, contribution 3's share goes to the pools, not to
/// the top two — pushing others out of the top K earns nothing.
#[test]
fn crowding_others_out_of_the_top_entries_earns_nothing() {
    let builder = TestNode::builder().funded_accounts(10, FUND);
    let mut state = builder.app_state();
    let mut ap = openledger_attribution::component::default_params();
    ap.report_window_blocks = REPORT_WINDOW;
    ap.max_entries = 2;
    state.attribution.params = Some(ap);
    let mut mp = openledger_model::component::default_params();
    mp.min_operator_bond = BOND.to_string();
    state.model.params = Some(mp);
    let World { mut n, model, .. } = world_padded(builder.with_app_state(state).build(), PAD);
    pay(&mut n, model, 1000);
    let r: at::MsgSubmitAttributionResponse = ok(&mut n, OPERATOR, report_msg(1, &format!("{OUTPUT}{}", " pad".repeat(12))));
    let e: Vec<(u64, &str)> = r.entries.iter().map(|e| (e.contribution_id, e.amount.as_str())).collect();
    assert_eq!(e, vec![(1, "233333"), (4, "155555")]);
    let s = r.settlement.unwrap();
    // 3's 11,111, and the rounding, to the pools.
    assert_eq!((s.contributor_credits.as_str(), s.version_pools.as_str()), ("388888", "11112"));
}

/// Every way a party paid by an inference might direct its fee, refused or unprofitable:
/// the operator signing its own receipt, altering the consumer's, replaying it on another
/// inference or chain; a stranger delivering a receipt; an owner who is the operator and
/// a contributor; a consumer who is a contributor. The honest paths: the operator
/// withholds the receipt, and the consumer delivers it itself.
#[test]
fn no_paid_party_can_steer_a_receipt() {
    let World { mut n, model, .. } = world_with(1000);
    pay(&mut n, model, 1000);
    let watched = [OPERATOR, MODEL_OWNER, 2, 3, 4, CHALLENGER];
    let before = balances(&n, &watched);
    let honest = receipt_of(1, OUTPUT);
    // Aimed at contribution 3 (key 4) alone.
    let steered =
        at::Receipt { output_fingerprint: openledger_datanet::fingerprint::compute(TEXTS[2], 1, 1024).unwrap(), ..honest.clone() };
    let consumer_sig = test_key(CONSUMER).sign(&openledger_types::receipt::sign_bytes(&honest));
    let forged = any(
        "attribution",
        "MsgSubmitAttribution",
        &at::MsgSubmitAttribution {
            operator: addr(OPERATOR),
            inference_id: 1,
            receipt: Some(steered.clone()),
            receipt_signature: consumer_sig.clone(),
        },
    );
    let other_chain = at::Receipt { chain_id: "another-chain".into(), ..honest.clone() };
    let cases: Vec<(u64, Any, u32, &str)> = vec![
        // The operator makes up an output and signs it itself.
        (OPERATOR, report_signed(OPERATOR, OPERATOR, &steered), 18, "not signed by its consumer"),
        // The operator swaps the consumer's fingerprint, keeping its signature.
        (OPERATOR, forged, 18, "not signed by its consumer"),
        // A receipt for another chain (signed by the consumer) is refused.
        (OPERATOR, report_signed(OPERATOR, CONSUMER, &other_chain), 17, "is for chain"),
        // The owner, a contributor (key 2), is no operator; a contributor's own
        // signature makes no receipt either.
        (2, report_signed(2, 2, &steered), 3, "not an operator"),
        // A stranger delivering a receipt as if it were the consumer.
        (CHALLENGER, receipt_msg(CHALLENGER, &steered), 3, "is not the consumer of inference 1"),
    ];
    for (who, msg, code, needle) in cases {
        let (c, log, _) = run(&mut n, who, msg);
        assert_eq!(c, code, "{needle}: {log}");
        assert!(log.contains(needle), "{log:?} should contain {needle:?}");
    }
    // A consumer's receipt for inference 1 replayed on inference 2 is refused before any
    // state is read (the receipt names its inference).
    pay(&mut n, model, 1000);
    let replay = any(
        "attribution",
        "MsgSubmitAttribution",
        &at::MsgSubmitAttribution {
            operator: addr(OPERATOR),
            inference_id: 2,
            receipt: Some(honest.clone()),
            receipt_signature: consumer_sig,
        },
    );
    let (c, log, _) = run(&mut n, OPERATOR, replay);
    assert_eq!(c, 17, "{log}");
    // Every attacker paid its fees and nothing else moved.
    let after = balances(&n, &watched);
    // Refusals that need state are charged their fee; the replay never reached a block.
    let fees = [3 * FEE, 0, FEE, 0, 0, FEE];
    for (k, who) in watched.iter().enumerate() {
        assert_eq!(after[k], before[k] - fees[k], "key {who}");
    }
    // The operator withholds the receipt; the consumer delivers it itself.
    let r: at::MsgSubmitReceiptResponse = ok(&mut n, CONSUMER, receipt_msg(CONSUMER, &honest));
    assert_eq!(r.entries.iter().map(|e| e.contribution_id).collect::<Vec<_>>(), vec![1, 4]);
    let inf: at::QueryInferenceResponse = query(&n, "Inference", at::QueryInferenceRequest { id: 1 });
    let report = inf.inference.unwrap().report.unwrap();
    assert_eq!((report.submitter, report.receipt_signature.len()), (addr(CONSUMER), 0));
    let (c, _, _) = run(&mut n, OPERATOR, report_msg(1, OUTPUT));
    assert_eq!(c, 5, "settled once");

    // A consumer who is also a contributor (key 2, contributions 1 and 4) pays and
    // aims its own receipt at its own data: it gets back at most the contributors'
    // 40%, and loses the rest.
    ok::<at::MsgClaimRewardsResponse>(&mut n, 2, claim_msg(2, &[]));
    let k2 = n.balance(&test_key(2).address());
    let paid: at::MsgPayInferenceResponse = ok(&mut n, 2, {
        let m = at::MsgPayInference { consumer: addr(2), model_id: model, units: 1000, max_fee: uopen(1_000_000) };
        any("attribution", "MsgPayInference", &m)
    });
    let own = receipt_of(paid.inference_id, TEXTS[0]);
    let r: at::MsgSubmitReceiptResponse = ok(&mut n, 2, receipt_msg(2, &own));
    assert_eq!(r.entries[0].contribution_id, 1);
    ok::<at::MsgClaimRewardsResponse>(&mut n, 2, claim_msg(2, &[]));
    let gained = n.balance(&test_key(2).address()) as i128 - k2 as i128;
    // It paid 1,000,000 and three fees, and got its own data's 40% back: 225,000 + 175,000.
    assert_eq!(gained, -1_000_000 + 400_000 - 3 * FEE as i128, "self-dealing consumer");
}

/// Operators are paid for serving: the operator share goes to the operator the
/// consumer's receipt names, one of the model's operators *when the inference was
/// paid*. Attacks: the owner swaps the operators after payment and the new one tries to
/// deliver the receipt, or to be named in it — refused. A receipt naming no operator
/// gives the share to the contributors; no receipt, to the pools.
#[test]
fn operators_are_paid_for_receipts_under_the_terms_of_payment() {
    let World { mut n, model, .. } = world();
    let split = md::FeeSplit { owner_bps: 3000, contributors_bps: 4000, datanet_owners_bps: 1000, protocol_bps: 1000, operator_bps: 1000 };
    let upd = md::MsgUpdateModel { owner: addr(MODEL_OWNER), model_id: model, fee_split: Some(split), ..Default::default() };
    ok::<md::MsgUpdateModelResponse>(&mut n, MODEL_OWNER, any("model", "MsgUpdateModel", &upd));
    pay(&mut n, model, 1000);
    // After payment the owner makes key 9 the only operator.
    let swap = md::MsgUpdateModel {
        owner: addr(MODEL_OWNER),
        model_id: model,
        operators: vec![addr(CHALLENGER)],
        set_operators: true,
        ..Default::default()
    };
    ok::<md::MsgUpdateModelResponse>(&mut n, MODEL_OWNER, any("model", "MsgUpdateModel", &swap));
    let (op, newcomer) = (n.balance(&test_key(OPERATOR).address()), n.balance(&test_key(CHALLENGER).address()));
    let naming = |who: u64| at::Receipt { operator: addr(who), ..receipt_of(1, OUTPUT) };
    let (c, log, _) = run(&mut n, CHALLENGER, report_signed(CHALLENGER, CONSUMER, &naming(CHALLENGER)));
    assert!(c == 17 && log.contains("not an operator of model 1 when inference 1 was paid"), "{c} {log}");
    let (c, log, _) = run(&mut n, CHALLENGER, report_signed(CHALLENGER, CONSUMER, &naming(OPERATOR)));
    assert!(c == 3 && log.contains("under the terms inference 1 was paid under"), "{c} {log}");
    // The operator of the terms delivers the receipt naming it: 10% of 1,000,000.
    let r: at::MsgSubmitAttributionResponse = ok(&mut n, OPERATOR, report_signed(OPERATOR, CONSUMER, &naming(OPERATOR)));
    let s = r.settlement.unwrap();
    assert_eq!((s.operator.as_str(), s.model_owner.as_str(), s.contributor_credits.as_str()), ("100000", "300000", "399999"));
    assert_eq!(n.balance(&test_key(OPERATOR).address()), op + 100_000 - FEE);
    assert_eq!(n.balance(&test_key(CHALLENGER).address()), newcomer - 2 * FEE);
    // A receipt naming no operator: its share joins the contributors' (500,000 by score).
    pay(&mut n, model, 1000);
    let r: at::MsgSubmitReceiptResponse = ok(&mut n, CONSUMER, receipt_msg(CONSUMER, &receipt_of(2, OUTPUT)));
    let e: Vec<(u64, &str)> = r.entries.iter().map(|e| (e.contribution_id, e.amount.as_str())).collect();
    assert_eq!(e, vec![(1, "294117"), (4, "205882")]);
    assert_eq!(r.settlement.unwrap().operator, "0");
    // No receipt: the operator share goes to the pools with the contributors' part.
    pay(&mut n, model, 1000);
    let paid_at = n.height;
    while n.height <= paid_at + REPORT_WINDOW {
        n.execute_block(vec![]);
    }
    let inf: at::QueryInferenceResponse = query(&n, "Inference", at::QueryInferenceRequest { id: 3 });
    let s = inf.inference.unwrap().settlement.unwrap();
    assert_eq!((s.operator.as_str(), s.version_pools.as_str()), ("0", "500000"));
}

/// A receipt credits only what the model was trained on: a contribution accepted after
/// the training version was published scores nothing even on an output copied from it,
/// and one invalidated by an upheld challenge stops earning at once.
#[test]
fn receipts_credit_only_the_training_versions_and_never_invalidated_data() {
    let World { mut n, a, model, .. } = world();
    // Contribution 5 in A: the output itself and more (not a near-duplicate of 1),
    // accepted, not in version 1.
    let more: Vec<String> = (0..40).map(|i| format!("note{i}")).collect();
    let c5 = submit(&mut n, 3, a, &format!("{OUTPUT} {}", more.join(" ")));
    accept(&mut n, c5, 10_000);
    pay(&mut n, model, 1000);
    let r: at::MsgSubmitAttributionResponse = ok(&mut n, OPERATOR, report_msg(1, OUTPUT));
    // 5 is not credited; being accepted, it does make the 10 hashes it shares with 1
    // less rare (each counts half for 1): 1 scores 5 × 10⁶, 4 scores 7 × 10⁶.
    let e: Vec<(u64, u64)> = r.entries.iter().map(|e| (e.contribution_id, e.score)).collect();
    assert_eq!(e, vec![(4, 7_000_000), (1, 5_000_000)]);
    // Contribution 1 is challenged and invalidated.
    let ch =
        dn::MsgChallengeContribution { challenger: addr(CHALLENGER), contribution_id: 1, reason: "copied".into(), bond: uopen(1_000_000) };
    let ch: dn::MsgChallengeContributionResponse = ok(&mut n, CHALLENGER, any("datanet", "MsgChallengeContribution", &ch));
    // Two uninvolved curators judge: the curator accepted the contribution, so may not.
    quorum_upholds(&mut n, a, ch.challenge_id);
    pay(&mut n, model, 1000);
    let r: at::MsgSubmitAttributionResponse = ok(&mut n, OPERATOR, report_msg(2, OUTPUT));
    let e: Vec<(u64, &str)> = r.entries.iter().map(|e| (e.contribution_id, e.amount.as_str())).collect();
    assert_eq!(e, vec![(4, "400000")]);
}

/// MODEL_OWNER registers a model on `training_set`, served by OPERATOR, split 40/40/10/10.
fn register_model(n: &mut TestNode, name: &str, training_set: Vec<md::TrainingEntry>) -> u64 {
    let m = md::MsgRegisterModel {
        owner: addr(MODEL_OWNER),
        name: name.into(),
        base_model: String::new(),
        artifact_hash: vec![1; 32],
        artifact_uri: "ipfs://m".into(),
        training_set,
        operators: vec![addr(OPERATOR)],
        price_per_unit: uopen(1000),
        fee_split: Some(md::FeeSplit {
            owner_bps: 4000,
            contributors_bps: 4000,
            datanet_owners_bps: 1000,
            protocol_bps: 1000,
            operator_bps: 0,
        }),
        bond: uopen(BOND),
    };
    ok::<md::MsgRegisterModelResponse>(n, MODEL_OWNER, any("model", "MsgRegisterModel", &m)).model_id
}

/// A model trained on `versions` of datanet `a`, equal weights (10⁴ divisible by their count).
fn register_on_versions(n: &mut TestNode, a: u64, versions: std::ops::RangeInclusive<u64>) -> u64 {
    let k = versions.clone().count() as u32;
    let training_set = versions.clone().map(|v| md::TrainingEntry { datanet_id: a, version: v, weight_bps: 10_000 / k }).collect();
    register_model(n, &format!("m{}", versions.start()), training_set)
}

/// Pay `models` one inference each (1,000 units) and let them settle by default.
fn pay_and_settle(n: &mut TestNode, models: &[u64]) {
    for m in models {
        pay(n, *m, 1000);
    }
    for _ in 0..REPORT_WINDOW + models.len() as u64 {
        n.execute_block(vec![]);
    }
}

/// A claim's gas and amount.
fn claim_gas(n: &mut TestNode, who: u64, ids: &[u64]) -> (i64, u128) {
    let tx = n.msg_tx(&test_key(who), vec![claim_msg(who, ids)], FEE, GAS);
    let t = n.execute_block(vec![tx]).tx_results[0].clone();
    assert_eq!(t.code, 0, "{}", t.log);
    let data = cosmos_sdk_proto::cosmos::base::abci::v1beta1::TxMsgData::decode(t.data.as_ref()).unwrap();
    (t.gas_used, at::MsgClaimRewardsResponse::decode(data.msg_responses[0].value.as_slice()).unwrap().claimed.parse().unwrap())
}

fn claimable_of(n: &TestNode, who: u64, id: u64) -> u128 {
    let cl: at::QueryClaimableResponse = query(n, "Claimable", at::QueryClaimableRequest { address: addr(who), pagination: None });
    cl.contributions.iter().find(|c| c.contribution_id == id).map_or(0, |c| c.pools.parse().unwrap())
}

/// Claims always work, and invalidated data stops earning everywhere. Attacks: a
/// contribution in every version of a long-lived datanet claiming everything at once
/// (its claim must not run out of gas as versions are added); a contribution found
/// copied after it entered many versions, still earning from the pools of the versions
/// it was in. A contribution in 50 paid pools claims them all in one message for the
/// gas of a claim on one pool (the pools' sums are a Fenwick tree: two prefix sums);
/// once a challenge against contribution 2 is upheld its pool earnings are fixed at
/// that moment in all 50 pools it was in, and later payments go to the others alone.
#[test]
fn one_claim_takes_every_pool_and_invalidated_data_stops_accruing_in_all_of_them() {
    let mut n = node(REPORT_WINDOW);
    let a = create_datanet(&mut n, OWNER_A, "A");
    let (c1, c2) = (submit(&mut n, 2, a, TEXTS[0]), submit(&mut n, 3, a, TEXTS[1]));
    accept(&mut n, c1, 6000);
    accept(&mut n, c2, 4000);
    assert_eq!(publish(&mut n, a), 1);
    let m0 = register_on_versions(&mut n, a, 1..=1);
    pay_and_settle(&mut n, &[m0]);
    // One pool (version 1, weight 100,000): contribution 1 has 60% of 400,000.
    let (gas_one_pool, got) = claim_gas(&mut n, 2, &[c1]);
    assert_eq!(got, 240_000);

    // 49 more versions, each with one more contribution; two models on 25 versions each.
    let mut fillers = vec![];
    for v in 2..=50u64 {
        // 17 words of its own: 10 new hashes, weight 50,000.
        let text: Vec<String> = (0..17).map(|i| format!("filler{v}word{i}")).collect();
        let c = submit(&mut n, 4, a, &text.join(" "));
        accept(&mut n, c, 5000);
        assert_eq!(publish(&mut n, a), v);
        fillers.push(c);
    }
    let (m1, m2) = (register_on_versions(&mut n, a, 1..=25), register_on_versions(&mut n, a, 26..=50));
    pay_and_settle(&mut n, &[m1, m2]);
    // Each model's 400,000 went to its 25 pools, 16,000 each. Version v weighs
    // 100,000 + 50,000 × (v − 1); contribution 1 (60,000) earns 16,000 × 60,000 / W_v
    // in each, in fixed point, floored once.
    let scale: u128 = 1_000_000_000_000_000_000;
    let earned: u128 = (1..=50u128).map(|v| 60_000 * (16_000 * scale / (100_000 + 50_000 * (v - 1)))).sum();
    let (gas_fifty_pools, got) = claim_gas(&mut n, 2, &[c1]);
    eprintln!("claim gas: one pool {gas_one_pool}, fifty pools {gas_fifty_pools}");
    assert_eq!(got, earned / scale);
    // Explained pool by pool, paged by version.
    let pools_of = |n: &TestNode, id: u64, key: Vec<u8>, limit: u64| -> at::QueryContributionPoolsResponse {
        let page = Some(openledger_proto::cosmos::base::query::v1beta1::PageRequest { key, limit, ..Default::default() });
        query(n, "ContributionPools", at::QueryContributionPoolsRequest { contribution_id: id, pagination: page })
    };
    let p1 = pools_of(&n, c1, vec![], 30);
    let p2 = pools_of(&n, c1, p1.pagination.clone().unwrap().next_key, 30);
    assert_eq!((p1.pools.len(), p2.pools.len(), p2.pagination.clone().unwrap().next_key.len()), (30, 20, 0));
    assert_eq!((p1.accrued_total.clone(), p1.taken.clone()), ((240_000 + earned / scale).to_string(), (240_000 + got).to_string()));
    let versions: Vec<u64> = p1.pools.iter().chain(&p2.pools).map(|p| p.version).collect();
    assert_eq!(versions, (1..=50).collect::<Vec<_>>());
    let by_pool: u128 = p1.pools.iter().chain(&p2.pools).map(|p| p.accrued.parse::<u128>().unwrap()).sum();
    assert!(by_pool <= 240_000 + earned / scale && 240_000 + earned / scale - by_pool < 50, "pool by pool {by_pool}");
    assert_eq!((p1.pools[1].live_weight.as_str(), p1.pools[1].paid_in.as_str()), ("150000", "16000"));
    assert!(
        gas_fifty_pools <= gas_one_pool + gas_one_pool / 10,
        "a claim over 50 pools used {gas_fifty_pools} gas, over one {gas_one_pool}"
    );

    // Contribution 2 is invalidated: what it earned in its 50 pools until now is fixed.
    let before = claimable_of(&n, 3, c2);
    let expect: u128 = (40_000 * (400_000 * scale / 100_000)
        + (1..=50u128).map(|v| 40_000 * (16_000 * scale / (100_000 + 50_000 * (v - 1)))).sum::<u128>())
        / scale;
    assert_eq!(before, expect);
    let ch =
        dn::MsgChallengeContribution { challenger: addr(CHALLENGER), contribution_id: c2, reason: "copied".into(), bond: uopen(1_000_000) };
    let ch: dn::MsgChallengeContributionResponse = ok(&mut n, CHALLENGER, any("datanet", "MsgChallengeContribution", &ch));
    quorum_upholds(&mut n, a, ch.challenge_id);
    // Its pool earnings became credit; later payments into versions 1..=25 pay it nothing.
    let cl: at::QueryClaimableResponse = query(&n, "Claimable", at::QueryClaimableRequest { address: addr(3), pagination: None });
    assert_eq!((cl.contributions[0].credit.as_str(), cl.contributions[0].pools.as_str()), (before.to_string().as_str(), "0"));
    pay_and_settle(&mut n, &[m0, m1]);
    let cl: at::QueryClaimableResponse = query(&n, "Claimable", at::QueryClaimableRequest { address: addr(3), pagination: None });
    assert_eq!(cl.total, before.to_string());
    // Version 1's new 400,000 is contribution 1's alone now (its live weight is 60,000).
    let pool: at::QueryVersionPoolResponse = query(&n, "VersionPool", at::QueryVersionPoolRequest { datanet_id: a, version: 1 });
    assert_eq!(pool.pool.unwrap().total_weight, "60000");
    let (_, got) = claim_gas(&mut n, 2, &[c1]);
    let new_earned: u128 =
        60_000 * (400_000 * scale / 60_000) + (1..=25u128).map(|v| 60_000 * (16_000 * scale / (60_000 + 50_000 * (v - 1)))).sum::<u128>();
    assert!(got.abs_diff((earned + new_earned) / scale - earned / scale) <= 1, "got {got}");
    let closed = pools_of(&n, c2, vec![], 0);
    assert!(closed.pools_closed && closed.accrued_total == before.to_string() && closed.last_version == 50);
    assert!(closed.pools.len() == 50 && closed.pools.iter().all(|p| p.accrued.is_empty()));
    let (_, got) = claim_gas(&mut n, 3, &[c2]);
    assert_eq!(got, before);
}

/// Boilerplate pays nobody: with `max_fingerprint_sharing` 1, the padding every
/// contribution shares is saturated, so an output of padding alone credits no
/// contribution and its contributors' part goes to the pools by training weight.
#[test]
fn boilerplate_scores_nothing_however_often_it_appears() {
    let builder = TestNode::builder().funded_accounts(10, FUND);
    let mut state = builder.app_state();
    let mut dp = openledger_datanet::component::default_params();
    dp.max_fingerprint_sharing = 1;
    state.datanet.params = Some(dp);
    let World { mut n, model, .. } = world_padded(node_from(builder.with_app_state(state), REPORT_WINDOW), PAD);
    pay(&mut n, model, 1000);
    let r: at::MsgSubmitAttributionResponse = ok(&mut n, OPERATOR, report_msg(1, &" pad".repeat(20)));
    assert!(r.entries.is_empty(), "{:?}", r.entries);
    let s = r.settlement.unwrap();
    assert_eq!((s.contributor_credits.as_str(), s.version_pools.as_str()), ("0", "400000"));
    let inf: at::QueryInferenceResponse = query(&n, "Inference", at::QueryInferenceRequest { id: 1 });
    let report = inf.inference.unwrap().report.unwrap();
    assert_eq!((report.candidates, report.uncounted_hashes, report.total_score), (0, 1, 0));
    // The rare part of an output still scores: the reference agrees with the chain.
    pay(&mut n, model, 1000);
    let output = format!("{OUTPUT}{}", " pad".repeat(12));
    let r: at::MsgSubmitAttributionResponse = ok(&mut n, OPERATOR, report_msg(2, &output));
    let got: Vec<(u64, u64)> = r.entries.iter().map(|e| (e.contribution_id, e.score)).collect();
    assert_eq!(got, reference_scores(&output, &world_texts(PAD), 1));
    assert_eq!(got, vec![(1, 10_000_000), (4, 7_000_000)]);
}

/// Every refusal: a clear code, and no module state or balance moved.
#[test]
fn refused_attribution_messages_change_nothing() {
    // A window long enough for every case to run while the inference is pending.
    let World { mut n, model, .. } = world_with(1000);
    pay(&mut n, model, 10);
    let export = |n: &TestNode| {
        n.rt().block_on(async {
            <openledger_attribution::AttributionModule as openledger_framework::Module>::export_genesis(&n.app.storage().latest_snapshot())
                .await
                .unwrap()
        })
    };
    let good = receipt_of(1, OUTPUT);
    let too_long = at::Receipt { output_fingerprint: (1..=1025).map(|h| h * 16).collect(), ..good.clone() };
    let cases: Vec<(u64, Any, u32, &str)> = vec![
        (CONSUMER, pay_msg(model, 10, 9_999), 6, "above max_fee"),
        (CONSUMER, pay_msg(model, 0, 10_000), 2, "units must be positive"),
        (CONSUMER, pay_msg(99, 1, 10_000), 4, "model 99 not found"),
        (CONSUMER, pay_msg(model, 1_000_000, u128::MAX), 2, "insufficient funds"), // token code 2
        (2, report_signed(2, CONSUMER, &good), 3, "not an operator"),
        (OPERATOR, report_signed(OPERATOR, CONSUMER, &receipt_of(9, OUTPUT)), 4, "inference 9 not found"),
        (OPERATOR, report_signed(OPERATOR, CONSUMER, &receipt_of(1, "too short to shingle")), 17, "fingerprint is empty"),
        (OPERATOR, report_signed(OPERATOR, CONSUMER, &too_long), 17, "cap is 1024"),
        (OPERATOR, report_signed(OPERATOR, 9, &good), 18, "not signed by its consumer"),
        (CONSUMER, receipt_msg(CONSUMER, &at::Receipt { output_hash: vec![1; 31], ..good.clone() }), 17, "32-byte"),
        (CONSUMER, receipt_msg(CONSUMER, &at::Receipt { output_fingerprint: vec![32, 16], ..good.clone() }), 17, "sorted"),
        (CONSUMER, receipt_msg(CONSUMER, &at::Receipt { inference_id: 9, ..good.clone() }), 4, "inference 9 not found"),
        (2, claim_msg(2, &[2]), 3, "belongs to"),
        (2, claim_msg(2, &[1, 1]), 2, "listed twice"),
    ];
    let before = (export(&n), n.balance(&openledger_attribution::escrow()), n.balance(&openledger_attribution::rewards()));
    for (who, msg, code, needle) in cases {
        let (c, log, _) = run(&mut n, who, msg);
        assert_eq!(c, code, "{needle}: {log}");
        assert!(log.contains(needle), "{log:?} should contain {needle:?}");
        let now = (export(&n), n.balance(&openledger_attribution::escrow()), n.balance(&openledger_attribution::rewards()));
        assert_eq!(now, before, "{needle}: state moved");
    }
}

/// xorshift64*: a seeded sequence, so a failure replays exactly.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Hundreds of blocks of random pays, receipts (delivered by the operator or the
/// consumer; strangers' refused), claims, new contributions and reviews, price changes,
/// transfers, and curators at work: bonding, unbonding (paid back in the sequence),
/// claiming their share, challenges voted on by a quorum, escalated to the arbiter or
/// left to expire; and attackers, every one refused (a stranger's receipt, a plain send
/// into a module account, a case and whitespace variant of a contribution, a
/// contributor challenging its own); the driver
/// checks conservation and the books (pools included) after every block. Ends by
/// settling everything and claiming everything: what remains in the module is only
/// rounding dust, less than one uopen per contribution and pool.
#[test]
fn seeded_random_sequence_keeps_every_uopen_accounted_for() {
    // Short challenge, escalation and unbonding periods, so challenges are decided,
    // escalate and expire, and curator bonds are paid back, within the sequence.
    let builder = TestNode::builder().funded_accounts(10, FUND);
    let mut state = builder.app_state();
    let mut dp = openledger_datanet::component::default_params();
    (dp.challenge_window_blocks, dp.challenge_resolution_blocks, dp.escalation_blocks, dp.curator_unbonding_blocks) = (40, 6, 6, 60);
    dp.arbiters = vec![addr(MODEL_OWNER)];
    state.datanet.params = Some(dp);
    let World { mut n, a, b, model } = world_on(node_from(builder.with_app_state(state), 8));
    // Datanet A's curators: CURATOR (the reviewer of everything, so never eligible to
    // vote) and OWNER_B, and its owner — the two who can form a quorum — all bonded;
    // its owner shares 30% of its income with them.
    let update = dn::MsgUpdateDatanet {
        owner: addr(OWNER_A),
        datanet_id: a,
        set_curators: true,
        curators: vec![addr(CURATOR), addr(OWNER_B)],
        curators_bps: Some(3000),
        ..Default::default()
    };
    ok::<dn::MsgUpdateDatanetResponse>(&mut n, OWNER_A, any("datanet", "MsgUpdateDatanet", &update));
    for who in [OWNER_A, OWNER_B] {
        bond_curator(&mut n, who, a);
    }
    let mut challenges: Vec<u64> = Vec::new();
    // A's contributions (the challenged ones must be accepted: others are refused).
    let mut in_a: Vec<u64> = vec![1, 2];
    let mut rng = Rng(0x005e_ed0f_a77b);
    // Paid and not yet settled by a receipt.
    let mut inferences: Vec<u64> = Vec::new();
    let mut pending_review: Vec<u64> = Vec::new();
    let mut ok_count = std::collections::BTreeMap::<&str, u32>::new();
    let mut refused = std::collections::BTreeMap::<&str, u32>::new();
    let mut next_text = 0u64;
    for _block in 0..300 {
        let mut txs = Vec::new();
        // (kind, the inference a report targets)
        let mut kinds: Vec<(&str, u64)> = Vec::new();
        let mut used = std::collections::BTreeSet::new();
        for _ in 0..1 + rng.below(4) {
            let mut target = 0;
            let (who, kind, msg) = match rng.below(15) {
                0 | 1 => {
                    let consumer = CONSUMER;
                    let units = 1 + rng.below(2000);
                    (consumer, "pay", pay_msg(model, units, u128::from(units) * 4000))
                }
                2 | 3 if !inferences.is_empty() => {
                    // Mostly the newest (still in its window), sometimes an old one.
                    let i = if rng.below(4) == 0 { rng.below(inferences.len() as u64) as usize } else { inferences.len() - 1 };
                    let id = inferences[i];
                    target = id;
                    // An output drawn from the contributions' texts, the padding, or
                    // unrelated words; delivered by the operator or the consumer.
                    let mut output = String::new();
                    for t in TEXTS {
                        if rng.below(2) == 0 {
                            output.push_str(t);
                            output.push(' ');
                        }
                    }
                    output.push_str(
                        ["", " pad pad pad pad pad pad pad pad pad", "nothing anyone ever wrote down in any datanet so far"]
                            [rng.below(3) as usize],
                    );
                    if shingles(&output).is_empty() {
                        output.push_str(OUTPUT);
                    }
                    let receipt = receipt_of(id, &output);
                    if rng.below(3) == 0 {
                        (CONSUMER, "consumer receipt", receipt_msg(CONSUMER, &receipt))
                    } else {
                        (OPERATOR, "report", report_signed(OPERATOR, CONSUMER, &receipt))
                    }
                }
                4 => {
                    let who = 2 + rng.below(3);
                    (who, "claim", claim_msg(who, &[]))
                }
                5 => match rng.below(4) {
                    // Attacks, each always refused: a receipt someone other than the
                    // consumer delivers; a plain send into a module account; a case and
                    // whitespace variant of a contribution; a contributor challenging
                    // its own contribution (to recover its stake or use up the slot).
                    0 => {
                        let id = inferences.last().copied().unwrap_or(1);
                        (CHALLENGER, "stranger receipt", receipt_msg(CHALLENGER, &receipt_of(id, OUTPUT)))
                    }
                    1 => {
                        let from = rng.below(10);
                        let to = [openledger_attribution::escrow(), openledger_attribution::rewards(), openledger_datanet::escrow()]
                            [rng.below(3) as usize];
                        let send = cosmos_sdk_proto::cosmos::bank::v1beta1::MsgSend {
                            from_address: addr(from),
                            to_address: to.to_string(),
                            amount: vec![cosmos_sdk_proto::cosmos::base::v1beta1::Coin { denom: "uopen".into(), amount: "1000".into() }],
                        };
                        (from, "module send", Any { type_url: "/cosmos.bank.v1beta1.MsgSend".into(), value: send.encode_to_vec() })
                    }
                    2 => {
                        use sha2::Digest;
                        // (B's texts: only A's contributions are challenged, and an
                        // invalidated one no longer holds its content's hashes.)
                        let i = 2 + rng.below(2) as usize;
                        let variant = TEXTS[i].to_uppercase().replace(' ', "  ");
                        let m = dn::MsgSubmitContribution {
                            contributor: addr(CHALLENGER),
                            datanet_id: b,
                            content_hash: sha2::Sha256::digest(variant.as_bytes()).to_vec(),
                            size: variant.len() as u64,
                            uri: "ipfs://copy".into(),
                            fingerprint: openledger_datanet::fingerprint::compute(&variant, 1, 512).unwrap(),
                            stake: uopen(1000),
                            salt: vec![],
                        };
                        (CHALLENGER, "variant", any("datanet", "MsgSubmitContribution", &m))
                    }
                    _ => {
                        let (who, id) = [(2, 1), (3, 2)][rng.below(2) as usize];
                        let m = dn::MsgChallengeContribution {
                            challenger: addr(who),
                            contribution_id: id,
                            reason: "mine".into(),
                            bond: uopen(1000),
                        };
                        (who, "self challenge", any("datanet", "MsgChallengeContribution", &m))
                    }
                },
                6 => {
                    // A new contribution (not in the trained version: reports naming it are refused).
                    use sha2::Digest;
                    let who = 2 + rng.below(3);
                    next_text += 1;
                    let data = content(&format!("new text number {next_text} about nothing in particular at all"));
                    let datanet_id = if rng.below(2) == 0 { a } else { b };
                    target = datanet_id;
                    let m = dn::MsgSubmitContribution {
                        contributor: addr(who),
                        datanet_id,
                        content_hash: sha2::Sha256::digest(&data).to_vec(),
                        size: 1000,
                        uri: "ipfs://n".into(),
                        fingerprint: openledger_datanet::fingerprint::compute(std::str::from_utf8(&data).unwrap(), 1, 512).unwrap(),
                        stake: uopen(1000),
                        salt: vec![],
                    };
                    (who, "submit", any("datanet", "MsgSubmitContribution", &m))
                }
                9 => {
                    // A curator of A bonds more, starts paying part of its bond back, or
                    // claims what its bond earned (nothing to claim: refused, code 20).
                    // (Only the reviewer unbonds: the other two are the quorum.)
                    let who = [CURATOR, OWNER_B, OWNER_A][rng.below(3) as usize];
                    let amount = uopen(u128::from(1 + rng.below(3_000_000)));
                    match if who == CURATOR { rng.below(3) } else { 2 * rng.below(2) } {
                        0 => (
                            who,
                            "bond",
                            any("datanet", "MsgBondCurator", &dn::MsgBondCurator { curator: addr(who), datanet_id: a, amount }),
                        ),
                        1 => (
                            who,
                            "unbond",
                            any("datanet", "MsgUnbondCurator", &dn::MsgUnbondCurator { curator: addr(who), datanet_id: a, amount }),
                        ),
                        _ => (
                            who,
                            "claim curator",
                            any("datanet", "MsgClaimCuratorRewards", &dn::MsgClaimCuratorRewards { curator: addr(who), datanet_id: a }),
                        ),
                    }
                }
                10 => {
                    // The challenger challenges an accepted contribution of A.
                    let m = dn::MsgChallengeContribution {
                        challenger: addr(CHALLENGER),
                        contribution_id: in_a[rng.below(in_a.len() as u64) as usize],
                        reason: "copied".into(),
                        bond: uopen(1000),
                    };
                    (CHALLENGER, "challenge", any("datanet", "MsgChallengeContribution", &m))
                }
                14 if !challenges.is_empty() => {
                    // The challenger appeals a quorum's dismissal (refused for any other
                    // challenge: not decided, or decided against the contributor).
                    let id = challenges[rng.below(challenges.len() as u64) as usize];
                    target = id;
                    let m =
                        dn::MsgAppealChallenge { appellant: addr(CHALLENGER), challenge_id: id, reason: "again".into(), bond: uopen(1000) };
                    (CHALLENGER, "appeal", any("datanet", "MsgAppealChallenge", &m))
                }
                11..=13 if !challenges.is_empty() => {
                    // A vote on an open challenge by one of A's possible quorum, or the
                    // arbiter's decision of an escalated one (the others are refused).
                    let id = challenges[rng.below(challenges.len() as u64) as usize];
                    target = id;
                    let who = [OWNER_A, OWNER_B, MODEL_OWNER][rng.below(3) as usize];
                    let m =
                        dn::MsgResolveChallenge { curator: addr(who), challenge_id: id, uphold: rng.below(2) == 0, resolution: "r".into() };
                    (who, if who == MODEL_OWNER { "arbiter" } else { "vote" }, any("datanet", "MsgResolveChallenge", &m))
                }
                7 if !pending_review.is_empty() => {
                    let id = pending_review.remove(0);
                    let accept = rng.below(3) != 0;
                    let m = dn::MsgReviewContribution {
                        curator: addr(CURATOR),
                        contribution_id: id,
                        accept,
                        quality_bps: 1 + rng.below(10_000) as u32,
                        reason: if accept { String::new() } else { "no".into() },
                    };
                    (CURATOR, "review", any("datanet", "MsgReviewContribution", &m))
                }
                _ => {
                    if rng.below(4) == 0 {
                        let upd = md::MsgUpdateModel {
                            owner: addr(MODEL_OWNER),
                            model_id: model,
                            price_per_unit: uopen(u128::from(500 + rng.below(1500))),
                            ..Default::default()
                        };
                        (MODEL_OWNER, "update", any("model", "MsgUpdateModel", &upd))
                    } else {
                        let from = rng.below(10);
                        let to = test_key(rng.below(10)).address();
                        (
                            from,
                            "send",
                            Any {
                                type_url: "/cosmos.bank.v1beta1.MsgSend".into(),
                                value: cosmos_sdk_proto::cosmos::bank::v1beta1::MsgSend {
                                    from_address: addr(from),
                                    to_address: to.to_string(),
                                    amount: vec![cosmos_sdk_proto::cosmos::base::v1beta1::Coin {
                                        denom: "uopen".into(),
                                        amount: (1 + rng.below(5000)).to_string(),
                                    }],
                                }
                                .encode_to_vec(),
                            },
                        )
                    }
                }
            };
            if !used.insert(who) {
                continue; // one tx per signer per block (sequences)
            }
            if n.balance(&test_key(who).address()) < FEE {
                continue; // it cannot pay the fee: no proposal may hold its tx
            }
            txs.push(n.msg_tx(&test_key(who), vec![msg], FEE, GAS));
            kinds.push((kind, target));
        }
        let r = n.execute_block(txs);
        for ((kind, target), t) in kinds.iter().zip(&r.tx_results) {
            if t.code != 0 {
                // Each attack is refused for what it is.
                let expected = match *kind {
                    "module send" => Some(("token", 9)),
                    "variant" => Some(("datanet", 16)),
                    _ => None,
                };
                if let Some((codespace, code)) = expected {
                    assert_eq!((t.codespace.as_str(), t.code), (codespace, code), "{kind}: {}", t.log);
                }
                *refused.entry(kind).or_default() += 1;
                continue;
            }
            *ok_count.entry(kind).or_default() += 1;
            let data = cosmos_sdk_proto::cosmos::base::abci::v1beta1::TxMsgData::decode(t.data.as_ref()).unwrap();
            let value = &data.msg_responses[0].value;
            match *kind {
                "pay" => inferences.push(at::MsgPayInferenceResponse::decode(value.as_slice()).unwrap().inference_id),
                "report" | "consumer receipt" => inferences.retain(|i| *i != *target),
                "stranger receipt" => panic!("a stranger's receipt was accepted"),
                "module send" => panic!("a plain send into a module account was accepted"),
                "variant" => panic!("a case and whitespace variant of a contribution was accepted"),
                "self challenge" => panic!("a contributor challenged its own contribution"),
                "submit" => {
                    let id = dn::MsgSubmitContributionResponse::decode(value.as_slice()).unwrap().contribution_id;
                    pending_review.push(id);
                    if *target == a {
                        in_a.push(id);
                    }
                }
                "challenge" => challenges.push(dn::MsgChallengeContributionResponse::decode(value.as_slice()).unwrap().challenge_id),
                "vote" | "arbiter" => {
                    let r = dn::MsgResolveChallengeResponse::decode(value.as_slice()).unwrap();
                    // A quorum's decision stays listed: it may be appealed, then decided by the arbiter.
                    if r.status == dn::ChallengeStatus::Decided as i32 {
                        *ok_count.entry("decided").or_default() += 1;
                    } else if r.status != dn::ChallengeStatus::Open as i32 {
                        challenges.retain(|c| c != target);
                        *ok_count
                            .entry(if r.status == dn::ChallengeStatus::Upheld as i32 { "upheld" } else { "dismissed" })
                            .or_default() += 1;
                    }
                }
                _ => {}
            }
        }
    }
    // Not vacuous: every kind of step happened.
    for kind in [
        "pay",
        "report",
        "consumer receipt",
        "claim",
        "submit",
        "review",
        "update",
        "send",
        "bond",
        "unbond",
        "claim curator",
        "challenge",
        "vote",
    ] {
        assert!(ok_count.get(kind).copied().unwrap_or(0) > 0, "no successful {kind}: {ok_count:?}");
    }
    assert!(["decided", "upheld", "dismissed"].iter().any(|k| ok_count.contains_key(*k)), "no challenge was decided: {ok_count:?}");
    for attack in ["stranger receipt", "module send", "variant", "self challenge"] {
        assert!(refused.get(attack).copied().unwrap_or(0) > 0, "no {attack} was tried: {refused:?}");
    }
    assert!(ok_count["pay"] >= 30 && ok_count["report"] + ok_count["consumer receipt"] >= 20 && ok_count["claim"] >= 10, "{ok_count:?}");
    // Let every inference settle, then everyone claims everything.
    for _ in 0..20 {
        n.execute_block(vec![]);
    }
    for who in 2..=4 {
        let r: at::MsgClaimRewardsResponse = ok(&mut n, who, claim_msg(who, &[]));
        assert_eq!(r.next_start_after, 0);
    }
    let b = books(&n);
    assert_eq!((b.escrowed.as_str(), b.credits_outstanding.as_str()), ("0", "0"), "{b:?}");
    let (books, dust) = n.rt().block_on(openledger_attribution::component::check_books(&n.app.storage().latest_snapshot())).unwrap();
    assert_eq!(dust, books.pools, "after claiming everything, only dust remains in the pools");
    // At most one uopen of dust per (contribution, pool) pair: 4 contributions in 2 pools.
    assert!(dust <= 4, "dust {dust}");
    eprintln!("random sequence: {ok_count:?}; refused {refused:?}; paid in {} uopen, dust {dust}", books.paid_in);
}

/// Inference 1 settled by a receipt (credits), inference 2 by default (pools), some
/// rewards claimed; inference 3 paid and pending.
fn inferences_mid_flight(n: &mut TestNode, model: u64) {
    pay(n, model, 1000);
    ok::<at::MsgSubmitAttributionResponse>(n, OPERATOR, report_msg(1, &format!("{OUTPUT}{}", " pad".repeat(12))));
    pay(n, model, 1000);
    let due = n.height + REPORT_WINDOW + 1;
    while n.height < due {
        n.execute_block(vec![]);
    }
    ok::<at::MsgClaimRewardsResponse>(n, 3, claim_msg(3, &[]));
    pay(n, model, 10);
}

/// Export the datanet, model and attribution state mid-flight (one inference pending,
/// one settled by a receipt, one by default, some rewards claimed), import it into a new
/// chain whose genesis funds the module accounts with what they held, and get the same
/// state back — books balanced, the pending inference still settling.
#[test]
fn attribution_genesis_export_then_import_gives_identical_state() {
    let World { mut n, model, .. } = world();
    inferences_mid_flight(&mut n, model);
    let export = |n: &TestNode| {
        n.rt().block_on(async {
            let snap = n.app.storage().latest_snapshot();
            (
                <openledger_datanet::DatanetModule as openledger_framework::Module>::export_genesis(&snap).await.unwrap(),
                <openledger_model::ModelModule as openledger_framework::Module>::export_genesis(&snap).await.unwrap(),
                <openledger_attribution::AttributionModule as openledger_framework::Module>::export_genesis(&snap).await.unwrap(),
            )
        })
    };
    let exported = export(&n);
    assert_eq!((exported.2.inferences.len(), exported.2.pools.len()), (3, 2));
    assert!(
        !exported.2.histories.is_empty()
            && exported.2.rewards.iter().any(|r| r.pool_claimed != "0" && !r.pool_claimed.is_empty())
            && !exported.2.paid_contributors.is_empty()
    );

    let builder = TestNode::builder().funded_accounts(10, FUND);
    let mut state = builder.app_state();
    state.datanet = exported.0.clone();
    state.model = exported.1.clone();
    state.attribution = exported.2.clone();
    for module in
        [openledger_datanet::escrow(), openledger_model::bonds(), openledger_attribution::escrow(), openledger_attribution::rewards()]
    {
        let held = n.balance(&module);
        state.token.balances.push(openledger_proto::openledger::token::v1::GenesisBalance {
            address: module.to_string(),
            coins: vec![openledger_proto::openledger::token::v1::GenesisCoin { denom: "uopen".into(), amount: held.to_string() }],
        });
    }
    // InitChain exits the process on a bad genesis: check it here first, for a message.
    n.rt().block_on(async {
        let storage = cnidarium::TempStorage::new().await.unwrap();
        let mut delta = cnidarium::StateDelta::new(storage.latest_snapshot());
        if let Err(e) = openledger_app::genesis::init_genesis(&mut delta, &state).await {
            panic!("the exported state does not import: {} ({} {})", e.message, e.codespace, e.code);
        }
        // A history whose length disagrees with its rewards record is refused, either way.
        let mut short = state.clone();
        short.attribution.histories[0].records.pop();
        let mut orphan = state.clone();
        orphan.attribution.histories.remove(0);
        for (bad, needle) in [(short, "history of contribution"), (orphan, "has no history")] {
            let storage = cnidarium::TempStorage::new().await.unwrap();
            let mut delta = cnidarium::StateDelta::new(storage.latest_snapshot());
            match openledger_app::genesis::init_genesis(&mut delta, &bad).await {
                Err(e) => assert!(e.message.contains(needle), "{}", e.message),
                Ok(()) => panic!("a history of the wrong length was imported ({needle})"),
            }
        }
    });
    let mut m = builder.with_app_state(state).build();
    assert_eq!(export(&m), exported);
    m.rt().block_on(openledger_attribution::component::check_books(&m.app.storage().latest_snapshot())).unwrap();
    // The pending inference still settles by default once its window has passed.
    while m.height <= REPORT_WINDOW + 60 {
        m.execute_block(vec![]);
    }
    let r: at::QueryInferenceResponse = query(&m, "Inference", at::QueryInferenceRequest { id: 3 });
    assert_eq!(r.inference.unwrap().status, at::InferenceStatus::SettledDefault as i32);
}

/// Every attribution query refuses bad input with a gRPC code and a message.
#[test]
fn attribution_queries_refuse_bad_input() {
    let World { mut n, model, .. } = world();
    pay(&mut n, model, 10);
    let page = |limit: u64| Some(openledger_proto::cosmos::base::query::v1beta1::PageRequest { limit, ..Default::default() });
    let cases: Vec<(&str, Vec<u8>, &str, &str)> = vec![
        ("Inference", at::QueryInferenceRequest { id: 9 }.encode_to_vec(), "NotFound", "inference 9 not found"),
        ("InferencesByModel", at::QueryInferencesByModelRequest { model_id: 9, pagination: None }.encode_to_vec(), "NotFound", "model 9"),
        (
            "InferencesByModel",
            at::QueryInferencesByModelRequest { model_id: model, pagination: page(5000) }.encode_to_vec(),
            "InvalidArgument",
            "limit",
        ),
        (
            "InferencesByConsumer",
            at::QueryInferencesByConsumerRequest { consumer: "open1xyz".into(), pagination: None }.encode_to_vec(),
            "InvalidArgument",
            "consumer",
        ),
        ("Claimable", at::QueryClaimableRequest { address: String::new(), pagination: None }.encode_to_vec(), "InvalidArgument", "address"),
        (
            "ContributionEarnings",
            at::QueryContributionEarningsRequest { contribution_id: 99, pagination: None }.encode_to_vec(),
            "NotFound",
            "contribution 99",
        ),
        (
            "ContributionPools",
            at::QueryContributionPoolsRequest { contribution_id: 99, pagination: None }.encode_to_vec(),
            "NotFound",
            "contribution 99",
        ),
        (
            "ContributionPools",
            at::QueryContributionPoolsRequest { contribution_id: 1, pagination: page(101) }.encode_to_vec(),
            "InvalidArgument",
            "limit",
        ),
        (
            "ContributionPools",
            at::QueryContributionPoolsRequest {
                contribution_id: 1,
                pagination: Some(openledger_proto::cosmos::base::query::v1beta1::PageRequest { key: vec![1, 2, 3], ..Default::default() }),
            }
            .encode_to_vec(),
            "InvalidArgument",
            "8 bytes",
        ),
        ("ModelStats", at::QueryModelStatsRequest { model_id: 9 }.encode_to_vec(), "NotFound", "model 9"),
        ("DatanetStats", at::QueryDatanetStatsRequest { datanet_id: 9 }.encode_to_vec(), "NotFound", "datanet 9"),
        ("VersionPool", at::QueryVersionPoolRequest { datanet_id: 1, version: 9 }.encode_to_vec(), "NotFound", "no reward pool"),
        ("Inference", vec![0xff, 0xff], "InvalidArgument", "cannot decode"),
    ];
    for (method, data, code, needle) in cases {
        let r = n.query(&format!("/openledger.attribution.v1.Query/{method}"), data, 0);
        assert!(r.code != 0 && r.log.contains(code) && r.log.contains(needle), "{method}: {:?}", r.log);
    }
    // And the good ones answer: the inference is listed for its model and consumer.
    let by_model: at::QueryInferencesByModelResponse =
        query(&n, "InferencesByModel", at::QueryInferencesByModelRequest { model_id: model, pagination: None });
    let by_consumer: at::QueryInferencesByConsumerResponse =
        query(&n, "InferencesByConsumer", at::QueryInferencesByConsumerRequest { consumer: addr(CONSUMER), pagination: None });
    assert_eq!((by_model.inferences.len(), by_consumer.inferences.len()), (1, 1));
}

/// `openledgerd export` of every module: a chain where transfers, datanets, a model and
/// inferences (one pending, one settled by a receipt, one by default, claims) happened is exported;
/// a new chain started from the export holds the same key/value state in every module
/// store (verifiable and index), exports the same genesis again, and carries on —
/// account numbers and sequences included. The export refuses a store in use, heights
/// it cannot read and a missing home.
#[test]
fn export_starts_a_new_chain_with_identical_module_state() {
    let home = tempfile::tempdir().unwrap();
    let validator = TestValidator { consensus_address: [7; 20], power: 10, operator: test_key(9).address() };
    let builder = TestNode::builder().funded_accounts(10, FUND).validator(validator.clone()).dir(&home.path().join("data"));
    let World { mut n, model, .. } = world_on(node_from(builder, REPORT_WINDOW));
    inferences_mid_flight(&mut n, model);
    let fresh = test_key(77).address();
    for amount in [5u128, 7] {
        let tx = n.send_tx(&test_key(1), &fresh, amount, FEE, GAS);
        assert_eq!(n.execute_block(vec![tx]).tx_results[0].code, 0);
    }

    let base = serde_json::json!({
        "genesis_time": "2026-01-01T00:00:00Z",
        "consensus_params": { "block": { "max_bytes": "1048576", "max_gas": "-1" } },
        "validators": [{ "address": hex::encode_upper(validator.consensus_address), "power": "10", "name": "v0" }],
    });
    let storage = n.app.storage().clone();
    const NEW: &str = "openledger-test-2";
    let same = n.rt().block_on(openledger_app::export::genesis_doc(&storage, None, &base, openledger_test_driver::TEST_CHAIN_ID));
    assert!(format!("{:#}", same.unwrap_err()).contains("needs a chain id other than"), "the old chain id is refused: txs would replay");
    let doc = n.rt().block_on(openledger_app::export::genesis_doc(&storage, None, &base, NEW)).unwrap();
    assert_eq!((doc["chain_id"].as_str(), doc["initial_height"].as_str()), (Some(NEW), Some("1")));
    assert_eq!((&doc["validators"], &doc["consensus_params"]), (&base["validators"], &base["consensus_params"]));
    let exported: AppState = serde_json::from_value(doc["app_state"].clone()).unwrap();
    // Every account, by number, with the keys and sequences of those that sent.
    let senders = exported.auth.accounts.iter().filter(|a| a.pub_key.is_some()).count();
    assert!(
        senders >= 8 && exported.auth.accounts.iter().enumerate().all(|(i, a)| a.account_number == i as u64),
        "{:?}",
        exported.auth.accounts
    );
    assert_eq!(exported.token.validator_accounts.len(), 1);
    // A recent height is exported from the store's snapshots; others are refused clearly.
    let top = n.height;
    let earlier = n.rt().block_on(openledger_app::export::genesis_doc(&storage, Some(top - 2), &base, NEW)).unwrap();
    assert_ne!(earlier["app_state"], doc["app_state"]);
    for (h, needle) in [(top + 1, "above the latest committed height"), (2, "is not available")] {
        let e = n.rt().block_on(openledger_app::export::genesis_doc(&storage, Some(h), &base, NEW)).unwrap_err();
        assert!(format!("{e:#}").contains(needle), "height {h}: {e:#}");
    }

    // The CLI path: a store in use is refused, a stopped one exports the same genesis.
    let genesis_path = home.path().join("cometbft/config/genesis.json");
    std::fs::create_dir_all(genesis_path.parent().unwrap()).unwrap();
    std::fs::write(&genesis_path, serde_json::to_vec(&base).unwrap()).unwrap();
    let node_home = openledgerd::node::Home(home.path().to_path_buf());
    let e = n.rt().block_on(openledgerd::node::export(&node_home, None, NEW)).unwrap_err();
    assert!(format!("{e:#}").contains("is in use"), "{e:#}");
    let before = n.module_state();
    drop(storage);
    n.close();
    let rt = tokio::runtime::Runtime::new().unwrap();
    assert_eq!(rt.block_on(openledgerd::node::export(&node_home, None, NEW)).unwrap(), doc);
    let missing = openledgerd::node::Home(home.path().join("nowhere"));
    let e = rt.block_on(openledgerd::node::export(&missing, None, NEW)).unwrap_err();
    assert!(format!("{e:#}").contains("not an openledgerd home"), "{e:#}");

    // A new chain from the export: the same state, key by key.
    let mut m = TestNode::builder().validator(validator).with_app_state(exported.clone()).build();
    let after = m.module_state();
    for (k, v) in &before.verifiable {
        assert_eq!(after.verifiable.get(k), Some(v), "verifiable key {k:?} differs after export → genesis");
    }
    for (k, v) in &before.nonverifiable {
        assert_eq!(after.nonverifiable.get(k), Some(v), "index key {:?} differs after export → genesis", String::from_utf8_lossy(k));
    }
    assert_eq!(after, before, "the new chain has keys the old one did not");
    let again = m.rt().block_on(openledger_app::export::genesis_doc(m.app.storage(), None, &base, "openledger-test-3")).unwrap();
    assert_eq!(again["app_state"], doc["app_state"], "export → genesis → export is not the identity");
    // It carries on: sequences continue, the pending inference settles.
    let tx = m.send_tx(&test_key(1), &fresh, 11, FEE, GAS);
    assert_eq!(m.execute_block(vec![tx]).tx_results[0].code, 0);
    assert_eq!(m.balance(&fresh), 23);
    while m.height <= REPORT_WINDOW + 60 {
        m.execute_block(vec![]);
    }
    let r: at::QueryInferenceResponse = query(&m, "Inference", at::QueryInferenceRequest { id: 3 });
    assert_eq!(r.inference.unwrap().status, at::InferenceStatus::SettledDefault as i32);
}

/// Curators earn the share of the datanet owner's income the owner sets, by bond, and
/// exactly: datanet A's owner gives its bonded curators 50%; the curator (10 M bonded)
/// and the owner (30 M) split 35,000 uopen of a settlement 1:3. A second claim, or a
/// claim by someone who never bonded, is refused; an unbonding curator earns nothing
/// more.
#[test]
fn bonded_curators_earn_the_share_the_owner_sets_by_bond() {
    let World { mut n, a, model, .. } = world();
    let update = dn::MsgUpdateDatanet { owner: addr(OWNER_A), datanet_id: a, curators_bps: Some(5000), ..Default::default() };
    ok::<dn::MsgUpdateDatanetResponse>(&mut n, OWNER_A, any("datanet", "MsgUpdateDatanet", &update));
    let bond = dn::MsgBondCurator { curator: addr(OWNER_A), datanet_id: a, amount: uopen(30_000_000) };
    ok::<dn::MsgBondCuratorResponse>(&mut n, OWNER_A, any("datanet", "MsgBondCurator", &bond));
    let owner_before = n.balance(&test_key(OWNER_A).address());
    // 1,000,000 uopen: datanet owners 10% = 100,000, A's 70% = 70,000, half to curators.
    pay_and_settle(&mut n, &[model]);
    assert_eq!(n.balance(&test_key(OWNER_A).address()), owner_before + 35_000);
    let earned = |n: &TestNode| -> Vec<(String, String)> {
        let r: dn::QueryCuratorsResponse = {
            let r = n.query("/openledger.datanet.v1.Query/Curators", dn::QueryCuratorsRequest { datanet_id: a }.encode_to_vec(), 0);
            assert_eq!(r.code, 0, "{}", r.log);
            Message::decode(r.value.as_ref()).unwrap()
        };
        assert_eq!((r.curators_bps, r.curator_bonded.as_str()), (5000, "40000000"));
        r.curators.into_iter().map(|b| (b.curator, b.earned)).collect()
    };
    let mut expect = vec![(addr(OWNER_A), "26250".to_string()), (addr(CURATOR), "8750".to_string())];
    expect.sort();
    assert_eq!(earned(&n), expect);
    let claim = |who: u64| any("datanet", "MsgClaimCuratorRewards", &dn::MsgClaimCuratorRewards { curator: addr(who), datanet_id: a });
    let before = n.balance(&test_key(CURATOR).address());
    let got: dn::MsgClaimCuratorRewardsResponse = ok(&mut n, CURATOR, claim(CURATOR));
    assert_eq!((got.amount.as_str(), n.balance(&test_key(CURATOR).address())), ("8750", before + 8750 - FEE));
    for who in [CURATOR, CHALLENGER] {
        let before = n.balance(&test_key(who).address());
        let (code, log, _) = run(&mut n, who, claim(who));
        assert!(code == 20 && log.contains("no curator income"), "{code} {log}");
        assert_eq!(n.balance(&test_key(who).address()), before - FEE, "a refused claim pays nothing");
    }
    // The curator unbonds everything: the owner's bond alone earns the next settlement.
    let unbond = dn::MsgUnbondCurator { curator: addr(CURATOR), datanet_id: a, amount: uopen(10_000_000) };
    ok::<dn::MsgUnbondCuratorResponse>(&mut n, CURATOR, any("datanet", "MsgUnbondCurator", &unbond));
    let r = n.query("/openledger.datanet.v1.Query/Curators", dn::QueryCuratorsRequest { datanet_id: a }.encode_to_vec(), 0);
    let r: dn::QueryCuratorsResponse = Message::decode(r.value.as_ref()).unwrap();
    assert_eq!(r.curator_bonded, "30000000");
    pay_and_settle(&mut n, &[model]);
    let r = n.query("/openledger.datanet.v1.Query/Curators", dn::QueryCuratorsRequest { datanet_id: a }.encode_to_vec(), 0);
    let r: dn::QueryCuratorsResponse = Message::decode(r.value.as_ref()).unwrap();
    let mut got: Vec<(String, String)> = r.curators.into_iter().map(|b| (b.curator, b.earned)).collect();
    got.sort();
    // 35,000 over 30 M bonded is not exact in fixed point: the owner's bond earns
    // 34,999 and the 1 uopen of dust stays in the curators' income (held, never lost).
    let mut expect = vec![(addr(OWNER_A), (26_250 + 34_999).to_string()), (addr(CURATOR), "0".to_string())];
    expect.sort();
    assert_eq!(got, expect);
}

/// The fingerprint index a node keeps in memory (`exec/perf/replica.rs`) never changes
/// a result. The same blocks — receipts scored through the index, a submission
/// surveyed against it, an acceptance writing it, a near-duplicate refused by it, a
/// challenge upheld — on a node reading the index from memory, on one reading it from
/// storage, and on one restarted between phases (its copy reloaded from storage), give
/// the same app hash at every height and the same tx results.
#[test]
fn the_in_memory_fingerprint_index_never_changes_a_result() {
    fn scenario(builder: TestNodeBuilder, restart: bool) -> (Vec<Vec<u8>>, Vec<(u32, u64)>) {
        let World { mut n, a, model, .. } = world_on(node_from(builder, 8));
        let mut results = Vec::new();
        let mut step = |n: &mut TestNode, who: u64, msg: Any| {
            let (code, _, _) = run(n, who, msg);
            results.push((code, n.height));
        };
        let phase = |n: TestNode| if restart { n.restart() } else { n };
        step(&mut n, CONSUMER, pay_msg(model, 100, 100_000));
        step(&mut n, OPERATOR, report_msg(1, OUTPUT));
        n = phase(n);
        let id =
            submit(&mut n, 4, a, "an insulin pump delivers small doses of rapid acting insulin through a thin tube under the skin all day");
        accept(&mut n, id, 7000);
        n = phase(n);
        let variant = TEXTS[1].to_uppercase().replace(' ', "  ");
        let m = dn::MsgSubmitContribution {
            contributor: addr(CHALLENGER),
            datanet_id: a,
            content_hash: <sha2::Sha256 as sha2::Digest>::digest(variant.as_bytes()).to_vec(),
            size: variant.len() as u64,
            uri: "ipfs://copy".into(),
            fingerprint: openledger_datanet::fingerprint::compute(&variant, 1, 512).unwrap(),
            stake: uopen(1000),
            salt: vec![],
        };
        let (code, log, _) = run(&mut n, CHALLENGER, any("datanet", "MsgSubmitContribution", &m));
        assert_eq!(code, 16, "near-duplicate: {log}");
        let ch =
            dn::MsgChallengeContribution { challenger: addr(CHALLENGER), contribution_id: 1, reason: "copied".into(), bond: uopen(1000) };
        step(&mut n, CHALLENGER, any("datanet", "MsgChallengeContribution", &ch));
        quorum_upholds(&mut n, a, 1);
        n = phase(n);
        bond_curator(&mut n, CURATOR, a); // slashed below the minimum by the upheld challenge
        publish(&mut n, a);
        step(&mut n, CONSUMER, pay_msg(model, 100, 100_000));
        step(&mut n, OPERATOR, report_msg(2, &format!("{OUTPUT} {}", TEXTS[3])));
        (n.app_hashes.clone(), results)
    }
    let memory = scenario(TestNode::builder().funded_accounts(10, FUND), false);
    let storage = scenario(TestNode::builder().funded_accounts(10, FUND).no_memory_index(), false);
    let reloaded = scenario(TestNode::builder().funded_accounts(10, FUND), true);
    assert!(memory.1.iter().all(|(code, _)| *code == 0), "{:?}", memory.1);
    assert_eq!(memory, storage, "from memory and from storage");
    assert_eq!(memory, reloaded, "with the copy reloaded after restarts");
}
