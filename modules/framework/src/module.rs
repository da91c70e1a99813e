//! The module skeleton: the one trait every state-machine module implements, and the
//! types its hooks, messages and queries share. The app lists its modules once
//! (`app/src/registry.rs`); message decode and dispatch, genesis import and export,
//! the begin/end-block hooks, the query table of every surface (ABCI, gRPC, REST), the
//! substores, the module accounts and the invariant checks all come from that list.
use std::collections::BTreeSet;
use std::fmt::Debug;
use std::future::Future;

use cnidarium::{Snapshot, StateRead, StateWrite};
use futures::future::BoxFuture;

use crate::{Address, ChainError, QueryError};

/// One entry of a block's last commit: who voted, with how much power.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Vote {
    pub consensus_address: [u8; 20],
    pub power: u64,
    pub signed: bool,
}

/// What a begin- or end-block hook knows of its block. Consensus time only (the block
/// header's), never a clock.
#[derive(Debug, Clone, Copy)]
pub struct BlockCtx<'a> {
    pub height: u64,
    /// Block time, seconds since the epoch.
    pub time_seconds: i64,
    /// The last commit's votes (who signed the previous block).
    pub votes: &'a [Vote],
}

/// Where a message runs: the block height, its index in the tx, and what the registry knows.
#[derive(Debug, Clone, Copy)]
pub struct MsgCtx {
    pub height: u64,
    pub msg_index: u32,
    /// Every module account of every registered module (the registry's list).
    pub module_accounts: &'static [ModuleAccount],
}

impl MsgCtx {
    /// The registered module account at `addr`, if it is one.
    pub fn module_account_at(&self, addr: &Address) -> Option<ModuleAccount> {
        self.module_accounts.iter().find(|m| m.address() == *addr).copied()
    }
}

/// Why a transaction is being run. One enum instead of flags: what is verified, what is
/// limited and what is executed follow from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExecMode {
    /// CheckTx of a new tx: the ante step against committed state plus pending txs.
    Check,
    /// CometBFT's recheck of a tx left in the mempool after a commit.
    Recheck,
    /// `Simulate`: everything runs, signatures are not checked, gas is measured unlimited.
    Simulate,
    /// PrepareProposal / ProcessProposal: each tx's ante step, in block order, against
    /// the committed state plus the ante steps before it (what every tx of a valid block
    /// must pass: fee, sequence, signature).
    Proposal,
    /// FinalizeBlock: everything runs and is kept.
    Finalize,
}

impl ExecMode {
    /// Signatures are checked everywhere but in a simulation (clients simulate unsigned).
    pub fn verifies_signatures(self) -> bool {
        self != ExecMode::Simulate
    }

    /// CheckTx and proposal checks run the ante step only; simulation and blocks run the
    /// messages too.
    pub fn runs_messages(self) -> bool {
        matches!(self, ExecMode::Simulate | ExecMode::Finalize)
    }

    /// A simulation relaxes only what a client cannot know before signing.
    pub fn is_simulation(self) -> bool {
        self == ExecMode::Simulate
    }
}

/// A module's message: decoded from its `Any` and checked without state — addresses,
/// enums, basis-point ranges and sums, lengths, shapes — so CheckTx refuses a malformed
/// message before it reaches a block; then executed against state. A value of this type
/// exists only after that check passed.
pub trait ModuleMsg: Sized + Send + Sync + Clone + Debug + PartialEq + 'static {
    /// `None` when `type_url` is not one of this module's messages; otherwise the message
    /// decoded and checked, or the error that refuses it.
    fn decode(type_url: &str, value: &[u8]) -> Option<Result<Self, ChainError>>;

    /// The address that must sign this message.
    fn signer(&self) -> Address;

    /// The message's type URL (from the generated type, `prost::Name`).
    fn type_url(&self) -> &'static str;

    /// The Cosmos `message.module` event attribute (`bank` for bank sends).
    fn event_module(&self) -> &'static str;

    /// Keys this message will read: a prefetch hint that never affects a result.
    fn prefetch_keys(&self, _out: &mut BTreeSet<String>) {}

    /// Execute against state; returns the response as an `Any`. A refused message's
    /// writes are discarded by the caller (each tx's messages run in an overlay).
    fn execute<S: StateWrite>(&self, state: &mut S, ctx: MsgCtx) -> impl Future<Output = Result<prost_types::Any, ChainError>> + Send;
}

/// The message type of a module without messages.
#[derive(Debug, Clone, PartialEq)]
pub enum NoMsg {}

