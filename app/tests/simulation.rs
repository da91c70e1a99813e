//! The simulation: one seed generates `SIM_BLOCKS` (default 1,000) random blocks from 16
//! accounts holding every message of every module — transfers; datanets created,
//! updated, contributed to (committed, submitted, withdrawn), reviewed, published,
//! challenged, resolved, appealed, curated (bond, unbond, claim); models registered,
//! updated, their bonds withdrawn; inferences paid, attributed by operators, receipted
//! by consumers; rewards claimed — valid and invalid mixed (wrong owners, ids that do
//! not exist, bad basis points, amounts over balances), and txs that may not enter a
//! block at all (a fee below the chain's minimum, a bad signature, a stale sequence).
//! Every block goes the consensus way: PrepareProposal picks what may be in it,
//! ProcessProposal must accept that, FinalizeBlock, Commit; the driver checks every
//! module's invariants (supply, escrows, pools, bonds, books) after every block.
//!
//! The run is summarised as one digest per height of the app hash and every result
//! (code, codespace, data, events, gas wanted and used). The same seed must give the
//! same digests in another process, and with every performance cache off
//! (`NodeSettings::no_caches`). A failing run prints its seed; replay it with
//! `SIM_SEED=… SIM_BLOCKS=… cargo test -p openledger-app --test simulation`.
use cosmos_sdk_proto::Any;
use openledger_client::txbuilder::{self, SignerKey, TxSpec};
use openledger_proto::cosmos::base::v1beta1::Coin;
use openledger_proto::openledger::attribution::v1 as at;
use openledger_proto::openledger::datanet::v1 as dn;
use openledger_proto::openledger::model::v1 as md;
use openledger_test_driver::{test_key, TestNode, TestNodeBuilder, TestValidator, TEST_CHAIN_ID};
use prost::{Message, Name};
use sha2::{Digest, Sha256};
use tendermint_abci::Application;
use tendermint_proto::v0_38::abci as pb;

const ACCOUNTS: u64 = 16;
const FUND: u128 = 10_000_000_000;
const FEE: u128 = 20_000;
const GAS: u64 = 3_000_000;
const DEFAULT_SEED: u64 = 0x0051_5eed;
const DEFAULT_BLOCKS: u64 = 1_000;

const WORDS: [&str; 24] = [
    "heart", "rate", "rest", "adult", "child", "blood", "pressure", "sleep", "cells", "river", "delta", "grain", "wheat", "rain", "model",
    "token", "data", "proof", "chain", "light", "sound", "water", "stone", "field",
];

/// A seeded generator (SplitMix64): the same seed, the same run, on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    /// An id among those made so far, sometimes 0 or one past them (absent).
    fn id(&mut self, made: u64) -> u64 {
        match self.below(10) {
            0 => 0,
            1 => made + 1,
            _ => 1 + self.below(made.max(1)),
        }
    }
}

fn any<M: Message + Name>(m: &M) -> Any {
    Any { type_url: M::type_url(), value: m.encode_to_vec() }
}

fn uopen(n: u128) -> Option<Coin> {
    Some(Coin { denom: "uopen".into(), amount: n.to_string() })
}

fn addr(k: u64) -> String {
    test_key(k).address().to_string()
}

fn text(rng: &mut Rng) -> String {
    (0..8 + rng.below(12)).map(|_| WORDS[rng.below(WORDS.len() as u64) as usize]).collect::<Vec<_>>().join(" ")
}

/// What exists so far, learnt from the results of earlier blocks (ids are sequential;
/// `Rng::id` sometimes picks 0 or one past them, so missing ids are tried too).
#[derive(Default)]
struct Made {
    datanets: u64,
    contributions: u64,
    challenges: u64,
    models: u64,
    /// The consumer of each inference paid.
    inferences: Vec<u64>,
    /// Contributions accepted, challenges open and decided, models retired: the targets
    /// most picks aim at (the rest hit anything, and are refused).
    accepted: Vec<u64>,
    open_challenges: Vec<u64>,
    decided_challenges: Vec<u64>,
    retired_models: Vec<u64>,
    /// The inference a receipt's signer was chosen for.
    pick_inference: Option<u64>,
    /// The owner of each model, the challenger of each challenge.
    model_owners: Vec<u64>,
    challengers: Vec<u64>,
    /// The model or challenge a signer was chosen for.
    pick_id: Option<u64>,
    /// Messages generated, by kind.
    generated: [u64; KINDS as usize],
}

/// What a message does to `Made` if its tx succeeds.
#[derive(Clone, Copy)]
enum Intent {
    Accept(u64),
    Decide(u64),
    Retire(u64),
}

