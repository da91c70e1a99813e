//! The `openledger keys` commands as a user runs them: the encrypted file keyring with
//! the passphrase on stdin, recovery from a mnemonic, show -a, list, delete, and the
//! one-line errors for bad input.
use std::io::Write;
use std::process::{Command, Output, Stdio};

fn cli(home: &std::path::Path, args: &[&str], stdin: &str) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_openledger"));
    cmd.args(args);
    if matches!(args.first(), Some(&"keys") | Some(&"tx")) {
        cmd.arg("--home").arg(home);
    }
    let mut child = cmd
        .env_remove("OPENLEDGER_KEYRING_BACKEND")
        .env_remove("OPENLEDGER_HOME")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run openledger");
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).trim().to_string()
}

const MNEMONIC: &str = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about";

#[test]
fn file_keyring_add_recover_show_list_delete() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();

    let add = cli(h, &["keys", "add", "alice"], "correct horse battery\n");
    assert!(add.status.success(), "{}", stderr(&add));
    let words = stdout(&add).lines().last().unwrap().split_whitespace().count();
    assert_eq!(words, 24, "a new key prints its 24-word mnemonic");

    let rec = cli(h, &["keys", "add", "bob", "--recover"], &format!("{MNEMONIC}\ncorrect horse battery\n"));
    assert!(rec.status.success(), "{}", stderr(&rec));
    let bob = cli(h, &["keys", "show", "bob", "-a"], "");
    // The Cosmos address of this mnemonic is cosmos19rl4cm2hmr8afy4kldpxz3fka4jguq0auqdal4;
    // same 20 bytes, prefix open.
    let addr = stdout(&bob).trim().to_string();
    assert!(addr.starts_with("open1"), "{addr}");
    let (_, data) = bech32::decode(&addr).unwrap();
    let (_, cosmos) = bech32::decode("cosmos19rl4cm2hmr8afy4kldpxz3fka4jguq0auqdal4").unwrap();
    assert_eq!(data, cosmos);

    let list = stdout(&cli(h, &["keys", "list"], ""));
    assert!(list.contains("name: alice") && list.contains("name: bob"), "{list}");
    assert!(!std::fs::read_to_string(h.join("keyring-file/bob.json")).unwrap().contains("privkey"), "file keyring is encrypted");

    let del = cli(h, &["keys", "delete", "bob", "-y"], "");
    assert!(del.status.success(), "{}", stderr(&del));
    let gone = cli(h, &["keys", "show", "bob"], "");
    assert!(!gone.status.success());
    assert_eq!(stderr(&gone).lines().count(), 1, "{}", stderr(&gone));
    assert!(stderr(&gone).contains("not found"), "{}", stderr(&gone));
}

#[test]
fn bad_input_gives_one_line_and_a_non_zero_exit() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let cases: Vec<(Vec<&str>, &str, &str)> = vec![
        (vec!["keys", "add", "x"], "short\n", "at least 8"),
        (vec!["keys", "add", "../evil"], "correct horse battery\n", "name"),
        (vec!["keys", "add", "y", "--recover"], "abandon abandon\ncorrect horse battery\n", "mnemonic"),
        (vec!["keys", "show", "nobody"], "", "not found"),
        (vec!["keys", "list", "--keyring-backend", "vault"], "", "unknown keyring backend"),
        (vec!["q", "bank", "balances", "open1notanaddress", "--grpc", "http://127.0.0.1:1"], "", "invalid"),
    ];
    for (args, input, needle) in cases {
        let o = cli(h, &args, input);
        let err = stderr(&o);
        assert!(!o.status.success(), "{args:?} succeeded");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.to_lowercase().contains(needle), "{args:?}: {err}");
    }
}
