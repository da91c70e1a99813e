//! Consensus pin: a fixed input produces these app hashes at these heights. A change to
//! any of them is consensus-breaking and must be deliberate (say why in the commit).
//! The same run in a second process must produce the same hashes.
use openledger_framework::Address;
use openledger_test_driver::{test_ed25519_key, test_key, TestNode, TestValidator};

fn any<M: prost::Message>(type_url: &str, m: &M) -> cosmos_sdk_proto::Any {
    cosmos_sdk_proto::Any { type_url: type_url.into(), value: m.encode_to_vec() }
}

/// Module messages in the run: a datanet with a contribution (block 4), reviewed and
/// published as version 1 (block 5), so datanet records, indexes and the version tree
/// are pinned too.
fn datanet_txs(n: &TestNode, h: u64) -> Vec<Vec<u8>> {
    use openledger_proto::openledger::datanet::v1 as dn;
    let coin = |a: u128| Some(openledger_proto::cosmos::base::v1beta1::Coin { denom: "uopen".into(), amount: a.to_string() });
    match h {
        3 => vec![
            n.msg_tx(
                &test_key(0),
                vec![any(
                    "/openledger.datanet.v1.MsgCreateDatanet",
                    &dn::MsgCreateDatanet {
                        owner: test_key(0).address().to_string(),
                        name: "pinned".into(),
                        tags: vec!["pin".into()],
                        curators: vec![test_key(1).address().to_string()],
                        min_stake: coin(1000),
                        policy: dn::ContributionPolicy::Open as i32,
                        ..Default::default()
                    },
                )],
                20_000,
                800_000,
            ),
            n.msg_tx(
                &test_key(2),
                vec![any(
                    "/openledger.datanet.v1.MsgSubmitContribution",
                    &dn::MsgSubmitContribution {
                        contributor: test_key(2).address().to_string(),
                        datanet_id: 1,
                        content_hash: vec![0x42; 32],
                        size: 4096,
                        uri: "ipfs://pinned".into(),
                        fingerprint: vec![16, 32, 48],
                        stake: coin(1000),
                        salt: vec![],
                    },
                )],
                20_000,
                800_000,
            ),
        ],
        4 => vec![n.msg_tx(
            &test_key(1),
            vec![
                any(
                    "/openledger.datanet.v1.MsgReviewContribution",
                    &dn::MsgReviewContribution {
                        curator: test_key(1).address().to_string(),
                        contribution_id: 1,
                        accept: true,
                        quality_bps: 7500,
                        reason: String::new(),
                    },
                ),
                any(
                    "/openledger.datanet.v1.MsgPublishVersion",
                    &dn::MsgPublishVersion { publisher: test_key(1).address().to_string(), datanet_id: 1 },
                ),
            ],
            20_000,
            800_000,
        )],
        _ => vec![],
    }
}

/// Genesis plus five blocks: transfers, a failing tx, an ed25519 signer, fee payouts,
/// and datanet messages.
fn scripted_run() -> Vec<String> {
    let mut n = TestNode::builder()
        .funded_accounts(4, 10_000_000)
        .fund(test_ed25519_key(0), 10_000_000)
        .validator(TestValidator { consensus_address: [1; 20], power: 3, operator: Address([0xa1; 20]) })
        .validator(TestValidator { consensus_address: [2; 20], power: 1, operator: Address([0xa2; 20]) })
        .build();
    let mut hashes = vec![hex::encode(&n.genesis_app_hash)];
    for h in 0..5u64 {
        let from = test_key(h % 4);
        let to = test_key((h + 1) % 4).address();
        let mut txs = vec![n.send_tx(&from, &to, 1_000 + h as u128, 5_000 + h as u128, 200_000)];
        if h == 2 {
            txs.push(n.send_tx(&test_key(3), &to, 100_000_000, 5_000, 200_000)); // insufficient funds
            txs.push(n.send_tx(&test_ed25519_key(0), &to, 77, 5_000, 200_000));
        }
        txs.extend(datanet_txs(&n, h));
        let resp = n.execute_block(txs);
        assert!(resp.tx_results.iter().filter(|r| r.code != 0).count() == usize::from(h == 2), "{:?}", resp.tx_results);
        hashes.push(hex::encode(resp.app_hash.as_ref()));
    }
    hashes
}

/// Pinned values; regenerate with `PRINT_APP_HASHES=1 cargo test -p openledger-app --test app_hash -- --nocapture`.
const PINNED: [&str; 6] = [
    "a6a7ce1a713313d879d1806a928f3c6d71ce84b3a90f7288da77f417d1442976",
    "60da2b5f02e11b472eae0065220d032ee3ae4154d454b5c8c2eb979341b1411e",
    "23687e19526c78993383d28e373c4bbde74ce050c6f81675495fcd7ffdd95452",
    "0265f6d44f3c96edc95ecf74e2ee5856f0b02bb613e6d55abd85db364fb54def",
    "9026c15fef8fdcbe1b036d831c506175b0ca2454dccb5c0df7edd76b9c16f27d",
    "55af854b5d5c18f50ab00f818a7ad35b45a76c2e678db57173d57777e9ce67a5",
];

#[test]
fn app_hashes_at_fixed_heights_are_pinned() {
    let hashes = scripted_run();
    if std::env::var("PRINT_APP_HASHES").is_ok() {
        for h in &hashes {
            println!("    \"{h}\",");
        }
    }
    let pinned: Vec<String> = PINNED.iter().map(|s| s.to_string()).collect();
    assert_eq!(hashes, pinned, "app hashes moved: a consensus-breaking change");
}

/// Helper run by `same_run_in_two_processes_gives_the_same_app_hashes` in a child process.
#[test]
#[ignore]
fn print_app_hashes_for_the_other_process() {
    for h in scripted_run() {
        println!("APPHASH {h}");
    }
}

#[test]
fn same_run_in_two_processes_gives_the_same_app_hashes() {
    let exe = std::env::current_exe().unwrap();
    let out = std::process::Command::new(exe)
        .args(["--exact", "print_app_hashes_for_the_other_process", "--ignored", "--nocapture", "--test-threads=1"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let theirs: Vec<String> =
        String::from_utf8_lossy(&out.stdout).lines().filter_map(|l| l.split_once("APPHASH ").map(|(_, h)| h.trim().to_string())).collect();
    assert_eq!(theirs.len(), 6);
    assert_eq!(scripted_run(), theirs);
}