impl Made {
    fn apply(&mut self, i: Intent) {
        match i {
            Intent::Accept(c) => self.accepted.push(c),
            Intent::Decide(ch) => {
                self.open_challenges.retain(|x| *x != ch);
                self.decided_challenges.push(ch);
            }
            Intent::Retire(m) => self.retired_models.push(m),
        }
    }
}

/// Mostly one of the latest `targets` (windows close: the recent ones are the live
/// ones), else any id (`Rng::id`).
fn target(rng: &mut Rng, targets: &[u64], made: u64) -> u64 {
    if !targets.is_empty() && rng.chance(80) {
        let recent = &targets[targets.len().saturating_sub(4)..];
        recent[rng.below(recent.len() as u64) as usize]
    } else {
        rng.id(made)
    }
}

/// Who usually sends what (a message's signer comes from its role most of the time, so
/// most flows get somewhere; from anyone the rest, so strangers are refused too).
const OWNERS: &[u64] = &[0, 1, 2];
const CURATORS: &[u64] = &[0, 1, 2, 3];
const CONTRIBUTORS: &[u64] = &[4, 5, 6, 7, 8, 9];
const MODEL_OWNERS: &[u64] = &[10, 11];
const OPERATORS: &[u64] = &[12, 13];
const CONSUMERS: &[u64] = &[4, 5, 6, 14];
const ARBITER: u64 = 15;

fn role(rng: &mut Rng, of: &[u64]) -> u64 {
    if rng.chance(85) {
        of[rng.below(of.len() as u64) as usize]
    } else {
        rng.below(ACCOUNTS)
    }
}

/// One random message and its signer. Early on, datanets and models are made more often,
/// so there is a world to act on.
fn message(rng: &mut Rng, made: &mut Made, intents: &mut Vec<Intent>) -> (u64, Any) {
    // Weights by kind (index = kind): datanets and models are few and acted on often.
    let mut weights: [u64; KINDS as usize] = [3, 0, 2, 2, 10, 14, 2, 4, 4, 4, 2, 6, 1, 3, 0, 3, 2, 10, 6, 6, 5];
    weights[1] = if made.datanets < 3 { 10 } else { 1 };
    weights[14] = if made.models < 3 { 8 } else { 2 };
    let mut pick = rng.below(weights.iter().sum());
    let kind = weights.iter().position(|w| {
        if pick < *w {
            true
        } else {
            pick -= w;
            false
        }
    });
    let kind = kind.unwrap_or(0) as u64;
    let who = match kind {
        1 | 2 => role(rng, OWNERS),
        5 | 7 | 9 | 11 | 12 | 13 => role(rng, CURATORS),
        3 | 4 | 6 | 20 => role(rng, CONTRIBUTORS),
        15 | 16 if !made.model_owners.is_empty() && rng.chance(80) => {
            // The owner acts on its own model.
            let targets =
                if kind == 16 && !made.retired_models.is_empty() { made.retired_models.clone() } else { (1..=made.models).collect() };
            let id = target(rng, &targets, made.models);
            made.pick_id = Some(id);
            made.model_owners.get((id as usize).wrapping_sub(1)).copied().unwrap_or(MODEL_OWNERS[0])
        }
        14..=16 => role(rng, MODEL_OWNERS),
        10 if !made.challengers.is_empty() && rng.chance(60) => {
            // The challenger appeals a recent decision.
            let id = target(rng, &made.decided_challenges, made.challenges);
            made.pick_id = Some(id);
            made.challengers.get((id as usize).wrapping_sub(1)).copied().unwrap_or(ARBITER)
        }
        17 => role(rng, CONSUMERS),
        19 if !made.inferences.is_empty() && rng.chance(80) => {
            // A consumer sends the receipt of one of its recent inferences (within the
            // report window).
            let i = made.inferences.len() as u64 - 1 - rng.below(made.inferences.len().min(4) as u64);
            made.pick_inference = Some(i + 1);
            made.inferences[i as usize]
        }
        19 => role(rng, CONSUMERS),
        18 => role(rng, OPERATORS),
        10 if rng.chance(30) => ARBITER,
        _ => rng.below(ACCOUNTS),
    };
    (who, build(rng, kind, who, made, intents))
}

/// Message kinds: the 19 messages of the datanet, model and attribution modules and
/// MsgSend (receipts come two ways: from the operator, from the consumer).
const KINDS: u64 = 21;