impl ModuleMsg for NoMsg {
    fn decode(_: &str, _: &[u8]) -> Option<Result<Self, ChainError>> {
        None
    }
    fn signer(&self) -> Address {
        match *self {}
    }
    fn type_url(&self) -> &'static str {
        match *self {}
    }
    fn event_module(&self) -> &'static str {
        match *self {}
    }
    #[allow(clippy::manual_async_fn)]
    fn execute<S: StateWrite>(&self, _: &mut S, _: MsgCtx) -> impl Future<Output = Result<prost_types::Any, ChainError>> + Send {
        async move { match *self {} }
    }
}

/// An account no key controls, owned by one module (its escrow, pool or bond holdings):
/// declared as a constant by its module and listed in `Module::MODULE_ACCOUNTS`, so the
/// registry knows every one (its test refuses two with one name or address). Its address
/// derives from its name. Funds move into and out of one only through token's
/// `send_to_module` and `send_from_module`, which take this type, never an address; a
/// plain transfer (`MsgSend`) to a registered module account's address is refused, so no
/// one can put funds into an escrow behind its module's books.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ModuleAccount(&'static str);

impl ModuleAccount {
    pub const fn new(name: &'static str) -> ModuleAccount {
        ModuleAccount(name)
    }

    pub fn name(&self) -> &'static str {
        self.0
    }

    pub fn address(&self) -> Address {
        Address::module(self.0)
    }
}

/// The genesis section of a module that has none: `{}`.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoGenesis {}

/// What a query handler reads: one committed snapshot, and what the registry knows.
#[derive(Clone)]
pub struct QueryCtx {
    pub snapshot: Snapshot,
    /// Every module account of every registered module.
    pub module_accounts: &'static [ModuleAccount],
}

/// A query handler over raw protobuf: request bytes in, response bytes out.
pub type QueryHandler = fn(QueryCtx, Vec<u8>) -> BoxFuture<'static, Result<Vec<u8>, QueryError>>;

/// One query of the one query table: its full gRPC method name
/// (`/openledger.datanet.v1.Query/Datanet`), the REST path the Cosmos gateway serves it
/// under when it has a Cosmos one (`/cosmos/bank/v1beta1/balances/{address}`; the
/// `openledger.*` queries derive theirs), and its handler.
#[derive(Clone, Copy)]
pub struct QueryRoute {
    pub method: &'static str,
    pub rest: Option<&'static str>,
    pub handler: QueryHandler,
}

impl Debug for QueryRoute {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueryRoute").field("method", &self.method).field("rest", &self.rest).finish()
    }
}

/// The query routes of a module: `query_routes![ "/pkg.Query/Method" => handler; … ]`,
/// each optionally followed by `, rest "/cosmos/…/{field}"`. A handler is a plain
/// `async fn(&S: StateRead, Request) -> Result<Response, QueryError>` (the request type
/// is inferred from it); `@ctx handler` passes the whole `QueryCtx` instead.
#[macro_export]
macro_rules! query_routes {
    ($( $method:literal => $(@$ctx:ident)? $handler:path $(, rest $rest:literal)? );* $(;)?) => {
        vec![ $( $crate::module::QueryRoute {
            method: $method,
            rest: $crate::query_routes!(@rest $($rest)?),
            handler: |ctx, data| ::std::boxed::Box::pin(async move {
                let req = ::prost::Message::decode(data.as_slice())
                    .map_err(|e| $crate::QueryError::invalid_argument(format!("cannot decode request: {e}")))?;
                let resp = $handler($crate::query_routes!(@arg ctx $($ctx)?), req).await?;
                Ok(::prost::Message::encode_to_vec(&resp))
            }),
        } ),* ]
    };
    (@rest $rest:literal) => { Some($rest) };
    (@rest) => { None };
    (@arg $c:ident ctx) => { &$c };
    (@arg $c:ident) => { &$c.snapshot };
}

