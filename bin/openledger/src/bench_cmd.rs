//! `openledger bench`: the bench accounts, one load run, and the saturation search
//! (the logic is in `openledger_loadgen`; this file parses arguments).
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;
use clap::{Args, Subcommand};
use openledger_client::output::Format;
use openledger_loadgen::{self as load, LoadConfig, Mode, SaturateConfig};
use serde_json::json;

use crate::broadcast::parse_uopen;
use crate::NodeOpts;

#[derive(Subcommand)]
pub enum BenchCmd {
    /// The deterministic bench accounts the loader signs for: addresses one a line, or
    /// (-o json) a list of {address, amount} for `openledgerd genesis add-accounts --file`.
    Accounts {
        #[arg(long)]
        count: u64,
        #[arg(long, default_value = load::DEFAULT_SEED)]
        seed: String,
        /// Genesis funding of each account.
        #[arg(long, default_value = "1000000000000uopen")]
        amount: String,
    },
    /// One load run: pre-sign, send at --rate for --duration round-robin over --node, wait
    /// for the blocks, report committed tx/s and latency.
    Load {
        #[command(flatten)]
        load: LoadArgs,
        #[arg(long)]
        rate: f64,
        /// Write one line per tx: HASH SENT_MS HEIGHT CODE (height 0: not in a block).
        #[arg(long)]
        tx_log: Option<PathBuf>,
    },
    /// What the loader alone can send: unpaced, to an in-process sink that answers like
    /// broadcast_tx_async (so the loader is known not to be the bottleneck).
    LoaderCeiling {
        #[arg(long, default_value_t = 3.0)]
        duration: f64,
        /// Sender connections.
        #[arg(long, default_value_t = 8)]
        connections: usize,
    },
    /// Step the rate up until committed tx/s stops rising (or latency passes a cap), then
    /// measure latency at 50% and 90% of the best rate; prints a table.
    Saturate {
        #[command(flatten)]
        load: LoadArgs,
        #[arg(long, default_value_t = 100.0)]
        start_rate: f64,
        #[arg(long, default_value_t = 1.5)]
        factor: f64,
        #[arg(long, default_value_t = 10)]
        max_steps: usize,
        #[arg(long, default_value_t = 30_000.0)]
        max_p99_ms: f64,
    },
}

#[derive(Args)]
pub struct LoadArgs {
    // --node (CometBFT RPC endpoints, comma-separated) and -o are the global flags.
    /// Seconds of sending.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Bench accounts to send from (transfer mode; see `bench accounts`).
    #[arg(long, default_value_t = 1000)]
    accounts: u64,
    /// transfer (signed MsgSend through this chain) or kvstore (key=value through
    /// CometBFT's built-in kvstore app).
    #[arg(long, default_value = "transfer")]
    mode: String,
    /// Refuse to run unless the nodes are on this chain.
    #[arg(long)]
    chain_id: Option<String>,
    #[arg(long, default_value = load::DEFAULT_SEED)]
    seed: String,
    /// Sender connections per node.
    #[arg(long, default_value_t = 8)]
    connections: usize,
    /// Longest wait for one node to answer one send (seconds); then the tx goes to the
    /// next node, and the node is skipped for a backoff (1 s, doubling up to 16 s).
    #[arg(long, default_value_t = 10.0)]
    send_timeout: f64,
    /// async: broadcast_tx_async (the node answers before CheckTx: the benchmark's
    /// setting); sync: broadcast_tx_sync, each send waits for CheckTx and a tx a node
    /// refuses (one still catching up, whose state is behind) goes to the next node.
    #[arg(long, default_value = "async")]
    broadcast: String,
    /// Longest wait, after the last send, for the txs to be committed (seconds).
    #[arg(long, default_value_t = 60)]
    drain_timeout: u64,
    /// How often the committed height is polled (milliseconds).
    #[arg(long, default_value_t = 20)]
    poll_ms: u64,
    /// kvstore tx size (default: the size of a signed bench transfer).
    #[arg(long)]
    tx_bytes: Option<usize>,
    /// Report the CPU use of a local process, LABEL=PID (repeatable), e.g.
    /// --cpu-pid cometbft=1234 --cpu-pid openledgerd=1235.
    #[arg(long)]
    cpu_pid: Vec<String>,
}

