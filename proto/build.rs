//! Compiles every .proto under this directory with protox (no system protoc) and
//! exports the file descriptor set, which the node serves through gRPC reflection.
use std::path::{Path, PathBuf};

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("proto dir readable")
        .map(|e| e.expect("dir entry").path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            collect(&p, out);
        } else if p.extension().is_some_and(|e| e == "proto") {
            out.push(p);
        }
    }
}

/// A prost config that implements `prost::Name` for every message, with type URLs
/// `/package.Message` as Cosmos uses them.
fn type_names() -> tonic_build::Config {
    let mut config = tonic_build::Config::new();
    config.enable_type_names();
    config.type_name_domain(["."], "");
    config
}

fn main() {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("manifest dir"));
    let mut files = Vec::new();
    for sub in ["cosmos", "openledger", "tendermint"] {
        collect(&root.join(sub), &mut files);
    }
    // The directories too: a new .proto file must rerun this script (watching only the
    // files found would miss it, and the build would look for code never generated).
    println!("cargo:rerun-if-changed=build.rs");
    for sub in ["cosmos", "openledger", "tendermint"] {
        println!("cargo:rerun-if-changed={}", root.join(sub).display());
    }
    for f in &files {
        println!("cargo:rerun-if-changed={}", f.display());
    }
    let rel: Vec<PathBuf> = files.iter().map(|f| f.strip_prefix(&root).expect("under root").to_path_buf()).collect();
    let fds = protox::compile(&rel, [&root]).expect("protos compile");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("out dir"));
    let mut bytes = Vec::new();
    prost::Message::encode(&fds, &mut bytes).expect("encode descriptor set");
    std::fs::write(out.join("descriptor.bin"), &bytes).expect("write descriptor set");

    // Genesis and params are read from JSON (`app_state`), in the Cosmos snake_case shape;
    // only those messages derive serde.
    let config = tonic_build::configure()
        .build_server(true)
        .build_client(true)
        .type_attribute(".openledger.auth.v1", "#[derive(serde::Serialize, serde::Deserialize)]")
        .type_attribute(".openledger.auth.v1", "#[serde(default)]")
        .field_attribute(".openledger.auth.v1.GenesisPubKey.type_url", "#[serde(rename = \"@type\")]")
        .field_attribute(".openledger.auth.v1.GenesisAccount.account_number", "#[serde(skip_serializing_if = \"crate::is_zero\")]")
        .field_attribute(".openledger.auth.v1.GenesisAccount.sequence", "#[serde(skip_serializing_if = \"crate::is_zero\")]")
        .field_attribute(".openledger.auth.v1.GenesisAccount.pub_key", "#[serde(skip_serializing_if = \"Option::is_none\")]");
    let mut config = config;
    for m in ["Params", "GenesisState", "GenesisBalance", "GenesisCoin", "ValidatorAccount"] {
        let path = format!(".openledger.token.v1.{m}");
        config = config
            .type_attribute(&path, "#[derive(serde::Serialize, serde::Deserialize)]")
            .type_attribute(&path, "#[serde(default)]");
    }
    config
        .type_attribute(".cosmos.base.v1beta1.Coin", "#[derive(serde::Serialize, serde::Deserialize)]")
        // Every message knows its full name and type URL (`prost::Name`): type URLs come
        // from the generated types, never from string tables.
        .compile_fds_with_config(type_names(), fds)
        .expect("generate rust");

    // Proto3 JSON (u64 as strings, enums by name, bytes as base64, snake_case field
    // names as in Cosmos genesis files) for the newer modules' genesis, CLI and REST.
    pbjson_build::Builder::new()
        .register_descriptors(&bytes)
        .expect("register descriptors")
        .preserve_proto_field_names()
        .build(&[".openledger.datanet", ".openledger.model", ".openledger.attribution", ".cosmos.base.query"])
        .expect("generate serde");
}