fn build(rng: &mut Rng, kind: u64, who: u64, made: &mut Made, intents: &mut Vec<Intent>) -> Any {
    made.generated[kind as usize] += 1;
    let other = rng.below(ACCOUNTS);
    let bps = |rng: &mut Rng| if rng.chance(10) { 10_001 + rng.below(100) as u32 } else { rng.below(10_001) as u32 };
    match kind {
        0 => any(&cosmos_sdk_proto::cosmos::bank::v1beta1::MsgSend {
            from_address: addr(who),
            to_address: addr(other),
            amount: vec![cosmos_sdk_proto::cosmos::base::v1beta1::Coin {
                denom: "uopen".into(),
                amount: if rng.chance(10) { (FUND * 2).to_string() } else { (1 + rng.below(1_000_000)).to_string() },
            }],
        }),
        1 => {
            let allow_list = rng.chance(20);
            let mut curators: Vec<String> = CURATORS.iter().filter(|c| **c != who).map(|c| addr(*c)).collect();
            if rng.chance(5) {
                curators.push(curators[0].clone()); // listed twice: refused
            }
            any(&dn::MsgCreateDatanet {
                owner: addr(who),
                name: format!("d{}", rng.next()),
                curators,
                policy: if allow_list { dn::ContributionPolicy::AllowList as i32 } else { dn::ContributionPolicy::Open as i32 },
                allow_list: if allow_list { CONTRIBUTORS[..3].iter().map(|k| addr(*k)).collect() } else { vec![] },
                min_stake: uopen(1000),
                fingerprint: Some(dn::FingerprintParams { modulus: 1, max_hashes: 512, near_duplicate_bps: 0 }),
                curators_bps: bps(rng) / 2,
                ..Default::default()
            })
        }
        2 => any(&dn::MsgUpdateDatanet {
            owner: addr(who),
            datanet_id: rng.id(made.datanets),
            set_curators: rng.chance(30),
            curators: vec![addr(other)],
            curators_bps: Some(bps(rng)),
            ..Default::default()
        }),
        3 => any(&dn::MsgCommitContribution {
            contributor: addr(who),
            datanet_id: rng.id(made.datanets),
            commitment: Sha256::digest(rng.next().to_be_bytes()).to_vec(),
        }),
        4 => {
            let t = text(rng);
            any(&dn::MsgSubmitContribution {
                contributor: addr(who),
                datanet_id: rng.id(made.datanets),
                content_hash: Sha256::digest(t.as_bytes()).to_vec(),
                size: t.len() as u64,
                uri: "ipfs://sim".into(),
                fingerprint: openledger_datanet::fingerprint::compute(&t, 1, 512).unwrap_or_default(),
                stake: uopen(1000 + u128::from(rng.below(3)) * 500),
                salt: vec![],
            })
        }
        5 => {
            let (contribution_id, accept) = (rng.id(made.contributions), rng.chance(70));
            if accept {
                intents.push(Intent::Accept(contribution_id));
            }
            any(&dn::MsgReviewContribution { curator: addr(who), contribution_id, accept, quality_bps: bps(rng), reason: String::new() })
        }
        6 => any(&dn::MsgWithdrawContribution { contributor: addr(who), contribution_id: rng.id(made.contributions) }),
        7 => any(&dn::MsgPublishVersion { publisher: addr(who), datanet_id: rng.id(made.datanets) }),
        8 => any(&dn::MsgChallengeContribution {
            challenger: addr(who),
            contribution_id: target(rng, &made.accepted, made.contributions),
            reason: "copied".into(),
            bond: uopen(if rng.chance(20) { 1 } else { 100_000 }),
        }),
        9 => {
            let challenge_id = target(rng, &made.open_challenges, made.challenges);
            intents.push(Intent::Decide(challenge_id));
            any(&dn::MsgResolveChallenge { curator: addr(who), challenge_id, uphold: rng.chance(50), resolution: "decided".into() })
        }
        10 => any(&dn::MsgAppealChallenge {
            appellant: addr(who),
            challenge_id: made.pick_id.take().unwrap_or_else(|| target(rng, &made.decided_challenges, made.challenges)),
            reason: "wrong".into(),
            bond: uopen(100_000),
        }),
        11 => any(&dn::MsgBondCurator {
            curator: addr(who),
            datanet_id: rng.id(made.datanets),
            amount: uopen(openledger_datanet::component::default_params().min_curator_bond.parse().unwrap_or(1)),
        }),
        12 => any(&dn::MsgUnbondCurator {
            curator: addr(who),
            datanet_id: rng.id(made.datanets),
            amount: uopen(1 + u128::from(rng.below(1000))),
        }),
        13 => any(&dn::MsgClaimCuratorRewards { curator: addr(who), datanet_id: rng.id(made.datanets) }),
        14 => {
            let (a, b) = (rng.id(made.datanets), rng.id(made.datanets));
            let training_set = if a == b || rng.chance(30) {
                vec![md::TrainingEntry { datanet_id: a, version: 1 + rng.below(2), weight_bps: 10_000 }]
            } else {
                vec![
                    md::TrainingEntry { datanet_id: a, version: 1, weight_bps: 6000 },
                    md::TrainingEntry { datanet_id: b, version: 1, weight_bps: 4000 },
                ]
            };
            let owner_bps = 3000 + rng.below(3) as u32 * 1000;
            any(&md::MsgRegisterModel {
                owner: addr(who),
                name: format!("m{}", rng.next()),
                base_model: String::new(),
                artifact_hash: Sha256::digest(rng.next().to_be_bytes()).to_vec(),
                artifact_uri: "ipfs://m".into(),
                training_set,
                operators: vec![addr(OPERATORS[rng.below(OPERATORS.len() as u64) as usize])],
                price_per_unit: uopen(1000),
                fee_split: Some(md::FeeSplit {
                    owner_bps,
                    contributors_bps: 9000 - owner_bps,
                    datanet_owners_bps: 500,
                    protocol_bps: if rng.chance(10) { 900 } else { 500 },
                    operator_bps: 0,
                }),
                bond: uopen(1_000_000),
            })
        }
        15 => {
            let model_id = made.pick_id.take().unwrap_or_else(|| rng.id(made.models));
            // Retired now and then: its bond can then be withdrawn.
            let retire = rng.chance(5);
            if retire {
                intents.push(Intent::Retire(model_id));
            }
            any(&md::MsgUpdateModel {
                owner: addr(who),
                model_id,
                price_per_unit: uopen(500 + u128::from(rng.below(2000))),
                status: if retire { md::ModelStatus::Retired as i32 } else { 0 },
                ..Default::default()
            })
        }
        16 => {
            let model_id = made.pick_id.take().unwrap_or_else(|| target(rng, &made.retired_models, made.models));
            any(&md::MsgWithdrawBond { owner: addr(who), model_id })
        }
        17 => {
            let units = 1 + rng.below(2000);
            let price = if rng.chance(10) { 1 } else { 3000 };
            any(&at::MsgPayInference {
                consumer: addr(who),
                model_id: rng.id(made.models),
                units,
                max_fee: uopen(u128::from(units) * price),
            })
        }
        18 | 19 => {
            let all: Vec<u64> = (1..=made.inferences.len() as u64).collect();
            let id = made.pick_inference.take().unwrap_or_else(|| target(rng, &all, all.len() as u64));
            let consumer = made.inferences.get((id as usize).wrapping_sub(1)).copied().unwrap_or(other);
            let output = text(rng);
            let receipt = at::Receipt {
                chain_id: TEST_CHAIN_ID.into(),
                inference_id: id,
                output_hash: Sha256::digest(output.as_bytes()).to_vec(),
                output_fingerprint: openledger_datanet::fingerprint::compute(&output, 1, 1024).unwrap_or_default(),
                operator: String::new(),
            };
            if rng.chance(50) {
                // The operator (whoever signs) delivers a receipt the consumer — or,
                // sometimes, someone else — signed.
                let signer = if rng.chance(80) { consumer } else { other };
                any(&at::MsgSubmitAttribution {
                    operator: addr(who),
                    inference_id: id,
                    receipt_signature: test_key(signer).sign(&openledger_types::receipt::sign_bytes(&receipt)),
                    receipt: Some(receipt),
                })
            } else {
                any(&at::MsgSubmitReceipt { consumer: addr(who), receipt: Some(receipt) })
            }
        }
        _ => {
            let ids = (0..1 + rng.below(3)).map(|_| rng.id(made.contributions)).collect();
            any(&at::MsgClaimRewards { contributor: addr(who), contribution_ids: ids, start_after: 0 })
        }
    }
}