/// One state-machine module. Everything the app needs of it, in one place; the app's
/// registry lists the modules once, in the order their hooks run (genesis import and
/// export follow the same order).
pub trait Module {
    /// The module's name: its codespace, its genesis section, its key prefix and its
    /// REST path segment.
    const NAME: &'static str;
    /// Whether its state lives in a substore of its own (a Jellyfish Merkle tree under
    /// `{NAME}/`, so work on other modules never hashes through it). Consensus: changing
    /// it changes every app hash.
    const SUBSTORE: bool = false;
    /// The module accounts it owns.
    const MODULE_ACCOUNTS: &'static [ModuleAccount] = &[];
    /// Key prefixes a node keeps whole in memory, as a node-local copy of what is
    /// committed under them (the app's `perf/replica.rs`): for an index read many times
    /// per message, mostly for keys that are absent. Speed only, never a result.
    const MEMORY_PREFIXES: &'static [&'static str] = &[];

    type Msg: ModuleMsg;
    /// Its section of genesis `app_state`.
    type Genesis: serde::Serialize + serde::de::DeserializeOwned + Default + Clone + Debug + PartialEq + Send + Sync;

    /// Its query routes (ABCI, gRPC and REST are all served from these).
    fn query_routes() -> Vec<QueryRoute> {
        Vec::new()
    }

    fn init_genesis<S: StateWrite>(state: &mut S, genesis: &Self::Genesis) -> impl Future<Output = Result<(), ChainError>> + Send;

    /// The exact inverse of `init_genesis`.
    fn export_genesis<S: StateRead>(state: &S) -> impl Future<Output = Result<Self::Genesis, ChainError>> + Send;

    #[allow(unused_variables)]
    fn begin_block<S: StateWrite>(state: &mut S, ctx: &BlockCtx<'_>) -> impl Future<Output = Result<(), ChainError>> + Send {
        async { Ok(()) }
    }

    #[allow(unused_variables)]
    fn end_block<S: StateWrite>(state: &mut S, ctx: &BlockCtx<'_>) -> impl Future<Output = Result<(), ChainError>> + Send {
        async { Ok(()) }
    }

    /// What must hold after every block (supply, escrows, pools, bonds). Iterates as
    /// much state as it needs: for tests and audits, never for block execution.
    #[allow(unused_variables)]
    fn check_invariants<S: StateRead>(state: &S) -> impl Future<Output = Result<(), String>> + Send {
        async { Ok(()) }
    }
}

// Type URLs come from the generated types (`prost::Name`); the helpers are pure, in
// `openledger-types`, so clients match them the same way.
pub use openledger_types::type_url::is_type_url;

/// A response as the `Any` a tx's `msg_responses` carries.
pub fn response_any<M: prost::Name + prost::Message>(m: &M) -> prost_types::Any {
    prost_types::Any { type_url: M::type_url(), value: m.encode_to_vec() }
}

/// Decode a message's protobuf bytes, with the Cosmos SDK's tx-parse error; only its
/// canonical encoding is accepted (`openledger_types::canonical`).
pub fn decode_msg<M: prost::Message + Default + prost::Name>(bytes: &[u8]) -> Result<M, ChainError> {
    openledger_types::canonical::decode::<M>(bytes).map_err(|e| crate::sdk::tx_decode(format!("{}: {e}: tx parse error", M::NAME)))
}

/// A module's message type from its list of messages, each handled by one file that has
/// `check(&Msg) -> Result<signer, ChainError>` (stateless) and
/// `execute(state, &Msg, &signer, MsgCtx) -> Result<Response, ChainError>`:
///
/// ```ignore
/// module_msgs! {
///     /// A datanet message, checked.
///     pub DatanetMsg, module "datanet" {
///         Create(MsgCreateDatanet) => create,
///         Update(MsgUpdateDatanet) => update,
///     }
/// }
/// ```
///
/// The type's fields are private: a value exists only after `decode` checked it.
#[macro_export]
macro_rules! module_msgs {
    ($(#[$meta:meta])* pub $name:ident, module $module:literal { $( $variant:ident($msg:ty) => $file:ident ),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq)]
        pub struct $name {
            kind: Kind,
            signer: $crate::Address,
        }

        #[derive(Debug, Clone, PartialEq)]
        enum Kind {
            $( $variant($msg), )*
        }

        impl $crate::ModuleMsg for $name {
            fn decode(type_url: &str, value: &[u8]) -> Option<Result<Self, $crate::ChainError>> {
                $(
                    if $crate::module::is_type_url::<$msg>(type_url) {
                        return Some($crate::module::decode_msg::<$msg>(value).and_then(|m| {
                            let signer = $file::check(&m)?;
                            Ok($name { kind: Kind::$variant(m), signer })
                        }));
                    }
                )*
                None
            }

            fn signer(&self) -> $crate::Address {
                self.signer
            }

            fn type_url(&self) -> &'static str {
                match &self.kind {
                    $( Kind::$variant(_) => $crate::type_url_of!($msg), )*
                }
            }

            fn event_module(&self) -> &'static str {
                $module
            }

            async fn execute<S: ::cnidarium::StateWrite>(&self, state: &mut S, ctx: $crate::MsgCtx) -> Result<::prost_types::Any, $crate::ChainError> {
                Ok(match &self.kind {
                    $( Kind::$variant(m) => $crate::module::response_any(&$file::execute(state, m, &self.signer, ctx).await?), )*
                })
            }
        }
    };
}
