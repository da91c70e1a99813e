//! `openledger`: the command-line client. Cosmos conventions: `keys`, `tx`, `q`, `status`.
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use openledger_cli::keyring::{Backend, KeyRecord, Keyring};
use openledger_cli::rpc::CometRpc;
use openledger_cli::txbuilder::{self, SignerKey, TxSpec};
use openledger_framework::amount::{fee_for_gas, parse_coin, parse_decimal, parse_gas_price, DECIMAL_ONE};
use openledger_framework::Address;
use openledger_proto::cosmos::auth::v1beta1 as auth;
use openledger_proto::cosmos::bank::v1beta1 as bank;
use prost::Message;
use serde_json::json;

#[derive(Parser)]
#[command(name = "openledger", version, about = "OpenLedger chain client")]
struct Cli {
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
        let home = self.home.clone().unwrap_or_else(|| {
            std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from(".")).join(".openledger")
        });
        Ok(Keyring::open(&home, backend))
    }
}

#[derive(Args, Clone)]
struct NodeOpts {
    /// CometBFT RPC endpoint.
    #[arg(long, env = "OPENLEDGER_NODE", default_value = "http://127.0.0.1:26657", global = true)]
    node: String,
    /// gRPC endpoint of openledgerd.
    #[arg(long, env = "OPENLEDGER_GRPC", default_value = "http://127.0.0.1:9090", global = true)]
    grpc: String,
    /// Output format: text or json.
    #[arg(short = 'o', long, default_value = "text", global = true)]
    output: String,
}