/// A tx that may not enter a block: too low a fee, a bad signature, or a stale
/// sequence. PrepareProposal must drop it.
fn unfit(rng: &mut Rng, key: &SignerKey, account_number: u64, sequence: u64, msg: Any) -> Vec<u8> {
    match rng.below(3) {
        0 => txbuilder::sign_tx(&TxSpec::new(vec![msg], 1, GAS), key, TEST_CHAIN_ID, account_number, sequence),
        1 => {
            let tx = txbuilder::sign_tx(&TxSpec::new(vec![msg], FEE, GAS), key, TEST_CHAIN_ID, account_number, sequence);
            let mut raw = cosmos_sdk_proto::cosmos::tx::v1beta1::TxRaw::decode(tx.as_slice()).expect("own tx");
            raw.signatures[0][9] ^= 0x40;
            raw.encode_to_vec()
        }
        _ => txbuilder::sign_tx(&TxSpec::new(vec![msg], FEE, GAS), key, TEST_CHAIN_ID, account_number, sequence.wrapping_sub(1)),
    }
}

fn builder() -> TestNodeBuilder {
    TestNode::builder().funded_accounts(ACCOUNTS, FUND).validator(TestValidator {
        consensus_address: [7; 20],
        power: 5,
        operator: openledger_framework::Address([0x77; 20]),
    })
}

