//! `openledger`: the command-line client. Cosmos conventions: `keys`, `tx`, `q`, `status`.
mod attribution_cmd;
mod bench_cmd;
mod broadcast;
mod content;
mod datanet_cmd;
mod model_cmd;
mod page;
mod watch_cmd;

use std::path::PathBuf;

use anyhow::{anyhow, bail, Context, Result};
use attribution_cmd::{AttributionQueryCmd, AttributionTxCmd, ReceiptCmd};
use broadcast::{confirm, parse_address, parse_uopen, passphrase_for, read_secret, Intent, TxFlags};
use clap::{Args, Parser, Subcommand};
use datanet_cmd::{DatanetQueryCmd, DatanetTxCmd, VerifyProof};
use model_cmd::{ModelQueryCmd, ModelTxCmd};
use openledger_client::keyring::{Backend, KeyRecord, Keyring};
use openledger_client::rpc::CometRpc;
use openledger_client::txbuilder;
use openledger_proto::cosmos::auth::v1beta1 as auth;
use openledger_proto::cosmos::bank::v1beta1 as bank;
use openledger_types::Address;
use prost::Message;
use serde_json::json;

#[derive(Parser)]
#[command(name = "openledger", version, about = "OpenLedger chain client")]
struct Cli {
    // Global: accepted before or after the subcommand, as Cosmos CLIs do
    // (`openledger --home H keys show alice` = `openledger keys show alice --home H`).
    #[command(flatten)]
    kr: KeyringOpts,
    #[command(flatten)]
    node: NodeOpts,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Args, Clone)]
struct KeyringOpts {
    /// Directory holding the keyring.
    #[arg(long, env = "OPENLEDGER_HOME", global = true)]
    home: Option<PathBuf>,
    /// file (encrypted with a passphrase) or test (unencrypted, for development).
    #[arg(long, env = "OPENLEDGER_KEYRING_BACKEND", default_value = "file", global = true)]
    keyring_backend: String,
}

impl KeyringOpts {
    fn keyring(&self) -> Result<Keyring> {
        let backend: Backend = self.keyring_backend.parse().map_err(|e| anyhow!("{e}"))?;
        let home = self
            .home
            .clone()
            .unwrap_or_else(|| std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from(".")).join(".openledger"));
        Ok(Keyring::open(&home, backend))
    }
}

#[derive(Args, Clone)]
pub struct NodeOpts {
    /// CometBFT RPC endpoint (`bench load` and `bench saturate`: several,
    /// comma-separated; txs are dealt over all of them).
    #[arg(long, env = "OPENLEDGER_NODE", default_value = "http://127.0.0.1:26657", global = true)]
    pub node: String,
    /// gRPC endpoint of openledgerd.
    #[arg(long, env = "OPENLEDGER_GRPC", default_value = "http://127.0.0.1:9090", global = true)]
    pub grpc: String,
    /// Output format: text or json.
    #[arg(short = 'o', long, default_value = "text", global = true)]
    pub output: String,
}

#[derive(Subcommand)]
#[allow(clippy::large_enum_variant)] // parsed once per run
enum Cmd {
    /// Manage keys.
    Keys {
        #[command(subcommand)]
        cmd: KeysCmd,
    },
    /// Sign and broadcast transactions.
    Tx {
        #[command(subcommand)]
        cmd: TxCmd,
    },
    /// Query chain state.
    #[command(alias = "query")]
    Q {
        #[command(subcommand)]
        cmd: QueryCmd,
    },
    /// Show the node's status.
    Status,
    /// Check a saved datanet inclusion proof offline (no node needed).
    VerifyProof(VerifyProof),
    /// Follow the node's block stream: one line per event (`-o json`: one JSON object),
    /// resuming after a restart from the last height printed.
    Watch {
        #[command(flatten)]
        args: watch_cmd::WatchArgs,
    },
    /// Inference receipts: a consumer signs what it received; anyone checks one.
    Receipt {
        #[command(subcommand)]
        cmd: ReceiptCmd,
    },
    /// Load generation: bench accounts, a load run at a fixed rate, a saturation search.
    Bench {
        #[command(subcommand)]
        cmd: bench_cmd::BenchCmd,
    },
}

