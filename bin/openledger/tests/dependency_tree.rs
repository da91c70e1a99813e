//! A wallet links no storage: the normal dependency tree of the CLI (and of the client
//! and types crates it is built from) holds no RocksDB, no cnidarium and no ABCI
//! server. Asked of Cargo itself (`cargo tree`), so a new dependency that drags storage
//! in fails here, not in a user's build.
use std::process::Command;

/// The package names in `package`'s normal (non-dev, non-build) dependency tree.
fn normal_dependencies(package: &str) -> Vec<String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let manifest = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../Cargo.toml");
    let out = Command::new(&cargo)
        .args(["tree", "--quiet", "-e", "normal", "--prefix", "none", "--format", "{p}", "-p", package])
        .arg("--manifest-path")
        .arg(&manifest)
        .output()
        .expect("run cargo tree");
    assert!(out.status.success(), "cargo tree -p {package} failed:\n{}", String::from_utf8_lossy(&out.stderr));
    let names: Vec<String> =
        String::from_utf8_lossy(&out.stdout).lines().filter_map(|l| l.split_whitespace().next()).map(str::to_string).collect();
    assert!(names.iter().any(|n| n == package), "cargo tree -p {package} did not list {package} itself: {names:?}");
    names
}

#[test]
fn the_cli_client_and_types_trees_hold_no_storage() {
    let storage = ["rocksdb", "librocksdb-sys", "cnidarium", "jmt", "tendermint-abci"];
    for package in ["openledger-cli", "openledger-client", "openledger-types", "openledger-loadgen"] {
        let names = normal_dependencies(package);
        let found: Vec<&String> = names.iter().filter(|n| storage.contains(&n.as_str())).collect();
        assert!(found.is_empty(), "{package} depends on storage crates {found:?}");
        // Nor on a state-machine crate, which would bring storage back on its next change.
        let chain_crates = [
            "openledger-framework",
            "openledger-token",
            "openledger-datanet",
            "openledger-model",
            "openledger-attribution",
            "openledger-app",
            "openledgerd",
        ];
        let chain: Vec<&String> = names.iter().filter(|n| chain_crates.contains(&n.as_str())).collect();
        assert!(chain.is_empty(), "{package} depends on chain crates {chain:?}");
    }
}