/// Short windows, so challenges resolve, escalate and expire, unbondings release and
/// unreported inferences settle within the run.
fn node(b: TestNodeBuilder) -> TestNode {
    let mut s = b.app_state();
    let mut dp = openledger_datanet::component::default_params();
    (dp.challenge_window_blocks, dp.challenge_resolution_blocks, dp.escalation_blocks, dp.curator_unbonding_blocks) = (30, 6, 6, 50);
    dp.appeal_blocks = 3;
    dp.arbiters = vec![addr(ACCOUNTS - 1)];
    s.datanet.params = Some(dp);
    let mut mp = openledger_model::component::default_params();
    mp.min_operator_bond = "1000000".into();
    mp.bond_unbonding_blocks = 20;
    s.model.params = Some(mp);
    let mut ap = openledger_attribution::component::default_params();
    ap.report_window_blocks = 4;
    s.attribution.params = Some(ap);
    b.with_app_state(s).build()
}

/// What one block did, as a digest: the app hash and every result.
fn block_digest(resp: &pb::ResponseFinalizeBlock) -> String {
    let mut h = Sha256::new();
    h.update(&resp.app_hash);
    let events = |h: &mut Sha256, events: &[pb::Event]| {
        for e in events {
            h.update(e.r#type.as_bytes());
            for a in &e.attributes {
                h.update(a.key.as_bytes());
                h.update([0]);
                h.update(a.value.as_bytes());
                h.update([u8::from(a.index)]);
            }
        }
    };
    for r in &resp.tx_results {
        h.update(r.code.to_be_bytes());
        h.update(r.codespace.as_bytes());
        h.update(&r.data);
        h.update(r.gas_wanted.to_be_bytes());
        h.update(r.gas_used.to_be_bytes());
        events(&mut h, &r.events);
    }
    events(&mut h, &resp.events);
    hex::encode(h.finalize())
}

/// A running simulation: its node, generator and what it has seen.
struct Sim {
    n: TestNode,
    rng: Rng,
    made: Made,
    tally: Tally,
    seed: u64,
    /// The txs of the last block and every tx offered for it.
    last_block: Vec<Vec<u8>>,
    last_offered: Vec<Vec<u8>>,
}

impl Sim {
    fn new(seed: u64, b: TestNodeBuilder) -> Sim {
        Sim { n: node(b), rng: Rng(seed), made: Made::default(), tally: Tally::default(), seed, last_block: vec![], last_offered: vec![] }
    }

    /// One block: generate, prepare, execute (the driver checks ProcessProposal accepts
    /// and every invariant holds); its digest.
    fn step(&mut self) -> String {
        let Sim { n, rng, made, tally, seed, last_block, last_offered } = self;
        let seed = *seed;
        let height = n.height + 1;
        let mut txs = Vec::new();
        let mut intents = std::collections::BTreeMap::<Vec<u8>, Vec<Intent>>::new();
        let mut signers = std::collections::BTreeSet::new();
        for _ in 0..1 + rng.below(8) {
            let mut tx_intents = Vec::new();
            let (who, first) = message(rng, made, &mut tx_intents);
            if !signers.insert(who) {
                continue; // one tx per signer and block keeps sequences simple
            }
            let key = test_key(who);
            let Some(acct) = n.account(&key.address()) else { continue };
            let mut msgs = vec![first];
            if rng.chance(15) {
                let kind = rng.below(KINDS);
                msgs.push(build(rng, kind, who, made, &mut tx_intents));
            }
            let tx = if rng.chance(5) {
                unfit(rng, &key, acct.account_number, acct.sequence, msgs[0].clone())
            } else {
                txbuilder::sign_tx(&TxSpec::new(msgs, FEE, GAS), &key, TEST_CHAIN_ID, acct.account_number, acct.sequence)
            };
            intents.insert(tx.clone(), tx_intents);
            txs.push(tx);
        }
        let offered = txs.len();
        *last_offered = txs.clone();
        if std::env::var("SIM_VERBOSE").is_ok() {
            for t in &txs {
                let v = n.rt().block_on(n.app.vet_proposal(std::slice::from_ref(t), openledger_app::exec::proposal::Vet::Process));
                if let Ok(openledger_app::exec::proposal::Vetted::Invalid { refusal, .. }) = v {
                    let why: String = refusal.log.chars().filter(|c| !c.is_ascii_digit()).take(60).collect();
                    *tally.why.entry(format!("dropped: {}/{} {why}", refusal.codespace, refusal.code)).or_default() += 1;
                }
            }
        }
        let prepared = Application::prepare_proposal(
            &n.app,
            pb::RequestPrepareProposal {
                txs: txs.into_iter().map(Into::into).collect(),
                max_tx_bytes: 4 << 20,
                height: height as i64,
                ..Default::default()
            },
        );
        let txs: Vec<Vec<u8>> = prepared.txs.into_iter().map(|t| t.to_vec()).collect();
        tally.dropped += (offered - txs.len()) as u64;
        // ProcessProposal must accept what PrepareProposal built; the driver asserts it,
        // then runs FinalizeBlock and Commit and checks every invariant.
        let resp = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| n.execute_block(txs.clone())))
            .unwrap_or_else(|_| panic!("simulation failed at height {height}: replay with SIM_SEED={seed} SIM_BLOCKS={height}"));
        for (tx, r) in txs.iter().zip(&resp.tx_results) {
            if r.code == 0 {
                tally.ok += 1;
                for i in intents.get(tx).into_iter().flatten() {
                    made.apply(*i);
                }
                for e in r.events.iter().filter(|e| e.r#type == "message") {
                    let attr = |k: &str| e.attributes.iter().find(|a| a.key == k).map(|a| a.value.clone()).unwrap_or_default();
                    let action = attr("action");
                    let action = action.rsplit('.').next().unwrap_or_default();
                    let sender = (0..ACCOUNTS).find(|k| addr(*k) == attr("sender")).unwrap_or(0);
                    match action {
                        "MsgCreateDatanet" => made.datanets += 1,
                        "MsgSubmitContribution" => made.contributions += 1,
                        "MsgChallengeContribution" => {
                            made.challenges += 1;
                            made.open_challenges.push(made.challenges);
                            made.challengers.push(sender);
                        }
                        "MsgRegisterModel" => {
                            made.models += 1;
                            made.model_owners.push(sender);
                        }
                        "MsgPayInference" => made.inferences.push(sender),
                        _ => {}
                    }
                    if !action.is_empty() {
                        *tally.done.entry(action.to_string()).or_default() += 1;
                    }
                }
            } else {
                tally.refused += 1;
                let why: String = r.log.chars().filter(|c| !c.is_ascii_digit()).take(70).collect();
                *tally.why.entry(format!("{}/{} {why}", r.codespace, r.code)).or_default() += 1;
            }
        }
        tally.generated = made.generated;
        *last_block = txs;
        block_digest(&resp)
    }
}