impl LoadArgs {
    fn config(&self, node: &NodeOpts, rate: f64) -> Result<LoadConfig> {
        if !(self.duration.is_finite() && self.duration > 0.0 && self.duration <= 3600.0) {
            anyhow::bail!("--duration must be between 0 and 3600 seconds (got {})", self.duration);
        }
        if !(self.send_timeout.is_finite() && self.send_timeout > 0.0 && self.send_timeout <= 120.0) {
            anyhow::bail!("--send-timeout must be above 0 and at most 120 seconds (got {})", self.send_timeout);
        }
        if self.poll_ms == 0 || self.poll_ms > 1000 {
            anyhow::bail!("--poll-ms must be 1..=1000 (got {})", self.poll_ms);
        }
        let cfg = LoadConfig {
            nodes: load::parse_nodes(&node.node)?,
            rate,
            duration: Duration::from_secs_f64(self.duration),
            accounts: self.accounts,
            mode: self.mode.parse::<Mode>()?,
            chain_id: self.chain_id.clone(),
            seed: self.seed.clone(),
            connections: self.connections,
            drain_timeout: Duration::from_secs(self.drain_timeout.min(600)),
            poll_interval: Duration::from_millis(self.poll_ms),
            tx_bytes: self.tx_bytes,
            cpu_pids: self.cpu_pid.iter().map(|s| load::parse_cpu_pid(s)).collect::<Result<_>>()?,
            send_timeout: Duration::from_secs_f64(self.send_timeout),
            broadcast_sync: match self.broadcast.as_str() {
                "async" => false,
                "sync" => true,
                other => anyhow::bail!("unknown --broadcast {other:?}: async or sync"),
            },
        };
        Ok(cfg)
    }
}

pub async fn run(cmd: BenchCmd, node: &NodeOpts) -> Result<()> {
    let format = Format::parse(&node.output)?;
    match cmd {
        BenchCmd::Accounts { count, seed, amount } => {
            let amount = parse_uopen(&amount, "--amount")?;
            if count == 0 || count > 1_000_000 {
                anyhow::bail!("--count must be 1..=1000000 (got {count})");
            }
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            let addresses = (0..count).map(|i| load::account_key(&seed, i).address().to_string());
            if format == Format::Json {
                let list: Vec<_> = addresses.map(|a| json!({"address": a, "amount": format!("{amount}uopen")})).collect();
                writeln!(out, "{}", serde_json::Value::Array(list))?;
            } else {
                for a in addresses {
                    writeln!(out, "{a}")?;
                }
            }
            out.flush()?;
            Ok(())
        }
        BenchCmd::Load { load, rate, tx_log } => {
            let cfg = load.config(node, rate)?;
            cfg.validate()?;
            let report = load::run(&cfg).await?;
            if let Some(path) = tx_log {
                report.write_tx_log(&path)?;
            }
            match format {
                Format::Json => println!("{}", serde_json::to_string(&report)?),
                Format::Text => report.print_text(),
            }
            Ok(())
        }
        BenchCmd::LoaderCeiling { duration, connections } => {
            if !(duration.is_finite() && duration > 0.0 && duration <= 60.0) {
                anyhow::bail!("--duration must be above 0 and at most 60 seconds (got {duration})");
            }
            let c = load::loader_ceiling(connections, Duration::from_secs_f64(duration)).await?;
            match format {
                Format::Json => println!("{}", serde_json::to_string(&c)?),
                Format::Text => println!(
                    "loader alone: {:.0} tx/s ({} txs of {} bytes in {:.1} s on {} connections, {} errors) to an in-process sink",
                    c.send_rate, c.sent, c.tx_bytes, c.duration_s, c.lanes, c.errors
                ),
            }
            Ok(())
        }
        BenchCmd::Saturate { load, start_rate, factor, max_steps, max_p99_ms } => {
            let cfg = SaturateConfig { load: load.config(node, start_rate)?, start_rate, factor, max_steps, max_p99_ms };
            cfg.validate()?;
            // Progress on stderr, so stdout holds only the table (or the JSON).
            eprintln!("{}", load::TABLE_HEADER);
            let s = load::saturate(&cfg, |label, r| eprintln!("{}", load::table_row(label, r))).await?;
            match format {
                Format::Json => println!("{}", serde_json::to_string(&s)?),
                Format::Text => s.print_text(&cfg.load),
            }
            Ok(())
        }
    }
}
