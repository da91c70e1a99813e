//! `openledgerd`: the OpenLedger node.
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use openledger_framework::Address;
use openledgerd::dev::{self, DevOptions};
use openledgerd::node::{self, AppConfig, Home, InitOptions};

/// mimalloc, set up by `openledgerd::allocator` (why: there).
#[global_allocator]
static GLOBAL: openledgerd::allocator::Allocator = openledgerd::allocator::Allocator;

#[derive(Parser)]
#[command(name = "openledgerd", version, about = "OpenLedger chain node: the ABCI 2.0 application beside CometBFT")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Create a node home: CometBFT config and keys, genesis, config/app.toml.
    Init {
        #[arg(long)]
        home: PathBuf,
        #[arg(long)]
        chain_id: String,
        #[arg(long)]
        moniker: String,
        /// Account paid this validator's share of fees (bech32 open1…).
        #[arg(long)]
        operator: Option<String>,
        #[command(flatten)]
        endpoints: Endpoints,
    },
    /// Edit genesis.
    Genesis {
        #[command(subcommand)]
        cmd: GenesisCmd,
    },
    /// Edit this home's CometBFT config.toml.
    Config {
        #[command(subcommand)]
        cmd: ConfigCmd,
    },
    /// Write the genesis of a new chain holding this node's committed state (stop the node first).
    Export {
        #[arg(long)]
        home: PathBuf,
        /// The committed height to export (default: the latest).
        #[arg(long)]
        height: Option<u64>,
        /// The new chain's id: it must differ from this chain's, so that no tx signed for
        /// this chain replays on the new one.
        #[arg(long)]
        chain_id: String,
        /// Write here instead of stdout.
        #[arg(long)]
        output: Option<PathBuf>,
    },
    /// Delete old state versions from a stopped node's store (`start` does this too,
    /// unless `[pruning] keep_blocks = 0`): nothing the node can read is removed.
    Prune {
        #[arg(long)]
        home: PathBuf,
    },
    /// Run the application (ABCI + gRPC); run `cometbft start --home DIR/cometbft` beside it.
    Start {
        #[arg(long)]
        home: PathBuf,
        /// Overrides [abci] address in config/app.toml.
        #[arg(long)]
        abci_address: Option<String>,
        /// Overrides [grpc] address.
        #[arg(long)]
        grpc_address: Option<String>,
        /// Overrides [api] address (REST; "" for none).
        #[arg(long)]
        api_address: Option<String>,
        /// Overrides [mempool] min_gas_price, e.g. 0.025uopen.
        #[arg(long)]
        min_gas_price: Option<String>,
    },
    /// One-command local chain: initialise if needed, run the app and CometBFT.
    Dev {
        /// Default: ~/.openledger-dev
        #[arg(long)]
        home: Option<PathBuf>,
        /// Delete the home and start a new chain.
        #[arg(long)]
        reset: bool,
        #[command(flatten)]
        endpoints: Endpoints,
    },
}

/// Where a new node listens (written into its config; loopback by default).
#[derive(clap::Args)]
struct Endpoints {
    /// CometBFT RPC.
    #[arg(long, default_value = "127.0.0.1:26657")]
    rpc_laddr: String,
    /// CometBFT P2P.
    #[arg(long, default_value = "127.0.0.1:26656")]
    p2p_laddr: String,
    /// The app's ABCI server (CometBFT's proxy_app): a Unix socket (relative paths are in
    /// the home), or `tcp://HOST:PORT` / `HOST:PORT`.
    #[arg(long, default_value = openledgerd::node::DEFAULT_ABCI_ADDRESS)]
    abci_address: String,
    /// The app's gRPC server.
    #[arg(long, default_value = "127.0.0.1:9090")]
    grpc_address: String,
    /// The app's REST server ("" for none).
    #[arg(long, default_value = "127.0.0.1:1317")]
    api_address: String,
}

#[derive(Subcommand)]
enum ConfigCmd {
    /// Set existing keys of config.toml: `section.key=value` (typed as the key already is).
    Set {
        #[arg(long)]
        home: PathBuf,
        #[arg(required = true)]
        assignments: Vec<String>,
    },
}

#[derive(Subcommand)]
enum GenesisCmd {
    /// Add a validator to genesis `validators` and map it to its operator account.
    AddValidator {
        #[arg(long)]
        home: PathBuf,
        /// The validator's ed25519 key: base64, or the JSON `cometbft show-validator` prints.
        #[arg(long, conflicts_with = "from_home")]
        pubkey: Option<String>,
        /// Read the key (and moniker) from another node's home.
        #[arg(long)]
        from_home: Option<PathBuf>,
        /// Voting power (a positive integer).
        #[arg(long)]
        power: String,
        /// Account paid this validator's share of fees (bech32 open1…).
        #[arg(long)]
        operator: String,
        /// Name in genesis (default: the other home's moniker).
        #[arg(long)]
        moniker: Option<String>,
    },
    /// Set existing consensus parameters: `consensus_params.block.max_bytes=1048576`.
    Set {
        #[arg(long)]
        home: PathBuf,
        #[arg(required = true)]
        assignments: Vec<String>,
    },
    /// Fund ADDR with AMOUNT (e.g. 1000000uopen) in genesis.
    AddAccount {
        #[arg(long)]
        home: PathBuf,
        address: String,
        amount: String,
    },
    /// Name ADDR a datanet arbiter: it decides challenges the curators did not decide
    /// by their deadline (without an arbiter such a challenge expires).
    AddArbiter {
        #[arg(long)]
        home: PathBuf,
        address: String,
    },
    /// Fund every account of FILE, a JSON list of {"address", "amount"} (what
    /// `openledger bench accounts -o json` prints), in one write.
    AddAccounts {
        #[arg(long)]
        home: PathBuf,
        #[arg(long)]
        file: PathBuf,
    },
}