/// Run the simulation: the digest of every block, and how many txs of each outcome.
fn simulate(seed: u64, blocks: u64, b: TestNodeBuilder) -> (Vec<String>, Tally) {
    let mut sim = Sim::new(seed, b);
    let digests = (0..blocks).map(|_| sim.step()).collect();
    (digests, sim.tally)
}

#[derive(Default, Debug)]
struct Tally {
    ok: u64,
    refused: u64,
    dropped: u64,
    /// Refusals by codespace/code and message (digits dropped), for `SIM_VERBOSE`.
    why: std::collections::BTreeMap<String, u64>,
    /// Messages executed, by type.
    done: std::collections::BTreeMap<String, u64>,
    generated: [u64; KINDS as usize],
}

fn seed_and_blocks() -> (u64, u64) {
    let var = |k: &str, d: u64| std::env::var(k).ok().and_then(|v| v.parse().ok()).unwrap_or(d);
    (var("SIM_SEED", DEFAULT_SEED), var("SIM_BLOCKS", DEFAULT_BLOCKS))
}

/// The first height at which two runs differ.
fn first_difference(a: &[String], b: &[String]) -> Option<usize> {
    (0..a.len().max(b.len())).find(|i| a.get(*i) != b.get(*i)).map(|i| i + 1)
}

