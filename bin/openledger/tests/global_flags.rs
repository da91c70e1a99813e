//! `--home`, `--keyring-backend`, `--node`, `--grpc` and `-o/--output` are global, as in
//! Cosmos CLIs: each one means the same before the subcommand, between subcommands and
//! after the arguments. Offline: the node flags point at a closed port, so the answer
//! is the error naming the endpoint that was used.
use std::process::{Command, Output, Stdio};

/// Run `openledger` with no OPENLEDGER_* variables set, so only the flags count.
fn cli(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_openledger"))
        .args(args)
        .env_remove("OPENLEDGER_HOME")
        .env_remove("OPENLEDGER_KEYRING_BACKEND")
        .env_remove("OPENLEDGER_NODE")
        .env_remove("OPENLEDGER_GRPC")
        .stdin(Stdio::null())
        .output()
        .expect("run openledger")
}

fn ok(args: &[&str]) -> String {
    let o = cli(args);
    assert!(o.status.success(), "openledger {args:?}: {}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn err(args: &[&str]) -> String {
    let o = cli(args);
    assert!(!o.status.success(), "openledger {args:?} succeeded");
    String::from_utf8_lossy(&o.stderr).trim().to_string()
}

#[test]
fn keyring_flags_work_before_and_after_the_subcommand() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path().to_str().unwrap();
    ok(&["--home", h, "--keyring-backend", "test", "keys", "add", "alice"]);
    let before = ok(&["--home", h, "--keyring-backend", "test", "keys", "show", "alice", "-a"]);
    let between = ok(&["keys", "--home", h, "--keyring-backend", "test", "show", "alice", "-a"]);
    let after = ok(&["keys", "show", "alice", "-a", "--home", h, "--keyring-backend", "test"]);
    let mixed = ok(&["--home", h, "keys", "show", "alice", "-a", "--keyring-backend", "test"]);
    assert!(before.trim().starts_with("open1"), "{before}");
    assert_eq!(before, between);
    assert_eq!(before, after);
    assert_eq!(before, mixed);
    // The test backend was used in every position: the key is in keyring-test/.
    assert!(home.path().join("keyring-test/alice.json").exists());
    // A flag before the subcommand is not ignored: another home has no alice.
    let other = tempfile::tempdir().unwrap();
    let e = err(&["--home", other.path().to_str().unwrap(), "--keyring-backend", "test", "keys", "show", "alice"]);
    assert!(e.contains("not found"), "{e}");
}

#[test]
fn node_flags_work_before_and_after_the_subcommand() {
    let grpc = "http://127.0.0.1:1";
    for args in
        [vec!["--grpc", grpc, "q", "bank", "total"], vec!["q", "--grpc", grpc, "bank", "total"], vec!["q", "bank", "total", "--grpc", grpc]]
    {
        let e = err(&args);
        assert!(e.contains("cannot reach gRPC at http://127.0.0.1:1"), "{args:?}: {e}");
    }
    let node = "http://127.0.0.1:1";
    for args in [vec!["--node", node, "status"], vec!["status", "--node", node]] {
        let e = err(&args);
        assert!(e.contains("cannot reach the node at http://127.0.0.1:1"), "{args:?}: {e}");
    }
}

#[test]
fn output_flag_works_before_and_after_the_subcommand() {
    let json = ok(&["bench", "accounts", "--count", "2", "-o", "json"]);
    assert!(json.trim_start().starts_with('['), "{json}");
    assert_eq!(ok(&["-o", "json", "bench", "accounts", "--count", "2"]), json);
    assert_eq!(ok(&["--output", "json", "bench", "accounts", "--count", "2"]), json);
    assert_eq!(ok(&["bench", "-o", "json", "accounts", "--count", "2"]), json);
    let text = ok(&["bench", "accounts", "--count", "2"]);
    assert_eq!(text.lines().count(), 2, "{text}");
    assert!(text.starts_with("open1"), "{text}");
}