#[derive(Subcommand)]
enum KeysCmd {
    /// Create a key (24-word mnemonic) or recover one with --recover.
    Add {
        name: String,
        /// Read a mnemonic from stdin instead of generating one.
        #[arg(long)]
        recover: bool,
    },
    /// List keys.
    List,
    /// Show a key.
    Show {
        name: String,
        /// Print only the address.
        #[arg(short = 'a', long)]
        address: bool,
    },
    /// Delete a key.
    Delete {
        name: String,
        /// Skip confirmation.
        #[arg(short = 'y', long)]
        yes: bool,
    },
}

#[derive(Subcommand)]
enum TxCmd {
    /// Bank transactions.
    Bank {
        #[command(subcommand)]
        cmd: BankTxCmd,
    },
    /// Datanets: create, contribute, review, publish versions, challenge.
    Datanet {
        #[command(subcommand)]
        cmd: DatanetTxCmd,
    },
    /// Models: register on datanet versions, update.
    Model {
        #[command(subcommand)]
        cmd: ModelTxCmd,
    },
    /// Proof of attribution: pay for inferences, deliver receipts, claim.
    Attribution {
        #[command(subcommand)]
        cmd: AttributionTxCmd,
    },
}

#[derive(Subcommand)]
enum BankTxCmd {
    /// Send AMOUNT (e.g. 1000uopen) from FROM (key name or address) to TO.
    Send {
        from: String,
        to: String,
        amount: String,
        #[command(flatten)]
        flags: TxFlags,
    },
}

#[derive(Subcommand)]
enum QueryCmd {
    Bank {
        #[command(subcommand)]
        cmd: BankQueryCmd,
    },
    Auth {
        #[command(subcommand)]
        cmd: AuthQueryCmd,
    },
    Datanet {
        #[command(subcommand)]
        cmd: DatanetQueryCmd,
    },
    Model {
        #[command(subcommand)]
        cmd: ModelQueryCmd,
    },
    Attribution {
        #[command(subcommand)]
        cmd: AttributionQueryCmd,
    },
}

#[derive(Subcommand)]
enum BankQueryCmd {
    /// All balances of an address.
    Balances { address: String },
    /// Total supply.
    Total,
}

#[derive(Subcommand)]
enum AuthQueryCmd {
    /// The account at an address.
    Account { address: String },
}

fn main() {
    let cli = Cli::parse();
    // The load generator sends on many lanes at once and signs on every core.
    let mut builder = if matches!(cli.cmd, Cmd::Bench { .. }) {
        tokio::runtime::Builder::new_multi_thread()
    } else {
        tokio::runtime::Builder::new_current_thread()
    };
    let rt = match builder.enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("Error: {e}");
            std::process::exit(1);
        }
    };
    if let Err(e) = rt.block_on(run(cli)) {
        eprintln!("Error: {e:#}");
        std::process::exit(1);
    }
}