#[derive(Subcommand)]
#[allow(clippy::large_enum_variant)] // parsed once per run
enum Cmd {
    /// Manage keys.
    Keys {
        #[command(flatten)]
        kr: KeyringOpts,
        #[command(subcommand)]
        cmd: KeysCmd,
    },
    /// Sign and broadcast transactions.
    Tx {
        #[command(flatten)]
        kr: KeyringOpts,
        #[command(flatten)]
        node: NodeOpts,
        #[command(subcommand)]
        cmd: TxCmd,
    },
    /// Query chain state.
    #[command(alias = "query")]
    Q {
        #[command(flatten)]
        node: NodeOpts,
        #[command(subcommand)]
        cmd: QueryCmd,
    },
    /// Show the node's status.
    Status {
        #[command(flatten)]
        node: NodeOpts,
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
}

#[derive(Args)]
struct TxFlags {
    #[arg(long)]
    chain_id: String,
    /// Fee, e.g. 5000uopen.
    #[arg(long, conflicts_with = "gas_prices")]
    fees: Option<String>,
    /// Gas price, e.g. 0.025uopen (fee = gas × price, rounded up).
    #[arg(long)]
    gas_prices: Option<String>,
    /// Gas limit, or `auto` to simulate.
    #[arg(long, default_value = "200000")]
    gas: String,
    #[arg(long, default_value = "1.3")]
    gas_adjustment: String,
    #[arg(long, default_value = "")]
    note: String,
    /// Skip the confirmation prompt.
    #[arg(short = 'y', long)]
    yes: bool,
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
    let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
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
    match cli.cmd {
        Cmd::Keys { kr, cmd } => keys(kr.keyring()?, cmd),
        Cmd::Tx { kr, node, cmd: TxCmd::Bank { cmd: BankTxCmd::Send { from, to, amount, flags } } } => {
            send(kr.keyring()?, &node, &from, &to, &amount, &flags).await
        }
        Cmd::Q { node, cmd } => query(&node, cmd).await,
        Cmd::Status { node } => {
            let s = CometRpc::new(&node.node).status().await?;
            println!("{}", serde_json::to_string_pretty(&s)?);
            Ok(())
        }
    }
}

fn read_secret(prompt: &str) -> Result<String> {
    if std::io::stdin().is_terminal() {
        rpassword::prompt_password(prompt).context("reading passphrase")
    } else {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        Ok(line.trim_end_matches(['\n', '\r']).to_string())
    }
}

fn passphrase_for(kr: &Keyring, confirm: bool) -> Result<Option<String>> {
    if kr.backend() == Backend::Test {
        return Ok(None);
    }
    let p = read_secret("Enter keyring passphrase (attempt 1/1): ")?;
    if confirm && std::io::stdin().is_terminal() {
        let again = read_secret("Re-enter keyring passphrase: ")?;
        if again != p {
            bail!("passphrases do not match");
        }
    }
    Ok(Some(p))
}

/// Ask a yes/no question on stderr; only y/yes counts as yes.
fn confirm(prompt: &str) -> Result<bool> {
    eprint!("{prompt}");
    std::io::stderr().flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(matches!(line.trim(), "y" | "Y" | "yes"))
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

fn parse_address(s: &str, what: &str) -> Result<Address> {
    Address::parse(s).map_err(|e| anyhow!("invalid {what} address: {e}"))
}

fn parse_uopen(s: &str, what: &str) -> Result<u128> {
    let (amount, denom) = parse_coin(s).map_err(|e| anyhow!("invalid {what}: {e}"))?;
    if denom != txbuilder::DENOM {
        bail!("invalid {what} {s:?}: the only denom is {}", txbuilder::DENOM);
    }
    Ok(amount)
}

async fn account_info(grpc: &str, addr: &Address) -> Result<auth::BaseAccount> {
    let mut c = auth::query_client::QueryClient::connect(grpc.to_string())
        .await
        .with_context(|| format!("cannot reach gRPC at {grpc} (is openledgerd running? see --grpc)"))?;
    let resp = match c.account(auth::QueryAccountRequest { address: addr.to_string() }).await {
        Ok(r) => r.into_inner(),
        Err(s) if s.code() == tonic::Code::NotFound => {
            bail!("account {addr} not found on chain: it has never received funds")
        }
        Err(s) => bail!("querying account {addr}: {}", s.message()),
    };
    let any = resp.account.ok_or_else(|| anyhow!("empty account answer"))?;
    auth::BaseAccount::decode(any.value.as_slice()).context("decoding account")
}

async fn send(kr: Keyring, node: &NodeOpts, from: &str, to: &str, amount: &str, flags: &TxFlags) -> Result<()> {
    let key = kr.resolve(from)?;
    let to = parse_address(to, "recipient")?;
    let amount = parse_uopen(amount, "amount")?;
    if amount == 0 {
        bail!("invalid amount: must be positive");
    }
    let rpc = CometRpc::new(&node.node);
    let network = rpc.chain_id().await?;
    if network != flags.chain_id {
        bail!("wrong chain id: the node at {} is on {network:?}, --chain-id is {:?}", node.node, flags.chain_id);
    }
    let acct = account_info(&node.grpc, &key.address).await?;
    let pass = passphrase_for(&kr, false)?;
    let signer = SignerKey::Secp256k1(kr.signing_key(&key.name, pass.as_deref())?);
    let mut spec = TxSpec::new(vec![txbuilder::msg_send(&key.address, &to, amount)], 0, 0);
    spec.memo = flags.note.clone();

    let price = match &flags.gas_prices {
        Some(p) => parse_gas_price(p, txbuilder::DENOM).map_err(|e| anyhow!("--gas-prices: {e}"))?,
        None => 25 * DECIMAL_ONE / 1000, // 0.025uopen, the default minimum
    };
    let explicit_fee = flags.fees.as_deref().map(|f| parse_uopen(f, "--fees")).transpose()?;
    let gas = if flags.gas == "auto" {
        // Simulate the tx as it will be sent: with a fee (moving it costs gas) and a
        // signature-sized placeholder (size costs gas).
        spec.gas_limit = 10_000_000;
        spec.fee = explicit_fee.unwrap_or_else(|| fee_for_gas(200_000, price));
        let sim = cosmos_sdk_proto::cosmos::tx::v1beta1::SimulateRequest {
            tx_bytes: txbuilder::unsigned_tx(&spec, &signer, acct.sequence),
            ..Default::default()
        };
        let r = rpc.abci_query("/cosmos.tx.v1beta1.Service/Simulate", &sim.encode_to_vec(), 0).await?;
        if r.code != 0 {
            bail!("{}", r.log.trim_start_matches("rpc error: code = InvalidArgument desc = "));
        }
        let resp = cosmos_sdk_proto::cosmos::tx::v1beta1::SimulateResponse::decode(r.value.as_slice())?;
        let used = resp.gas_info.map_or(0, |g| g.gas_used);
        let adjustment = parse_decimal(&flags.gas_adjustment).map_err(|e| anyhow!("--gas-adjustment: {e}"))?;
        u64::try_from(fee_for_gas(used, adjustment)).unwrap_or(u64::MAX)
    } else {
        flags.gas.parse::<u64>().map_err(|_| anyhow!("invalid --gas {:?}: a number or auto", flags.gas))?
    };
    spec.gas_limit = gas;
    spec.fee = explicit_fee.unwrap_or_else(|| fee_for_gas(gas, price));
    // A send that cannot be paid would be included, fail, and still cost the fee:
    // refuse it here, with one line.
    let balance = {
        let mut c = bank::query_client::QueryClient::connect(node.grpc.clone()).await.with_context(|| format!("cannot reach gRPC at {}", node.grpc))?;
        let r = c
            .balance(bank::QueryBalanceRequest { address: key.address.to_string(), denom: txbuilder::DENOM.into() })
            .await
            .map_err(|s| anyhow!("{}", s.message()))?
            .into_inner();
        r.balance.map_or(0, |c| c.amount.parse::<u128>().unwrap_or(0))
    };
    let needed = amount.saturating_add(spec.fee);
    if balance < needed {
        bail!("insufficient funds: {} has {balance}uopen, the send needs {needed}uopen ({amount}uopen + {}uopen fee)", key.name, spec.fee);
    }
    if !flags.yes {
        eprintln!("send {amount}uopen from {} to {to} (fee {}uopen, gas {gas}) on {network}", key.address, spec.fee);
        if !confirm("confirm transaction before signing and broadcasting [y/N]: ")? {
            bail!("canceled transaction");
        }
    }
    let tx = txbuilder::sign_tx(&spec, &signer, &flags.chain_id, acct.account_number, acct.sequence);
    let (hash, code, codespace, log) = rpc.broadcast_sync(&tx).await?;
    if code != 0 {
        bail!("tx rejected: {log} (codespace {codespace}, code {code})");
    }
    let result = rpc.wait_for_tx(&hash, Duration::from_secs(60)).await?;
    if node.output == "json" {
        println!("{}", serde_json::to_string_pretty(&result)?);
    } else {
        println!("txhash: {}", result.txhash);
        println!("height: {}", result.height);
        println!("code: {}", result.code);
        println!("gas_wanted: {}", result.gas_wanted);
        println!("gas_used: {}", result.gas_used);
        if result.code != 0 {
            println!("codespace: {}", result.codespace);
            println!("raw_log: {}", result.raw_log);
        }
    }
    if result.code != 0 {
        bail!("tx {} failed at height {}: {} (codespace {}, code {})", result.txhash, result.height, result.raw_log, result.codespace, result.code);
    }
    Ok(())
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
                println!("account:\n  type: {type_url}\n  value:\n    account_number: \"{}\"\n    address: {}", acct.account_number, acct.address);
                match &pk {
                    Some(p) => println!("    pub_key:\n      '@type': {}\n      key: {}", p["@type"].as_str().unwrap_or(""), p["key"].as_str().unwrap_or("")),
                    None => println!("    pub_key: null"),
                }
                println!("    sequence: \"{}\"", acct.sequence);
            }
            Ok(())
        }
    }
}
