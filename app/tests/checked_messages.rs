//! Every message of the datanet, model and attribution modules is checked without state
//! when it is decoded: a malformed one is refused by CheckTx with its module's code and
//! codespace, a proposal holding it is rejected, and a block that includes it anyway
//! (one CometBFT decided) fails it without charging the sender a fee or moving its
//! sequence — malformed input never pays to fail in a block.
use cosmos_sdk_proto::Any;
use openledger_proto::cosmos::base::v1beta1::Coin;
use openledger_proto::openledger::attribution::v1 as attribution;
use openledger_proto::openledger::datanet::v1 as datanet;
use openledger_proto::openledger::model::v1 as model;
use openledger_test_driver::{test_key, TestNode};
use prost::{Message, Name};
use tendermint_abci::Application;
use tendermint_proto::v0_38::abci as pb;

const FUND: u128 = 1_000_000_000;

fn any<M: Message + Name>(m: &M) -> Any {
    Any { type_url: M::type_url(), value: m.encode_to_vec() }
}

fn uopen(amount: u128) -> Option<Coin> {
    Some(Coin { denom: "uopen".into(), amount: amount.to_string() })
}

/// One malformed instance of every message, each signed by `a`, with the code its
/// stateless check refuses it with.
fn malformed(a: &str) -> Vec<(Any, &'static str, u32)> {
    let a = a.to_string();
    vec![
        (
            any(&datanet::MsgCreateDatanet {
                owner: a.clone(),
                name: "medical".into(),
                policy: 1,
                terms: Some(datanet::ContributionTerms { reject_slash_bps: 10_001, challenge_reward_bps: 0 }),
                ..Default::default()
            }),
            "datanet",
            2,
        ),
        (any(&datanet::MsgUpdateDatanet { owner: a.clone(), datanet_id: 0, ..Default::default() }), "datanet", 2),
        (
            any(&datanet::MsgSubmitContribution {
                contributor: a.clone(),
                datanet_id: 1,
                content_hash: vec![1; 31],
                size: 10,
                uri: "ipfs://x".into(),
                fingerprint: vec![],
                stake: uopen(1000),
                salt: vec![],
            }),
            "datanet",
            2,
        ),
        (
            any(&datanet::MsgReviewContribution {
                curator: a.clone(),
                contribution_id: 1,
                accept: true,
                quality_bps: 10_001,
                reason: String::new(),
            }),
            "datanet",
            2,
        ),
        (any(&datanet::MsgWithdrawContribution { contributor: a.clone(), contribution_id: 0 }), "datanet", 2),
        (any(&datanet::MsgPublishVersion { publisher: a.clone(), datanet_id: 0 }), "datanet", 2),
        (
            any(&datanet::MsgChallengeContribution { challenger: a.clone(), contribution_id: 1, reason: String::new(), bond: uopen(5) }),
            "datanet",
            2,
        ),
        (any(&datanet::MsgCommitContribution { contributor: a.clone(), datanet_id: 1, commitment: vec![1; 31] }), "datanet", 2),
        (any(&datanet::MsgResolveChallenge { curator: a.clone(), challenge_id: 0, uphold: true, resolution: String::new() }), "datanet", 2),
        (any(&datanet::MsgBondCurator { curator: a.clone(), datanet_id: 1, amount: uopen(0) }), "datanet", 14),
        (any(&datanet::MsgUnbondCurator { curator: a.clone(), datanet_id: 0, amount: uopen(5) }), "datanet", 2),
        (any(&datanet::MsgClaimCuratorRewards { curator: "open1nope".into(), datanet_id: 1 }), "datanet", 13),
        (
            any(&datanet::MsgAppealChallenge { appellant: "open1nope".into(), challenge_id: 1, reason: "r".into(), bond: None }),
            "datanet",
            13,
        ),
        (
            any(&model::MsgRegisterModel {
                owner: a.clone(),
                name: "m".into(),
                base_model: String::new(),
                artifact_hash: vec![7; 32],
                artifact_uri: "ipfs://m".into(),
                training_set: vec![model::TrainingEntry { datanet_id: 1, version: 1, weight_bps: 10_000 }],
                operators: vec![a.clone()],
                price_per_unit: uopen(5),
                fee_split: Some(model::FeeSplit {
                    owner_bps: 4000,
                    contributors_bps: 4000,
                    datanet_owners_bps: 1000,
                    protocol_bps: 999,
                    operator_bps: 0,
                }),
                bond: uopen(1000),
            }),
            "model",
            6,
        ),
        (any(&model::MsgUpdateModel { owner: a.clone(), model_id: 1, status: 7, ..Default::default() }), "model", 2),
        (any(&model::MsgWithdrawBond { owner: a.clone(), model_id: 0 }), "model", 2),
        (any(&attribution::MsgPayInference { consumer: a.clone(), model_id: 1, units: 0, max_fee: uopen(10) }), "attribution", 2),
        (
            any(&attribution::MsgSubmitAttribution {
                operator: a.clone(),
                inference_id: 1,
                receipt: Some(attribution::Receipt {
                    chain_id: "c".into(),
                    inference_id: 2,
                    output_hash: vec![7; 32],
                    output_fingerprint: vec![16],
                    operator: String::new(),
                }),
                receipt_signature: vec![1; 64],
            }),
            "attribution",
            17,
        ),
        (
            any(&attribution::MsgSubmitReceipt {
                consumer: a.clone(),
                receipt: Some(attribution::Receipt {
                    chain_id: "c".into(),
                    inference_id: 1,
                    output_hash: vec![7; 32],
                    output_fingerprint: vec![],
                    operator: String::new(),
                }),
            }),
            "attribution",
            17,
        ),
        (any(&attribution::MsgClaimRewards { contributor: a, contribution_ids: vec![3, 3], start_after: 0 }), "attribution", 2),
    ]
}