async fn run(cli: Cli) -> Result<()> {
    let Cli { kr, node, cmd } = cli;
    match cmd {
        Cmd::Keys { cmd } => keys(kr.keyring()?, cmd),
        Cmd::Tx { cmd: TxCmd::Bank { cmd: BankTxCmd::Send { from, to, amount, flags } } } => {
            send(kr.keyring()?, &node, &from, &to, &amount, &flags).await
        }
        Cmd::Tx { cmd: TxCmd::Datanet { cmd } } => datanet_cmd::tx(kr.keyring()?, &node, cmd).await,
        Cmd::Tx { cmd: TxCmd::Model { cmd } } => model_cmd::tx(kr.keyring()?, &node, cmd).await,
        Cmd::Tx { cmd: TxCmd::Attribution { cmd } } => attribution_cmd::tx(kr.keyring()?, &node, cmd).await,
        Cmd::Q { cmd } => query(&node, cmd).await,
        Cmd::VerifyProof(args) => datanet_cmd::verify_proof(args),
        Cmd::Watch { args } => watch_cmd::watch(&node, args).await,
        Cmd::Receipt { cmd } => attribution_cmd::receipt(kr.keyring()?, &node, cmd).await,
        Cmd::Bench { cmd } => bench_cmd::run(cmd, &node).await,
        Cmd::Status => {
            let s = CometRpc::new(&node.node).status().await?;
            println!("{}", serde_json::to_string_pretty(&s)?);
            Ok(())
        }
    }
}

fn print_key(k: &KeyRecord) {
    println!("- address: {}", k.address);
    println!("  name: {}", k.name);
    println!("  pubkey: '{{\"@type\":\"/cosmos.crypto.secp256k1.PubKey\",\"key\":\"{}\"}}'", base64_encode(&k.pubkey));
    println!("  type: local");
}

fn base64_encode(b: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(b)
}

fn keys(kr: Keyring, cmd: KeysCmd) -> Result<()> {
    match cmd {
        KeysCmd::Add { name, recover } => {
            let mnemonic = if recover { Some(read_secret("Enter your bip39 mnemonic: ")?) } else { None };
            let pass = passphrase_for(&kr, true)?;
            let (k, phrase) = kr.add(&name, mnemonic.as_deref(), pass.as_deref())?;
            print_key(&k);
            if !recover {
                println!();
                println!("**Important** write this mnemonic phrase in a safe place.");
                println!("It is the only way to recover your account if you ever forget your password.");
                println!();
                println!("{phrase}");
            }
            Ok(())
        }
        KeysCmd::List => {
            let keys = kr.list()?;
            if keys.is_empty() {
                println!("No records were found in keyring");
            }
            for k in keys {
                print_key(&k);
            }
            Ok(())
        }
        KeysCmd::Show { name, address } => {
            let k = kr.resolve(&name)?;
            if address {
                println!("{}", k.address);
            } else {
                print_key(&k);
            }
            Ok(())
        }
        KeysCmd::Delete { name, yes } => {
            kr.show(&name)?;
            if !yes && !confirm("Key reference will be deleted. Continue? [y/N]: ")? {
                bail!("aborted");
            }
            kr.delete(&name)?;
            println!("Key deleted forever (uh oh!)");
            Ok(())
        }
    }
}

/// An address, or the address of a key in the keyring.
pub fn resolve_address(kr: &Keyring, s: &str) -> Result<Address> {
    match Address::parse(s) {
        Ok(a) => Ok(a),
        Err(_) => Ok(kr.resolve(s)?.address),
    }
}

async fn send(kr: Keyring, node: &NodeOpts, from: &str, to: &str, amount: &str, flags: &TxFlags) -> Result<()> {
    let key = kr.resolve(from)?;
    let to = parse_address(to, "recipient")?;
    let amount = parse_uopen(amount, "amount")?;
    if amount == 0 {
        bail!("invalid amount: must be positive");
    }
    let intent = Intent {
        msgs: vec![txbuilder::msg_send(&key.address, &to, amount)],
        spend: amount,
        summary: format!("send {amount}uopen from {} to {to}", key.address),
    };
    broadcast::broadcast(&kr, node, &key, intent, flags).await.map(|_| ())
}

