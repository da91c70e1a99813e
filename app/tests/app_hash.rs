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
    "5e5a9e56e059d53d44c0d38a35c75087e3064d1f39b0c7f7aae5a04e4f431897",
    "8b813a1127b6aef3d94ffc063beac4fcde63ed50e03522f008ac32dd3841d8f7",
    "3186e1bc054e2c7132e0a506f937925d793237062ee97923d6eb2f1c618248bc",
    "bf68dba1a54913cd840904c2dd0e3ade84e1cdd7abba24401dda44dca1af1c8d",
    "f07b21836ed727bf29405a250ef5b73c0ec69358786d8a695888d2ae49994af3",
    "b47f8804802cc4fc84894f9f3f5d0a05dfbe8cb2788e4ce8bdd0687ca081a776",
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
