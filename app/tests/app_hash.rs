//! Consensus pin: a fixed input produces these app hashes at these heights. A change to
//! any of them is consensus-breaking and must be deliberate (say why in the commit).
//! The same run in a second process must produce the same hashes.
use openledger_app::testing::{test_ed25519_key, test_key, TestNode, TestValidator};
use openledger_framework::Address;

/// Genesis plus five blocks: transfers, a failing tx, an ed25519 signer, fee payouts.
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
        let resp = n.execute_block(txs);
        hashes.push(hex::encode(resp.app_hash.as_ref()));
    }
    hashes
}

/// Pinned values; regenerate with `PRINT_APP_HASHES=1 cargo test -p openledger-app --test app_hash -- --nocapture`.
const PINNED: [&str; 6] = [
    "bce065b73d9e1892be223ca30710ba5729db27b976fb3b22551301db1e291205",
    "7dece4ed4375260f5cb8edc1255c32adb039ecbd2541ed72d036f5301e503faf",
    "a8c41e963775120ee5f55852a6eb1ffcd4d44e69021899228628e26cd3b3074b",
    "624bb5fd8fe8c9509cf9dc29fcd563585b4434dbb0f9955e659ece4edf463c80",
    "46eb99f6a409fa62e63a950af7340fc295bee08161e48bef74c1498ee5a736f1",
    "4841789a584f7c4f3efef6addfdc18aa0fe8b7ab115ee44a9249738580dd0941",
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
    let theirs: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_once("APPHASH ").map(|(_, h)| h.trim().to_string()))
        .collect();
    assert_eq!(theirs.len(), 6);
    assert_eq!(scripted_run(), theirs);
}