async fn query(node: &NodeOpts, cmd: QueryCmd) -> Result<()> {
    let connect_err = || format!("cannot reach gRPC at {} (is openledgerd running? see --grpc)", node.grpc);
    let json_out = node.output == "json";
    match cmd {
        QueryCmd::Bank { cmd: BankQueryCmd::Balances { address } } => {
            let addr = parse_address(&address, "")?;
            let mut c = bank::query_client::QueryClient::connect(node.grpc.clone()).await.with_context(connect_err)?;
            let r = c
                .all_balances(bank::QueryAllBalancesRequest { address: addr.to_string(), ..Default::default() })
                .await
                .map_err(|s| anyhow!("{}", s.message()))?
                .into_inner();
            let balances: Vec<_> = r.balances.iter().map(|c| json!({"amount": c.amount, "denom": c.denom})).collect();
            if json_out {
                println!("{}", json!({"balances": balances, "pagination": {"next_key": null, "total": "0"}}));
            } else if r.balances.is_empty() {
                println!("balances: []");
            } else {
                println!("balances:");
                for c in &r.balances {
                    println!("- amount: \"{}\"\n  denom: {}", c.amount, c.denom);
                }
            }
            Ok(())
        }
        QueryCmd::Bank { cmd: BankQueryCmd::Total } => {
            let mut c = bank::query_client::QueryClient::connect(node.grpc.clone()).await.with_context(connect_err)?;
            let r = c.total_supply(bank::QueryTotalSupplyRequest::default()).await.map_err(|s| anyhow!("{}", s.message()))?.into_inner();
            for c in &r.supply {
                if json_out {
                    println!("{}", json!({"amount": c.amount, "denom": c.denom}));
                } else {
                    println!("- amount: \"{}\"\n  denom: {}", c.amount, c.denom);
                }
            }
            Ok(())
        }
        QueryCmd::Datanet { cmd } => datanet_cmd::query(node, cmd).await,
        QueryCmd::Model { cmd } => model_cmd::query(node, cmd).await,
        QueryCmd::Attribution { cmd } => attribution_cmd::query(node, cmd).await,
        QueryCmd::Auth { cmd: AuthQueryCmd::Account { address } } => {
            let addr = parse_address(&address, "")?;
            let mut c = auth::query_client::QueryClient::connect(node.grpc.clone()).await.with_context(connect_err)?;
            let r = match c.account(auth::QueryAccountRequest { address: addr.to_string() }).await {
                Ok(r) => r.into_inner(),
                Err(s) => bail!("rpc error: code = {:?} desc = {}", s.code(), s.message()),
            };
            let any = r.account.ok_or_else(|| anyhow!("empty answer"))?;
            let (acct, type_url) = if any.type_url.ends_with("ModuleAccount") {
                let m = auth::ModuleAccount::decode(any.value.as_slice())?;
                (m.base_account.unwrap_or_default(), any.type_url.clone())
            } else {
                (auth::BaseAccount::decode(any.value.as_slice())?, any.type_url.clone())
            };
            let pk = acct.pub_key.as_ref().map(|k| {
                #[derive(Clone, PartialEq, prost::Message)]
                struct KeyBytes {
                    #[prost(bytes = "vec", tag = "1")]
                    key: Vec<u8>,
                }
                let key = KeyBytes::decode(k.value.as_slice()).map(|k| base64_encode(&k.key)).unwrap_or_default();
                json!({"@type": k.type_url, "key": key})
            });
            let v = json!({"account": {"type": type_url, "value": {
                "account_number": acct.account_number.to_string(),
                "address": acct.address,
                "pub_key": pk,
                "sequence": acct.sequence.to_string(),
            }}});
            if json_out {
                println!("{v}");
            } else {
                println!(
                    "account:\n  type: {type_url}\n  value:\n    account_number: \"{}\"\n    address: {}",
                    acct.account_number, acct.address
                );
                match &pk {
                    Some(p) => println!(
                        "    pub_key:\n      '@type': {}\n      key: {}",
                        p["@type"].as_str().unwrap_or(""),
                        p["key"].as_str().unwrap_or("")
                    ),
                    None => println!("    pub_key: null"),
                }
                println!("    sequence: \"{}\"", acct.sequence);
            }
            Ok(())
        }
    }
}