fn main() {
    openledgerd::allocator::configure();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("OPENLEDGER_LOG").unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .init();
    openledgerd::failstop::install();
    if let Err(e) = run(Cli::parse()) {
        eprintln!("Error: {e:#}");
        std::process::exit(1);
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.cmd {
        Cmd::Init {
            home,
            chain_id,
            moniker,
            operator,
            endpoints: Endpoints { rpc_laddr, p2p_laddr, abci_address, grpc_address, api_address },
        } => {
            let operator = operator.map(|o| Address::parse(&o)).transpose().map_err(|e| anyhow::anyhow!("--operator: {e}"))?;
            let mut config = AppConfig::default();
            config.abci.address = abci_address;
            config.grpc.address = grpc_address;
            config.api.address = api_address;
            let home = Home(home);
            node::init(
                &home,
                &InitOptions { chain_id: &chain_id, moniker: &moniker, operator, config, rpc_laddr: &rpc_laddr, p2p_laddr: &p2p_laddr },
            )?;
            println!("initialised {} (chain {chain_id}); CometBFT home {}", home.0.display(), home.cometbft().display());
            Ok(())
        }
        Cmd::Genesis { cmd: GenesisCmd::AddAccount { home, address, amount } } => {
            node::genesis_add_account(&Home(home), &address, &amount)?;
            println!("added {address} with {amount} to genesis");
            Ok(())
        }
        Cmd::Genesis { cmd: GenesisCmd::AddValidator { home, pubkey, from_home, power, operator, moniker } } => {
            let v = node::NewValidator {
                pubkey: pubkey.as_deref(),
                from_home: from_home.as_deref(),
                power: &power,
                operator: &operator,
                moniker: moniker.as_deref(),
            };
            let (address, name) = node::genesis_add_validator(&Home(home), &v)?;
            println!("added validator {address} ({name}) with power {power}, fees to {operator}");
            Ok(())
        }
        Cmd::Genesis { cmd: GenesisCmd::AddArbiter { home, address } } => {
            node::genesis_add_arbiter(&Home(home), &address)?;
            println!("named {address} a datanet arbiter in genesis");
            Ok(())
        }
        Cmd::Genesis { cmd: GenesisCmd::Set { home, assignments } } => node::genesis_set(&Home(home), &assignments),
        Cmd::Config { cmd: ConfigCmd::Set { home, assignments } } => node::cometbft_config_set(&Home(home), &assignments),
        Cmd::Export { home, height, chain_id, output } => {
            let doc = runtime()?.block_on(node::export(&Home(home), height, &chain_id))?;
            let text = serde_json::to_string_pretty(&doc)? + "\n";
            match output {
                Some(path) => std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?,
                None => print!("{text}"),
            }
            Ok(())
        }
        Cmd::Prune { home } => {
            println!("{}", node::prune_state(&Home(home))?);
            Ok(())
        }
        Cmd::Genesis { cmd: GenesisCmd::AddAccounts { home, file } } => {
            let accounts = node::read_accounts_file(&file)?;
            node::genesis_add_accounts(&Home(home), &accounts)?;
            println!("added {} accounts to genesis", accounts.len());
            Ok(())
        }
        Cmd::Start { home, abci_address, grpc_address, api_address, min_gas_price } => {
            let home = Home(home);
            let mut config = home.load_config()?;
            if let Some(a) = abci_address {
                config.abci.address = a;
            }
            if let Some(g) = grpc_address {
                config.grpc.address = g;
            }
            if let Some(a) = api_address {
                config.api.address = a;
            }
            if let Some(m) = min_gas_price {
                config.mempool.min_gas_price = m;
            }
            runtime()?.block_on(async move {
                let running = node::start(&home, &config).await?;
                println!("openledgerd: ABCI {} gRPC {}", running.abci_addr, running.grpc_addr);
                let mut sigterm = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = sigterm.recv() => {}
                }
                running.stop().await;
                Ok(())
            })
        }
        Cmd::Dev { home, reset, endpoints: Endpoints { rpc_laddr, p2p_laddr, abci_address, grpc_address, api_address } } => {
            let home = node::home_or_default(home, ".openledger-dev");
            runtime()?.block_on(dev::run(DevOptions { home, reset, rpc_laddr, p2p_laddr, abci_address, grpc_address, api_address }))
        }
    }
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread().enable_all().build()?)
}
