//! Proof of attribution end to end, as users run it: the `openledger` CLI against
//! `openledgerd dev` and a real CometBFT v0.38 on loopback. A datanet with two
//! contributions, a model on its version 1, a paid inference, the consumer's signed
//! receipt of the output (made and checked by the CLI, a tampered copy refused), the
//! operator delivering it and the chain choosing and scoring the entries, a consumer
//! delivering its own receipt, claims, and the books.
//!
//! Needs `cometbft` and the CLI binary, as `e2e_cometbft.rs` says.
mod common;

use std::time::Instant;

use common::*;
use openledgerd::dev::DEV_CHAIN_ID;
use serde_json::Value;

const FEE: u128 = 25_000;

fn tx(cli: &Cli, args: &[&str]) -> Value {
    tx_json(cli, args, &["--gas", "1000000", "--fees", "25000uopen"])
}

/// ASCII text of exactly 800 bytes (bit length 10), starting with `start`.
fn text_800(start: &str, filler: &str) -> String {
    let mut s = start.to_string();
    let mut i = 0;
    while s.len() < 800 {
        s.push_str(&format!(" {filler}{i}"));
        i += 1;
    }
    s.truncate(800);
    s
}

#[test]
fn attribution_story_through_the_cli_on_a_real_cometbft_chain() {
    let t0 = Instant::now();
    let (_, _) = (cometbft_bin(), cli_bin()); // fail fast, before anything is started
    let mut procs = Procs::new();
    let home = procs.home.clone();
    let (_, _, chain) = spawn_dev(&mut procs, 0, t0);
    let cli = Cli { home: &home, ports: &chain.ports };
    chain.wait_height(&mut procs, 2);

    // alice owns the datanet and the model; bob curates and challenges; carol and frank
    // contribute; dave operates the model; erin pays for an inference.
    for k in ["carol", "dave", "erin", "frank"] {
        cli.ok(&["keys", "add", k]);
        cli.send("alice", &cli.address(k), 50_000_000, DEV_CHAIN_ID);
    }
    let addr = |k: &str| cli.address(k);
    let dir = tempfile::tempdir().expect("tempdir");
    let write = |name: &str, content: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, content).expect("write");
        p.display().to_string()
    };
    let output = text_800(
        "the normal resting heart rate of an adult is between sixty and one hundred beats per minute and athletes often have lower rates",
        "pulse",
    );
    let files = [
        // carol's shares only its first words with the output; frank's is the output's source.
        write("carol.txt", &text_800("the normal resting heart rate of an adult is between sixty and one hundred", "glucose")),
        write("frank.txt", &output),
    ];
    let out_file = write("output.txt", &output);

    tx(
        &cli,
        &[
            "tx",
            "datanet",
            "create",
            "--from",
            "alice",
            "--name",
            "Vitals",
            "--curator",
            "bob",
            "--min-stake",
            "10000uopen",
            "--fingerprint-modulus",
            "1",
            // Models must leave contributors 30%; curators get half of alice's share.
            "--min-contributors-bps",
            "3000",
            "--curators-bps",
            "5000",
        ],
    );
    for (who, f) in [("carol", &files[0]), ("frank", &files[1])] {
        tx(&cli, &["tx", "datanet", "contribute", "1", "--file", f, "--uri", "ipfs://x", "--from", who]);
    }
    tx(&cli, &["tx", "datanet", "bond-curator", "1", "10000000uopen", "--from", "bob"]);
    for id in ["1", "2"] {
        tx(&cli, &["tx", "datanet", "review", id, "accept", "--quality-bps", "8000", "--from", "bob"]);
    }
    tx(&cli, &["tx", "datanet", "publish", "1", "--from", "bob"]);
    // A copy of frank's text in capitals with doubled spaces is the same content to the
    // chain: refused, naming the contribution it duplicates.
    let variant = write("variant.txt", &output.to_uppercase().replace(' ', "  "));
    let err = failing_tx(&cli, &["tx", "datanet", "contribute", "1", "--file", &variant, "--uri", "ipfs://v", "--from", "carol"]);
    assert!(err.contains("near-duplicate of contribution 2"), "{err}");
    // A model leaving contributors 20% is below the datanet's terms: refused.
    let artifact = "ab".repeat(32);
    #[rustfmt::skip]
    let low = [
        "tx", "model", "register", "--from", "alice", "--name", "vitals-qa", "--artifact-hash", artifact.as_str(),
        "--artifact-uri", "ipfs://m", "--train", "1:1", "--operator", "dave", "--price", "100uopen",
        "--fee-split", "5000,2000,1000,1000,1000", "--bond", "100000000uopen",
    ];
    let err = failing_tx(&cli, &low);
    assert!(err.contains("requires a contributors' share of at least 3000 bps"), "{err}");
    // Nobody can pay into a module account by a plain send.
    let escrow = openledger_attribution::escrow().to_string();
    let err = failing_tx(&cli, &["tx", "bank", "send", "alice", &escrow, "1000uopen"]);
    assert!(err.contains("module account"), "{err}");
    tx(
        &cli,
        &[
            "tx",
            "model",
            "register",
            "--from",
            "alice",
            "--name",
            "vitals-qa",
            "--artifact-hash",
            &"ab".repeat(32),
            "--artifact-uri",
            "ipfs://m",
            "--train",
            "1:1",
            "--operator",
            "dave",
            "--price",
            "100uopen",
            "--fee-split",
            "3000,4000,1000,1000,1000",
            "--bond",
            "100000000uopen",
        ],
    );
    step(t0, "datanet with two accepted contributions, version 1, model 1");

    // erin pays 1,000 units at 100 uopen (the CLI reads the price for --max-fee).
    let v = tx(&cli, &["tx", "attribution", "pay", "1", "--units", "1000", "--from", "erin"]);
    assert_eq!(
        (first_response(&v)["inference_id"].as_str(), first_response(&v)["fee"]["amount"].as_str()),
        (Some("1"), Some("100000")),
        "{v}"
    );
    let books = query_json(&cli, &["attribution", "accounting"]);
    assert_eq!(books["accounting"]["escrowed"], "100000", "{books}");

    // erin signs a receipt of the output she received; anyone can check it.
    let receipt = dir.path().join("receipt.json").display().to_string();
    let dave = addr("dave");
    cli.ok(&["receipt", "make", "1", "--output-file", &out_file, "--from", "erin", "--operator", &dave, "--out", &receipt]);
    let checked = cli.ok(&["receipt", "check", &receipt, "--output-file", &out_file]);
    assert!(checked.contains("receipt ok") && checked.contains(&addr("erin")), "{checked}");
    // A copy whose fingerprint was swapped for carol's text is not erin's receipt.
    let mut forged: Value = serde_json::from_str(&std::fs::read_to_string(&receipt).expect("receipt")).expect("json");
    let carol_fp = openledger_datanet::fingerprint::compute(&std::fs::read_to_string(&files[0]).expect("carol"), 1, 1024).unwrap();
    forged["receipt"]["output_fingerprint"] = serde_json::json!(carol_fp.iter().map(|h| h.to_string()).collect::<Vec<_>>());
    let forged_path = write("forged.json", &forged.to_string());
    let out = cli.run(&["receipt", "check", &forged_path]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("NOT signed"), "{err}");
    // dave cannot make a receipt for erin's inference, nor deliver the forged one.
    let out = cli.run(&["receipt", "make", "1", "--output-file", &out_file, "--from", "dave"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("was paid by"), "{err}");
    let out = cli.run(&[
        "tx",
        "attribution",
        "attribute",
        "1",
        "--receipt-file",
        &forged_path,
        "--from",
        "dave",
        "--gas",
        "1000000",
        "--fees",
        "25000uopen",
        "--chain-id",
        DEV_CHAIN_ID,
        "-y",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("not signed by its consumer"), "{err}");

    // dave delivers erin's receipt; the chain chooses and scores the entries. The output
    // is frank's text; carol's shares its first 7 shingles, so those 7 count half (both
    // contributions have them), for carol, whose contribution brought them first; the
    // rest of frank's count whole.
    let dave_before = cli_uopen(&cli, &dave);
    let v = tx(&cli, &["tx", "attribution", "attribute", "1", "--receipt-file", &receipt, "--from", "dave"]);
    // dave served it and erin's receipt says so: the operator share, 10%.
    assert_eq!(cli_uopen(&cli, &dave), dave_before + 10_000 - FEE);
    let r = first_response(&v);
    let n_out = openledger_datanet::fingerprint::compute(&output, 1, 1024).unwrap().len() as u128;
    let (frank_score, carol_score) = ((n_out - 7) * 1_000_000, 7 * 500_000u128);
    let total = frank_score + carol_score;
    let entries: Vec<(String, String, String)> = r["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| {
            (
                e["contribution_id"].as_str().unwrap_or("").into(),
                e["score"].as_str().unwrap_or("").into(),
                e["amount"].as_str().unwrap_or("").into(),
            )
        })
        .collect();
    let (frank_amount, carol_amount) = (40_000 * frank_score / total, 40_000 * carol_score / total);
    assert_eq!(
        entries,
        vec![
            ("2".into(), frank_score.to_string(), frank_amount.to_string()),
            ("1".into(), carol_score.to_string(), carol_amount.to_string())
        ],
        "{v}"
    );
    let s = &r["settlement"];
    // 30% owner, 10% operator (dave), 10% datanet owner (alice), 10% protocol; the
    // contributors' 40,000 by score.
    assert_eq!(
        [&s["model_owner"], &s["operator"], &s["datanet_owners"], &s["protocol"], &s["contributor_credits"]]
            .map(|x| x.as_str().unwrap_or("0").to_string()),
        ["30000", "10000", "10000", "10000", &(frank_amount + carol_amount).to_string()].map(String::from),
        "{v}"
    );
    // In words, for the people paid.
    let why = cli.ok(&["q", "attribution", "explain", "inference", "1"]);
    for needle in [
        format!("delivered by {dave}"),
        format!("served by operator {dave}"),
        format!("contribution 2 (datanet 1, by {}): score {frank_score} of {total}", addr("frank")),
        format!("-> {carol_amount}uopen"),
    ] {
        assert!(why.contains(&needle), "explain inference lacks {needle:?}:\n{why}");
    }
    assert!(
        why.lines().any(|l| l.trim_start().starts_with("operator ") && l.ends_with(" 10000uopen  10.00%")),
        "the operator's line: {why}"
    );
    let why = cli.ok(&["q", "attribution", "explain", "contribution", "1"]);
    assert!(why.contains(&format!("+{carol_amount}uopen from inference 1 (score {carol_score} of {total}")), "{why}");
    assert!(why.contains("version pools: ") && why.contains("accrued in all"), "{why}");
    step(t0, &format!("inference 1 settled by erin's receipt (scores {frank_score}, {carol_score})"));

    // erin pays again and delivers her receipt herself, naming no operator: the
    // operator's 10% joins the contributors' share (50,000 by score).
    tx(&cli, &["tx", "attribution", "pay", "1", "--units", "1000", "--from", "erin"]);
    let v = tx(&cli, &["tx", "attribution", "receipt", "2", "--output-file", &out_file, "--from", "erin"]);
    let (frank_2, carol_2) = (50_000 * frank_score / total, 50_000 * carol_score / total);
    assert_eq!(first_response(&v)["entries"][0]["amount"].as_str(), Some(frank_2.to_string().as_str()), "{v}");
    let inf = cli.ok(&["q", "attribution", "inference", "2"]);
    assert!(inf.contains("status: INFERENCE_STATUS_SETTLED_REPORTED") && inf.contains(&format!("submitter: {}", addr("erin"))), "{inf}");

    // Claims: each contributor gets its two credits (and its share of any rounding in the pool).
    for (who, credits) in [("carol", carol_amount + carol_2), ("frank", frank_amount + frank_2)] {
        let before = cli_uopen(&cli, &addr(who));
        tx(&cli, &["tx", "attribution", "claim", "--from", who]);
        let got = cli_uopen(&cli, &addr(who)) + FEE - before;
        assert!(got >= credits && got <= credits + 2, "{who}: claimed {got}, credits {credits}");
    }
    // bob, the datanet's one bonded curator, earned half of alice's 10% of each fee.
    let before = cli_uopen(&cli, &addr("bob"));
    let v = tx(&cli, &["tx", "datanet", "claim-curator", "1", "--from", "bob"]);
    assert_eq!(first_response(&v)["amount"].as_str(), Some("10000"), "{v}");
    assert_eq!(cli_uopen(&cli, &addr("bob")), before + 10_000 - FEE);
    let books = query_json(&cli, &["attribution", "accounting"]);
    let a = &books["accounting"];
    let num = |k: &str| a[k].as_str().unwrap_or("0").parse::<u128>().expect("amount");
    assert_eq!((num("paid_in"), num("escrowed"), num("credits_outstanding")), (200_000, 0, 0), "{books}");
    assert_eq!(num("paid_in"), num("paid_out") + num("pools_outstanding"), "{books}");
    assert!(num("pools_outstanding") <= 2, "only rounding dust stays: {books}");
    step(t0, "receipts settled, claims paid, books balanced; done");
    procs.assert_alive();
}