#[test]
fn one_seed_gives_the_same_blocks_in_another_process_and_with_every_cache_off() {
    let (seed, blocks) = seed_and_blocks();
    let t = std::time::Instant::now();
    // The other process first, running beside this one.
    let child = std::process::Command::new(std::env::current_exe().expect("test binary"))
        .args(["--ignored", "--exact", "print_simulation_digests", "--nocapture", "--test-threads", "1"])
        .env("SIM_SEED", seed.to_string())
        .env("SIM_BLOCKS", blocks.to_string())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("spawning the second process");
    let (cached, tally) = simulate(seed, blocks, builder());
    eprintln!(
        "seed {seed}: {blocks} blocks in {:.1} s: {} ok, {} refused, {} dropped",
        t.elapsed().as_secs_f64(),
        tally.ok,
        tally.refused,
        tally.dropped
    );
    eprintln!("executed: {:?}", tally.done);
    if std::env::var("SIM_VERBOSE").is_ok() {
        for (why, n) in &tally.why {
            eprintln!("{n:6} {why}");
        }
    }
    assert!(
        tally.ok > 0 && tally.refused > 0 && tally.dropped > 0,
        "the run must mix outcomes: {} ok, {} refused, {} dropped",
        tally.ok,
        tally.refused,
        tally.dropped
    );
    if blocks >= DEFAULT_BLOCKS {
        assert!(tally.generated.iter().all(|g| *g > 0), "every kind of message is generated: {:?}", tally.generated);
        // All but the appeal (it needs a curators' quorum decision within its window)
        // get executed, not only refused.
        assert!(tally.done.len() >= 20, "message types executed: {:?}", tally.done);
    }
    let (uncached, _) = simulate(seed, blocks, builder().no_caches());
    if let Some(h) = first_difference(&cached, &uncached) {
        panic!("with every cache off, height {h} differs: replay with SIM_SEED={seed} SIM_BLOCKS={blocks}");
    }
    let out = child.wait_with_output().expect("second process");
    assert!(out.status.success(), "the second process failed (SIM_SEED={seed} SIM_BLOCKS={blocks})");
    let other: Vec<String> =
        String::from_utf8_lossy(&out.stdout).lines().filter_map(|l| l.split("sim-digest ").nth(1)).map(str::to_string).collect();
    if let Some(h) = first_difference(&cached, &other) {
        panic!("another process differs at height {h}: replay with SIM_SEED={seed} SIM_BLOCKS={blocks}");
    }
    eprintln!("{blocks} blocks identical in two processes and with caches off ({:.1} s in all)", t.elapsed().as_secs_f64());
}

/// Run by the test above in a second process.
#[test]
#[ignore]
fn print_simulation_digests() {
    let (seed, blocks) = seed_and_blocks();
    for d in simulate(seed, blocks, builder()).0 {
        println!("sim-digest {d}");
    }
}

/// Delete every key of the non-verifiable column families of the (closed) store at
/// `state`: its indexes, the datanet trees' history, the block stream. Returns how many.
fn wipe_nonverifiable(state: &std::path::Path) -> usize {
    let opts = rocksdb::Options::default();
    let cfs = rocksdb::DB::list_cf(&opts, state).expect("column families");
    let db = rocksdb::DB::open_cf(&opts, state, &cfs).expect("open the stopped store");
    let mut n = 0;
    for cf in cfs.iter().filter(|c| c.contains("nonverifiable")) {
        let h = db.cf_handle(cf).expect("column family");
        let keys: Vec<Box<[u8]>> = db.iterator_cf(h, rocksdb::IteratorMode::Start).map(|r| r.expect("read").0).collect();
        for k in keys {
            db.delete_cf(h, k).expect("delete");
            n += 1;
        }
    }
    db.flush().expect("flush");
    n
}

/// Twins run the seed's first `before` blocks; then one is stopped, `offline` changes its
/// closed store and it restarts: the next `after` blocks of both are identical. Returns
/// what `offline` returned.
fn twins_agree_after_offline<T>(before: u64, after: u64, offline: impl FnOnce(&std::path::Path) -> T) -> T {
    let seed = seed_and_blocks().0;
    let mut kept = Sim::new(seed, builder());
    let mut changed = Sim::new(seed, builder());
    for h in 1..=before {
        assert_eq!(kept.step(), changed.step(), "height {h}: the twins differ before the change");
    }
    let mut out = None;
    let n = std::mem::replace(&mut changed.n, node(TestNode::builder()));
    changed.n = n.restart_after(|_| {}, |state| out = Some(offline(state)));
    for h in before + 1..=before + after {
        let (a, b) = (kept.step(), changed.step());
        assert_eq!(a, b, "height {h}: the changed node differs (SIM_SEED={seed})");
    }
    out.expect("offline ran")
}