/// The type URLs of every `Msg…` request of the datanet, model and attribution
/// packages, read from the descriptors the node serves.
fn every_message_type() -> Vec<String> {
    let pool = prost_reflect::DescriptorPool::decode(openledger_proto::FILE_DESCRIPTOR_SET).unwrap();
    let mut urls: Vec<String> = pool
        .all_messages()
        .filter(|m| ["openledger.datanet.v1", "openledger.model.v1", "openledger.attribution.v1"].contains(&m.package_name()))
        .filter(|m| m.name().starts_with("Msg") && !m.name().ends_with("Response"))
        .map(|m| format!("/{}", m.full_name()))
        .collect();
    urls.sort();
    urls
}

#[test]
fn a_malformed_message_of_every_module_is_refused_by_check_tx_and_never_charged() {
    let key = test_key(0);
    let mut n = TestNode::builder().funded_accounts(1, FUND).build();
    let cases = malformed(&key.address().to_string());
    let mut covered: Vec<String> = cases.iter().map(|(m, ..)| m.type_url.clone()).collect();
    covered.sort();
    assert_eq!(covered, every_message_type(), "a malformed case for every message");

    for (msg, codespace, code) in cases {
        let url = msg.type_url.clone();
        let tx = n.msg_tx(&key, vec![msg], 5_000, 400_000);
        let before = (n.balance(&key.address()), n.account(&key.address()).unwrap().sequence);

        let r = n.check_tx(&tx);
        assert_eq!((r.codespace.as_str(), r.code), (codespace, code), "{url}: CheckTx {}", r.log);
        assert!(!r.log.is_empty(), "{url}: the refusal says why");

        let pp = Application::process_proposal(
            &n.app,
            pb::RequestProcessProposal { txs: vec![tx.clone().into()], height: (n.height + 1) as i64, ..Default::default() },
        );
        assert_eq!(pp.status, pb::response_process_proposal::ProposalStatus::Reject as i32, "{url}: a proposal holding it is rejected");

        let resp = n.execute_block_unchecked(vec![tx]);
        let res = &resp.tx_results[0];
        assert_eq!((res.codespace.as_str(), res.code, res.gas_used), (codespace, code, 0), "{url}: in a block {}", res.log);
        let after = (n.balance(&key.address()), n.account(&key.address()).unwrap().sequence);
        assert_eq!(after, before, "{url}: no fee taken, no sequence used");
    }
}
