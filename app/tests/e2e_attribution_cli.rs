//! Proof of attribution end to end, as users run it: the `openledger` CLI against
//! `openledgerd dev` and a real CometBFT v0.38 on loopback. A datanet with two
//! contributions, a model on its version 1, a paid inference, a verifiable report
//! computed from the output file, a challenge naming the contribution it left out,
//! claims, and the books.
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
        ],
    );
    for (who, f) in [("carol", &files[0]), ("frank", &files[1])] {
        tx(&cli, &["tx", "datanet", "contribute", "1", "--file", f, "--uri", "ipfs://x", "--from", who]);
    }
    for id in ["1", "2"] {
        tx(&cli, &["tx", "datanet", "review", id, "accept", "--quality-bps", "8000", "--from", "bob"]);
    }
    tx(&cli, &["tx", "datanet", "publish", "1", "--from", "bob"]);
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
            "4000,4000,1000,1000",
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

    // dave reports contribution 1 only, verifiably (the CLI fingerprints the output).
    let evidence = write("evidence.json", "{\"retrieved\": [1]}");
    let v = tx(
        &cli,
        &[
            "tx",
            "attribution",
            "attribute",
            "1",
            "--entry",
            "1:6000",
            "--evidence-file",
            &evidence,
            "--output-file",
            &out_file,
            "--from",
            "dave",
        ],
    );
    let s = &first_response(&v)["settlement"];
    // 40% owner, 10% datanet owner (alice), 10% protocol; contributors' 40,000: 60% (the
    // only scored entry keeps the whole 60%) to contribution 1, 16,000 to the pool.
    assert_eq!(
        [&s["model_owner"], &s["datanet_owners"], &s["protocol"], &s["contributor_credits"], &s["version_pools"]]
            .map(|x| x.as_str().unwrap_or("0").to_string()),
        ["40000", "10000", "10000", "24000", "16000"].map(String::from),
        "{v}"
    );
    let score_1: u64 = first_response(&v)["scores"][0].as_str().expect("score").parse().expect("score");
    assert!(score_1 > 0, "{v}");
    step(t0, &format!("inference 1 settled by a verifiable report (score {score_1})"));

    // bob challenges with contribution 2, which the report left out and which scores
    // higher: 10% of the 100 OPEN bond, half to bob, half credited to contribution 2.
    let bob_before = cli_uopen(&cli, &addr("bob"));
    let v = tx(&cli, &["tx", "attribution", "challenge", "1", "2", "--from", "bob"]);
    let r = first_response(&v);
    assert_eq!(
        (r["slashed"].as_str(), r["paid_to_challenger"].as_str(), r["credited_to_contribution"].as_str()),
        (Some("10000000"), Some("5000000"), Some("5000000")),
        "{v}"
    );
    assert!(r["score"].as_str().unwrap().parse::<u64>().unwrap() > score_1, "{v}");
    assert_eq!(cli_uopen(&cli, &addr("bob")), bob_before + 5_000_000 - FEE);
    let out = cli.run(&["tx", "attribution", "challenge", "1", "2", "--from", "bob", "--gas", "2000000", "--chain-id", DEV_CHAIN_ID, "-y"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("already challenged successfully"), "{err}");

    // Claimable, then claims: the pool's 16,000 splits 8,000 / 8,000 (equal weights).
    let cl = query_json(&cli, &["attribution", "claimable", &addr("carol")]);
    assert_eq!(
        (cl["contributions"][0]["credit"].as_str(), cl["contributions"][0]["pools"].as_str(), cl["total"].as_str()),
        (Some("24000"), Some("8000"), Some("32000")),
        "{cl}"
    );
    for (who, expect) in [("carol", 32_000u128), ("frank", 5_008_000)] {
        let before = cli_uopen(&cli, &addr(who));
        tx(&cli, &["tx", "attribution", "claim", "--from", who]);
        assert_eq!(cli_uopen(&cli, &addr(who)), before + expect - FEE, "{who}");
    }
    let books = query_json(&cli, &["attribution", "accounting"]);
    let a = &books["accounting"];
    // Paid in: the fee and the 5,000,000 slashed into contribution 2's credit.
    assert_eq!(
        [&a["paid_in"], &a["paid_out"], &a["escrowed"], &a["credits_outstanding"], &a["pools_outstanding"]]
            .map(|x| x.as_str().unwrap_or("0").to_string()),
        ["5100000", "5100000", "0", "0", "0"].map(String::from),
        "{books}"
    );
    let stats = query_json(&cli, &["attribution", "model-stats", "1"]);
    assert_eq!((stats["stats"]["inferences"].as_str(), stats["stats"]["challenges_upheld"].as_str()), (Some("1"), Some("1")), "{stats}");
    let earnings = query_json(&cli, &["attribution", "earnings", "2"]);
    assert_eq!(earnings["history"].as_array().map(Vec::len), Some(2), "challenge credit and claim: {earnings}");
    let inf = cli.ok(&["q", "attribution", "inference", "1"]);
    assert!(inf.contains("status: INFERENCE_STATUS_SETTLED_REPORTED") && inf.contains("challenged_by_contribution: \"2\""), "{inf}");
    step(t0, "challenge upheld, claims paid, books balanced; done");
    procs.assert_alive();
}
