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
                &test_key(1),
                vec![any(
                    "/openledger.datanet.v1.MsgBondCurator",
                    &dn::MsgBondCurator { curator: test_key(1).address().to_string(), datanet_id: 1, amount: coin(10_000_000) },
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
/// and datanet messages (a curator bonds, then reviews and publishes).
fn scripted_run() -> Vec<String> {
    let mut n = TestNode::builder()
        .funded_accounts(4, 50_000_000)
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
    "4506e2302616c0eb33ec805ff2de3ef5c04fee3293ee3aee930d00f4ef1165ac",
    "b6a6f9a1fc0b6649670df11c09340b9ad74a16f58bab6daeefcfe16a7c998ff4",
    "b5ecce7ba7f8b59fefcf18ce9fd7615320e98f9d78e9b7d3c7f165c9db379fa3",
    "e73530f9ad3025e3cfc90f30f901da2fd39754bffbc60fb6d2fe14592a5cc3a8",
    "b63d91e7dfcecb2313c8a7682a0c16f0d52f23e0f097d4b558c640c0cd59aa8f",
    "480f6fb8ffd837ef1b20ebb326c63be35be3a747ed9955902f41867163cef7c4",
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
