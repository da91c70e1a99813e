//! The one path every `tx` command takes: check the chain id, read the signer's account,
//! estimate gas (`--gas auto` simulates), check the signer can pay, confirm, sign
//! (SIGN_MODE_DIRECT), broadcast, wait for the block and print the result with the
//! decoded message responses.
use std::io::{BufRead, IsTerminal, Write};
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use clap::Args;
use cosmos_sdk_proto::Any;
use openledger_client::keyring::{Backend, KeyRecord, Keyring};
use openledger_client::output::{self, Format};
use openledger_client::responses;
use openledger_client::rpc::{CometRpc, TxResult};
use openledger_client::txbuilder::{self, SignerKey, TxSpec};
use openledger_proto::cosmos::auth::v1beta1 as auth;
use openledger_proto::cosmos::bank::v1beta1 as bank;
use openledger_types::amount::{fee_for_gas, parse_coin, parse_decimal, parse_gas_price, DECIMAL_ONE};
use openledger_types::Address;
use prost::Message;
use serde_json::Value;

use crate::NodeOpts;

#[derive(Args)]
pub struct TxFlags {
    #[arg(long)]
    pub chain_id: String,
    /// Fee, e.g. 5000uopen.
    #[arg(long, conflicts_with = "gas_prices")]
    pub fees: Option<String>,
    /// Gas price, e.g. 0.025uopen (fee = gas × price, rounded up).
    #[arg(long)]
    pub gas_prices: Option<String>,
    /// Gas limit, or `auto` to simulate.
    #[arg(long, default_value = "200000")]
    pub gas: String,
    #[arg(long, default_value = "1.3")]
    pub gas_adjustment: String,
    #[arg(long, default_value = "")]
    pub note: String,
    /// Skip the confirmation prompt.
    #[arg(short = 'y', long)]
    pub yes: bool,
}

/// The signer of a module tx (`--from`), with the fee and gas flags.
#[derive(Args)]
pub struct Signer {
    /// The signing key (name in the keyring, or its address).
    #[arg(long)]
    pub from: String,
    #[command(flatten)]
    pub flags: TxFlags,
}

/// A gRPC error as the Cosmos CLI words it.
pub fn status_error(s: tonic::Status) -> anyhow::Error {
    anyhow!("rpc error: code = {:?} desc = {}", s.code(), s.message())
}

/// A uopen coin field.
pub fn uopen(amount: u128) -> Option<openledger_proto::cosmos::base::v1beta1::Coin> {
    Some(openledger_types::uopen_coin(amount))
}

pub fn read_secret(prompt: &str) -> Result<String> {
    if std::io::stdin().is_terminal() {
        rpassword::prompt_password(prompt).context("reading passphrase")
    } else {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        Ok(line.trim_end_matches(['\n', '\r']).to_string())
    }
}

pub fn passphrase_for(kr: &Keyring, confirm: bool) -> Result<Option<String>> {
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
pub fn confirm(prompt: &str) -> Result<bool> {
    eprint!("{prompt}");
    std::io::stderr().flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(matches!(line.trim(), "y" | "Y" | "yes"))
}

pub fn parse_address(s: &str, what: &str) -> Result<Address> {
    Address::parse(s).map_err(|e| anyhow!("invalid {what} address: {e}"))
}

/// An amount of uopen, e.g. `1000uopen`.
pub fn parse_uopen(s: &str, what: &str) -> Result<u128> {
    let (amount, denom) = parse_coin(s).map_err(|e| anyhow!("invalid {what}: {e}"))?;
    if denom != txbuilder::DENOM {
        bail!("invalid {what} {s:?}: the only denom is {}", txbuilder::DENOM);
    }
    Ok(amount)
}

pub fn grpc_unreachable(grpc: &str) -> String {
    format!("cannot reach gRPC at {grpc} (is openledgerd running? see --grpc)")
}

pub(crate) async fn account_info(grpc: &str, addr: &Address) -> Result<auth::BaseAccount> {
    let mut c = auth::query_client::QueryClient::connect(grpc.to_string()).await.with_context(|| grpc_unreachable(grpc))?;
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

async fn uopen_balance(grpc: &str, addr: &Address) -> Result<u128> {
    let mut c = bank::query_client::QueryClient::connect(grpc.to_string()).await.with_context(|| grpc_unreachable(grpc))?;
    let r = c
        .balance(bank::QueryBalanceRequest { address: addr.to_string(), denom: txbuilder::DENOM.into() })
        .await
        .map_err(|s| anyhow!("{}", s.message()))?
        .into_inner();
    Ok(r.balance.map_or(0, |c| c.amount.parse::<u128>().unwrap_or(0)))
}

/// What a tx asks for, beside its messages: what it moves out of the signer's balance
/// besides the fee (checked before signing), and a one-line summary for the prompt.
pub struct Intent {
    pub msgs: Vec<Any>,
    pub spend: u128,
    pub summary: String,
}

/// Wait (at most 30 s) until the node has committed a block above `height`.
pub async fn wait_past(node: &NodeOpts, height: u64) -> Result<()> {
    let rpc = CometRpc::new(&node.node);
    for _ in 0..300 {
        let s = rpc.status().await?;
        let latest: u64 = s["sync_info"]["latest_block_height"].as_str().and_then(|h| h.parse().ok()).unwrap_or(0);
        if latest > height {
            return Ok(());
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    bail!("the node committed no block above {height} within 30 s")
}

/// Sign with `key`, broadcast, wait for the block, print. Fails (exit 1) when the tx is
/// refused or fails in the block.
pub async fn broadcast(kr: &Keyring, node: &NodeOpts, key: &KeyRecord, intent: Intent, flags: &TxFlags) -> Result<TxResult> {
    let format = Format::parse(&node.output)?;
    let rpc = CometRpc::new(&node.node);
    let network = rpc.chain_id().await?;
    if network != flags.chain_id {
        bail!("wrong chain id: the node at {} is on {network:?}, --chain-id is {:?}", node.node, flags.chain_id);
    }
    let acct = account_info(&node.grpc, &key.address).await?;
    let pass = passphrase_for(kr, false)?;
    let signer = SignerKey::Secp256k1(kr.signing_key(&key.name, pass.as_deref())?);
    let mut spec = TxSpec::new(intent.msgs, 0, 0);
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
    // A tx that cannot be paid would be included, fail, and still cost the fee: refuse
    // it here, with one line.
    let balance = uopen_balance(&node.grpc, &key.address).await?;
    let needed = intent.spend.saturating_add(spec.fee);
    if balance < needed {
        bail!(
            "insufficient funds: {} has {balance}uopen, the tx needs {needed}uopen ({}uopen + {}uopen fee)",
            key.name,
            intent.spend,
            spec.fee
        );
    }
    if !flags.yes {
        eprintln!("{} (fee {}uopen, gas {gas}) on {network}", intent.summary, spec.fee);
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
    print_result(&result, format)?;
    if result.code != 0 {
        bail!(
            "tx {} failed at height {}: {} (codespace {}, code {})",
            result.txhash,
            result.height,
            result.raw_log,
            result.codespace,
            result.code
        );
    }
    Ok(result)
}

fn print_result(result: &TxResult, format: Format) -> Result<()> {
    let mut v = output::to_value(result)?;
    if let Some(m) = v.as_object_mut() {
        if result.code == 0 {
            m.shift_remove("codespace");
            m.shift_remove("raw_log");
            m.insert("msg_responses".into(), Value::Array(responses::msg_responses(&result.data)));
        }
    }
    output::print(&v, format);
    Ok(())
}
