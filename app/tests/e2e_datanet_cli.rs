//! The datanet and model story end to end, as users run it: the `openledger` CLI against
//! `openledgerd dev` and a real CometBFT v0.38 on loopback. Three contributors (one
//! with a file large enough for the progress bar), a duplicate refused, one contribution
//! rejected and slashed, version 1 published and its Merkle proof checked offline, a
//! model registered on it, one challenge upheld and one dismissed, version 2 with the
//! invalidated contribution at weight zero; queries in text and JSON.
//!
//! Needs `cometbft` and the CLI binary, as `e2e_cometbft.rs` says.
mod common;

use std::path::Path;
use std::time::Instant;

use common::*;
use openledgerd::dev::DEV_CHAIN_ID;
use serde_json::Value;

/// Fee of every tx sent with `tx`, so balances can be checked to the uopen.
const FEE: u128 = 25_000;

/// A tx through the CLI (`--gas 1000000 --fees 25000uopen -y -o json`); returns the
/// JSON result.
fn tx(cli: &Cli, args: &[&str]) -> Value {
    tx_json(cli, args, &["--gas", "1000000", "--fees", "25000uopen"])
}

/// A tx with gas estimated by simulation (`--gas auto`).
fn tx_auto(cli: &Cli, args: &[&str]) -> Value {
    tx_json(cli, args, &["--gas", "auto"])
}

fn ids(list: &Value) -> Vec<String> {
    list.as_array().unwrap_or_else(|| panic!("not a list: {list}")).iter().map(|c| c["id"].as_str().expect("id").to_string()).collect()
}

/// Text of `words` words (distinct per `seed`), at least `min_bytes` long.
/// At least `min_bytes` of text: 500 distinct sentences, repeated as needed, so even a
/// 9 MiB file stays under a contribution's fingerprint cap (repetition adds no hashes).
fn text(seed: &str, min_bytes: usize) -> String {
    let mut s = String::with_capacity(min_bytes + 64);
    let mut i = 0u64;
    while s.len() < min_bytes {
        let k = i % 500;
        s.push_str(&format!("{seed} sentence {k} about clinical question {} answer pairs\n", k * 7919 % 10007));
        i += 1;
    }
    s
}

fn write(dir: &Path, name: &str, content: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, content).expect("write data file");
    p.display().to_string()
}