/// Consensus reads only consensus state: a node whose non-verifiable store is wiped
/// (everything the app hash does not cover) produces, block by block, exactly the
/// results and app hashes of a node that kept it.
#[test]
fn a_node_whose_nonverifiable_store_is_wiped_gives_the_same_next_blocks() {
    let removed = twins_agree_after_offline(300, 300, wipe_nonverifiable);
    assert!(removed > 1000, "the store had indexes, tree history and stream records to lose: {removed}");
    eprintln!("wiped {removed} non-verifiable keys at height 300; the next 300 blocks identical");
}

/// Pruning old state versions (`prune.rs`) keeps all the latest version holds: a pruned
/// node produces, block by block, the results and app hashes of one that kept every
/// version; and a second pass finds nothing more to delete.
#[test]
fn a_node_whose_old_state_versions_are_pruned_gives_the_same_next_blocks() {
    let (first, second) = twins_agree_after_offline(300, 300, |state| {
        let first = openledger_app::prune::prune_state_versions(state).expect("prune");
        (first, openledger_app::prune::prune_state_versions(state).expect("prune again"))
    });
    assert!(first.nodes_deleted > first.nodes_kept && first.values_deleted > 0, "300 blocks left old versions: {first:?}");
    assert_eq!((second.nodes_deleted, second.values_deleted), (0, 0), "{second:?}");
    assert_eq!((second.nodes_kept, second.values_kept), (first.nodes_kept, first.values_kept));
    eprintln!("pruned at height 300: {first:?}; the next 300 blocks identical");
}

/// Writes the fuzzers' seed corpora (`fuzz/corpus/<target>/`) from real txs and blocks of
/// the simulation: `WRITE_FUZZ_CORPUS=1 cargo test -p openledger-app --test simulation
/// write_fuzz_corpus -- --ignored`.
#[test]
#[ignore]
fn write_fuzz_corpus() {
    use tendermint_proto::v0_38::abci::{request, Request};
    if std::env::var("WRITE_FUZZ_CORPUS").is_err() {
        return;
    }
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus");
    let write = |target: &str, name: String, bytes: &[u8]| {
        let dir = root.join(target);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(name), bytes).unwrap();
    };
    let mut sim = Sim::new(DEFAULT_SEED, builder());
    for h in 1..=40u64 {
        sim.step();
        for (i, tx) in sim.last_offered.iter().enumerate().filter(|(i, _)| i % 2 == 0) {
            write("tx", format!("h{h}-{i}"), tx);
        }
        if h % 4 == 0 {
            let mut block = Vec::new();
            for tx in &sim.last_offered {
                block.extend((tx.len() as u16).to_le_bytes());
                block.extend(tx);
            }
            write("proposal", format!("h{h}"), &block);
            let mut frames = Vec::new();
            let fb = pb::RequestFinalizeBlock {
                txs: sim.last_block.iter().cloned().map(Into::into).collect(),
                height: h as i64,
                ..Default::default()
            };
            for v in
                [request::Value::Info(Default::default()), request::Value::FinalizeBlock(fb), request::Value::Commit(Default::default())]
            {
                Request { value: Some(v) }.encode_length_delimited(&mut frames).unwrap();
            }
            if let Some(tx) = sim.last_offered.first() {
                let c = pb::RequestCheckTx { tx: tx.clone().into(), r#type: 0 };
                Request { value: Some(request::Value::CheckTx(c)) }.encode_length_delimited(&mut frames).unwrap();
            }
            write("abci_frames", format!("h{h}"), &frames);
        }
    }
    // Queries: each route (even selectors), with an empty request and one naming an
    // account; and REST paths (odd selectors).
    let routes: Vec<&str> = openledger_app::registry::query_routes().iter().map(|r| r.method).collect();
    for (i, _) in routes.iter().enumerate() {
        let address =
            cosmos_sdk_proto::cosmos::bank::v1beta1::QueryBalanceRequest { address: addr(1), denom: "uopen".into() }.encode_to_vec();
        write("queries", format!("abci-{i}"), &[&[(i as u8) << 1, 0][..], &address].concat());
    }
    for (i, path) in [
        "cosmos/bank/v1beta1/balances/ADDR",
        "cosmos/auth/v1beta1/accounts/ADDR",
        "openledger/datanet/v1/datanets?pagination.limit=5",
        "cosmos/tx/v1beta1/simulate\n{\"tx_bytes\":\"\"}",
    ]
    .iter()
    .enumerate()
    {
        write("queries", format!("rest-{i}"), format!("\x01{}", path.replace("ADDR", &addr(1))).as_bytes());
    }
    write("genesis", "default".into(), &serde_json::to_vec(&builder().app_state()).unwrap());
}