#[test]
fn datanet_and_model_story_through_the_cli_on_a_real_cometbft_chain() {
    let t0 = Instant::now();
    let (_, _) = (cometbft_bin(), cli_bin()); // fail fast, before anything is started
    let mut procs = Procs::new();
    let home = procs.home.clone();
    let (_, _, chain) = spawn_dev(&mut procs, 0, t0);
    let cli = Cli { home: &home, ports: &chain.ports };
    let h = chain.wait_height(&mut procs, 2);
    step(t0, &format!("dev chain at height {h}"));

    // Keys: alice owns the datanet and the model, bob and grace curate, carol/dave/erin
    // contribute, frank challenges.
    for k in ["carol", "dave", "erin", "frank", "grace"] {
        cli.ok(&["keys", "add", k]);
        let addr = cli.address(k);
        cli.send("alice", &addr, 50_000_000, DEV_CHAIN_ID);
    }
    let addr = |k: &str| cli.address(k);
    step(t0, "funded carol, dave, erin, frank, grace");

    // Create.
    let v = tx_auto(
        &cli,
        &[
            "tx",
            "datanet",
            "create",
            "--from",
            "alice",
            "--name",
            "Medical QA",
            "--description",
            "Curated clinical QA",
            "--tag",
            "medical",
            "--tag",
            "qa",
            "--curator",
            "bob",
            "--curator",
            "grace",
            "--min-stake",
            "10000uopen",
            "--reject-slash-bps",
            "2000",
            "--challenge-reward-bps",
            "5000",
        ],
    );
    assert_eq!(first_response(&v)["id"], "1", "{v}");
    let treasury = first_response(&v)["treasury"].as_str().expect("treasury").to_string();
    let d = query_json(&cli, &["datanet", "datanet", "1"]);
    assert_eq!(
        (d["datanet"]["name"].as_str(), d["datanet"]["curators"][0].as_str()),
        (Some("Medical QA"), Some(addr("bob").as_str())),
        "{d}"
    );
    let text_out = cli.ok(&["q", "datanet", "datanet", "1"]);
    assert!(
        text_out.contains("name: Medical QA") && text_out.contains("min_stake:\n    denom: uopen\n    amount: \"10000\""),
        "{text_out}"
    );

    // Contributions: carol's file is large enough for the progress bar.
    let dir = tempfile::tempdir().expect("tempdir");
    let files = [
        write(dir.path(), "carol.txt", &text("carol heart rate", 9 << 20)),
        write(dir.path(), "dave.txt", &text("dave fasting glucose", 4096)),
        write(dir.path(), "erin.txt", &text("buy cheap watches now", 2048)),
    ];
    let mut contribution = Vec::new();
    for (who, file) in ["carol", "dave", "erin"].into_iter().zip(&files) {
        // dave commits first and reveals in a later block (two transactions).
        let commit_first: &[&str] = if who == "dave" { &["--commit-first"] } else { &[] };
        let out = cli.run(
            &[
                "tx",
                "datanet",
                "contribute",
                "1",
                "--file",
                file,
                "--uri",
                &format!("ipfs://{who}"),
                "--from",
                who,
                "--chain-id",
                DEV_CHAIN_ID,
                "--gas",
                "auto",
                "-y",
                "-o",
                "json",
            ]
            .iter()
            .chain(commit_first)
            .copied()
            .collect::<Vec<_>>(),
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "contribute {who}: {stderr}");
        if who == "carol" {
            assert!(stderr.contains("100% 9/9 MiB"), "no progress bar for a 9 MiB file: {stderr}");
        }
        // One JSON result a transaction: the last is the contribution's.
        let stdout = String::from_utf8_lossy(&out.stdout);
        let v: Value = serde_json::from_str(stdout.lines().last().unwrap_or_default()).expect("json");
        if who == "dave" {
            assert_eq!(stdout.lines().count(), 2, "a commitment, then the reveal: {stdout}");
        }
        contribution.push(first_response(&v)["contribution_id"].as_str().expect("contribution_id").to_string());
    }
    assert_eq!(contribution, ["1", "2", "3"]);
    let c1 = query_json(&cli, &["datanet", "contribution", "1"]);
    let c1 = &c1["contribution"];
    let carol_size = std::fs::metadata(&files[0]).expect("stat").len();
    assert_eq!(c1["size"].as_str(), Some(carol_size.to_string().as_str()), "size of {}", files[0]);
    let fp = c1["fingerprint"].as_array().expect("fingerprint");
    let carol_fp =
        openledger_datanet::fingerprint::compute(&std::fs::read_to_string(&files[0]).expect("carol"), 16, 512).expect("under the cap");
    assert!(fp.len() == carol_fp.len() && fp.len() > 200, "every sampled hash of the 9 MiB text: {} of {}", fp.len(), carol_fp.len());
    let escrow = openledger_datanet::escrow().to_string();
    assert_eq!(cli_uopen(&cli, &escrow), 30_000, "three stakes held in escrow");

    // The same content again is refused, in the block, with the module's code.
    let err = failing_tx(&cli, &["tx", "datanet", "contribute", "1", "--file", &files[0], "--uri", "ipfs://again", "--from", "dave"]);
    assert!(err.contains("already in datanet 1 as contribution 1") && err.contains("codespace datanet, code 5"), "{err}");
    // Only curators review, and only bonded.
    let err = failing_tx(&cli, &["tx", "datanet", "review", "1", "accept", "--quality-bps", "9000", "--from", "carol"]);
    assert!(err.contains("not a curator"), "{err}");
    let err = failing_tx(&cli, &["tx", "datanet", "review", "1", "accept", "--quality-bps", "9000", "--from", "bob"]);
    assert!(err.contains("bond-curator"), "{err}");
    for k in ["alice", "bob", "grace"] {
        tx(&cli, &["tx", "datanet", "bond-curator", "1", "10000000uopen", "--from", k]);
    }
    let cur = query_json(&cli, &["datanet", "curators", "1"]);
    assert_eq!(cur["curator_bonded"], "30000000", "{cur}");
    step(t0, "three contributions; duplicate and non-curator review refused");

    // Reviews: accept two, reject the spam (20% slashed to the treasury).
    // Accepting writes the contribution's fingerprint hashes into the datanet's index:
    // gas by simulation. Its weight is the quality times the hashes it brings.
    let v = tx_auto(&cli, &["tx", "datanet", "review", "1", "accept", "--quality-bps", "9000", "--from", "bob"]);
    let gas_used = v["gas_used"].as_u64().expect("gas_used");
    assert!(gas_used > carol_fp.len() as u64 * 3000, "indexing the hashes is charged: {gas_used} gas");
    assert_eq!(first_response(&v)["weight"].as_str(), Some((9000 * carol_fp.len()).to_string().as_str()), "{v}");
    eprintln!("accepting a {}-hash contribution: {gas_used} gas", carol_fp.len());
    tx(&cli, &["tx", "datanet", "review", "2", "accept", "--quality-bps", "6000", "--from", "bob"]);
    let erin_before = cli_uopen(&cli, &addr("erin"));
    let v = tx(&cli, &["tx", "datanet", "review", "3", "reject", "--reason", "spam", "--from", "bob"]);
    assert_eq!((first_response(&v)["slashed"].as_str(), first_response(&v)["refunded"].as_str()), (Some("2000"), Some("8000")), "{v}");
    assert_eq!(cli_uopen(&cli, &addr("erin")), erin_before + 8000);
    assert_eq!(cli_uopen(&cli, &treasury), 2000);

    // Version 1, and its proof checked offline against the chain's root and the file.
    let v = tx(&cli, &["tx", "datanet", "publish", "1", "--from", "bob"]);
    assert_eq!(first_response(&v)["version"], "1");
    let version = query_json(&cli, &["datanet", "version", "1", "1"]);
    assert_eq!(version["version"]["contribution_count"], "2", "{version}");
    let root_b64 = version["version"]["merkle_root"].as_str().expect("root").to_string();
    let root_hex = {
        use base64::Engine;
        hex::encode(base64::engine::general_purpose::STANDARD.decode(&root_b64).expect("base64 root"))
    };
    let proof = cli.ok(&["q", "datanet", "proof", "1", "1", "1", "--verify", "-o", "json"]);
    let proof_file = dir.path().join("proof.json");
    std::fs::write(&proof_file, &proof).expect("write proof");
    let pf = proof_file.display().to_string();
    let ok = cli.ok(&["verify-proof", &pf, "--root", &root_hex, "--content", &files[0]]);
    assert!(ok.starts_with("verified: contribution 1"), "{ok}");
    let ok = cli.ok(&["verify-proof", &pf, "--root", &root_b64]);
    assert!(ok.contains(&format!("with root {root_hex}")), "{ok}");
    let err = fails(&cli, &["verify-proof", &pf, "--root", &"00".repeat(32)]);
    assert!(err.contains("is not the root you gave"), "{err}");
    let err = fails(&cli, &["verify-proof", &pf, "--content", &files[1]]);
    assert!(err.contains("the proof is for"), "{err}");
    let rejected = fails(&cli, &["q", "datanet", "proof", "1", "1", "3"]);
    assert!(rejected.contains("NotFound"), "{rejected}");
    step(t0, &format!("version 1 published, root {root_hex}; proof verified offline"));

    // A model trained on version 1.
    let artifact = write(dir.path(), "model.safetensors", "weights");
    let v = tx_auto(
        &cli,
        &[
            "tx",
            "model",
            "register",
            "--from",
            "alice",
            "--name",
            "medqa-8b",
            "--base-model",
            "llama-3-8b",
            "--artifact-file",
            &artifact,
            "--artifact-uri",
            "ipfs://medqa",
            "--train",
            "1:1",
            "--operator",
            "bob",
            "--price",
            "50uopen",
            "--fee-split",
            "4000,4000,1000,1000",
            "--bond",
            "100000000uopen",
        ],
    );
    assert_eq!(first_response(&v)["model_id"], "1", "{v}");
    let err = failing_tx(&cli, &["tx", "model", "update", "1", "--price", "1uopen", "--from", "bob"]);
    assert!(err.contains("owner") && err.contains("codespace model"), "{err}");
    let v = tx(&cli, &["tx", "model", "update", "1", "--price", "60uopen", "--from", "alice"]);
    assert_eq!(first_response(&v)["terms_version"], "2");
    let models = query_json(&cli, &["model", "models-by-datanet", "1"]);
    assert_eq!(ids(&models["models"]), ["1"]);
    assert_eq!(models["models"][0]["price_per_unit"]["amount"], "60");
    assert_eq!(ids(&query_json(&cli, &["model", "models-by-owner", &addr("alice")])["models"]), ["1"]);
    step(t0, "model 1 registered on version 1, repriced by its owner");

    // Challenges: upheld against contribution 2 (stake slashed, half to frank),
    // dismissed against contribution 1 (bond to the treasury).
    let frank_before = cli_uopen(&cli, &addr("frank"));
    let v = tx(&cli, &["tx", "datanet", "challenge", "2", "--reason", "copied", "--bond", "1000000uopen", "--from", "frank"]);
    assert_eq!(first_response(&v)["challenge_id"], "1");
    let v = tx(&cli, &["tx", "datanet", "challenge", "1", "--reason", "wrong", "--bond", "1000000uopen", "--from", "frank"]);
    assert_eq!(first_response(&v)["challenge_id"], "2");
    // A quorum of the uninvolved judges, alice and grace: bob accepted both, so may not.
    let v = tx(&cli, &["tx", "datanet", "resolve", "1", "uphold", "--reason", "checked", "--from", "alice"]);
    assert_eq!(first_response(&v)["status"], "CHALLENGE_STATUS_OPEN", "{v}");
    let v = tx(&cli, &["tx", "datanet", "resolve", "1", "uphold", "--reason", "checked", "--from", "grace"]);
    // Decided, held for the appeal window (a day of blocks); dave, whose contribution it
    // is, appeals with the challenge's bond, and the dev chain's arbiter (its validator
    // key) confirms the curators.
    assert_eq!(first_response(&v)["status"], "CHALLENGE_STATUS_DECIDED", "{v}");
    let err = failing_tx(&cli, &["tx", "datanet", "appeal", "1", "--reason", "mine", "--bond", "1000000uopen", "--from", "erin"]);
    assert!(err.contains("only its contributor") && err.contains("code 3"), "{err}");
    let v = tx(&cli, &["tx", "datanet", "appeal", "1", "--reason", "my own notes", "--bond", "1000000uopen", "--from", "dave"]);
    assert!(first_response(&v)["deadline_height"].as_str().is_some_and(|h| h.parse::<u64>().is_ok()), "{v}");
    let validator = addr("validator");
    cli.send("alice", &validator, 1_000_000, DEV_CHAIN_ID);
    let v = tx(&cli, &["tx", "datanet", "resolve", "1", "uphold", "--reason", "confirmed", "--from", "validator"]);
    // Paid to the challenger: the bond back and half the slashed stake; bob, who accepted
    // it, loses 10% of his curator bond; the confirmed curators lose nothing.
    assert_eq!(
        (first_response(&v)["slashed"].as_str(), first_response(&v)["paid_to_challenger"].as_str()),
        (Some("10000"), Some("1005000")),
        "{v}"
    );
    assert_eq!(
        (first_response(&v)["curator_slashed"].as_str(), first_response(&v)["overturned_slashed"].as_str()),
        (Some("1000000"), Some("0")),
        "{v}"
    );
    tx(&cli, &["tx", "datanet", "resolve", "2", "dismiss", "--reason", "fine", "--from", "alice"]);
    tx(&cli, &["tx", "datanet", "resolve", "2", "dismiss", "--reason", "fine", "--from", "grace"]);
    // frank appeals the dismissal; the arbiter confirms it, and the appeal bond is lost too.
    tx(&cli, &["tx", "datanet", "appeal", "2", "--reason", "look again", "--bond", "1000000uopen", "--from", "frank"]);
    tx(&cli, &["tx", "datanet", "resolve", "2", "dismiss", "--reason", "confirmed", "--from", "validator"]);
    assert_eq!(
        cli_uopen(&cli, &addr("frank")),
        frank_before - 3 * 1_000_000 - 3 * FEE + 1_005_000,
        "two bonds, an appeal bond and fees out; one bond and the reward back"
    );
    // The rejection's slash, half the upheld stake, bob's slash, the dismissed bond and
    // the two confirmed appeals' bonds.
    assert_eq!(cli_uopen(&cli, &treasury), 2000 + 5000 + 1_000_000 + 1_000_000 + 2 * 1_000_000);
    let ch = query_json(&cli, &["datanet", "challenge", "2"]);
    assert_eq!(ch["challenge"]["status"], "CHALLENGE_STATUS_DISMISSED", "{ch}");

    // Version 2: contribution 2 at weight 0; version 1 still proves its old weight.
    let v = tx(&cli, &["tx", "datanet", "publish", "1", "--from", "alice"]);
    assert_eq!(first_response(&v)["version"], "2");
    let p2 = query_json(&cli, &["datanet", "proof", "1", "2", "2", "--verify"]);
    assert_eq!(p2["proof"]["weight"], "0", "{p2}");
    let p1 = query_json(&cli, &["datanet", "proof", "1", "1", "2", "--verify"]);
    assert_ne!(p1["proof"]["weight"], "0", "{p1}");

    // Lists and filters.
    assert_eq!(ids(&query_json(&cli, &["datanet", "contributions", "1", "--status", "rejected"])["contributions"]), ["3"]);
    assert_eq!(ids(&query_json(&cli, &["datanet", "contributions", "1", "--status", "invalidated"])["contributions"]), ["2"]);
    assert_eq!(ids(&query_json(&cli, &["datanet", "contributions", "--contributor", &addr("carol")])["contributions"]), ["1"]);
    let page = query_json(&cli, &["datanet", "contributions", "1", "--limit", "2", "--count-total"]);
    assert_eq!(
        (ids(&page["contributions"]), page["pagination"]["total"].as_str()),
        (vec!["1".to_string(), "2".to_string()], Some("3")),
        "{page}"
    );
    let next = page["pagination"]["next_key"].as_str().expect("next_key").to_string();
    assert_eq!(ids(&query_json(&cli, &["datanet", "contributions", "1", "--limit", "2", "--page-key", &next])["contributions"]), ["3"]);
    assert_eq!(ids(&query_json(&cli, &["datanet", "datanets", "--tag", "qa"])["datanets"]), ["1"]);
    let versions = query_json(&cli, &["datanet", "versions", "1"]);
    let numbers: Vec<&str> =
        versions["versions"].as_array().expect("versions").iter().map(|v| v["version"].as_str().expect("version")).collect();
    assert_eq!(numbers, ["1", "2"]);
    let err = fails(&cli, &["q", "datanet", "datanet", "9"]);
    assert!(err.contains("NotFound"), "{err}");
    step(t0, "version 2 published; queries agree; done");
    procs.assert_alive();
}
