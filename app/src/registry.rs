//! The one list of the chain's modules, in the order their hooks run. Everything the
//! app knows of its modules comes from this list: the message type (decode, dispatch),
//! the genesis `app_state` sections (import and export in list order), the begin- and
//! end-block hooks (in list order), the query table every surface serves (ABCI, gRPC,
//! REST), the substores, the module accounts and the invariants the test driver checks
//! after every block. Adding a module is a crate and a line here.
//!
//! Consensus: the order is part of the state machine. `auth` and `token` come first
//! because genesis accounts get their numbers in the order they are created; `fees`
//! comes last because it pays out what every other module's end-block put into the fee
//! collector in the same block.
use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use cnidarium::{StateRead, StateWrite};
use openledger_framework::{sdk, Address, BlockCtx, ChainError, Module, ModuleAccount, ModuleMsg, MsgCtx, QueryRoute};
use serde::{Deserialize, Serialize};

/// Whether two strings are equal, in a const context (a registry line's section name
/// must be its module's name; checked when the crate compiles).
const fn same_name(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

macro_rules! registry {
    ($( $name:ident: $module:ty ),* $(,)?) => {
        $( const _: () = assert!(same_name(stringify!($name), <$module as Module>::NAME), "a registry line must be named as its module"); )*

        /// Genesis `app_state`: one section per module, named as the module.
        #[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
        #[serde(deny_unknown_fields)]
        pub struct AppState {
            $( #[serde(default)] pub $name: <$module as Module>::Genesis, )*
        }

        /// A message of any module, decoded and checked.
        #[allow(non_camel_case_types)]
        #[derive(Debug, Clone, PartialEq)]
        pub enum Msg {
            $( $name(<$module as Module>::Msg), )*
        }

        impl Msg {
            /// Decode an `Any` into the message of the module that owns its type URL, with
            /// that module's stateless checks.
            pub fn decode(any: &cosmos_sdk_proto::Any) -> Result<Msg, ChainError> {
                $(
                    if let Some(m) = <<$module as Module>::Msg as ModuleMsg>::decode(&any.type_url, &any.value) {
                        return m.map(Msg::$name);
                    }
                )*
                Err(sdk::unknown_request(format!("unrecognized message type: {}: unknown request", any.type_url)))
            }

            pub fn signer(&self) -> Address {
                match self { $( Msg::$name(m) => m.signer(), )* }
            }

            pub fn type_url(&self) -> &'static str {
                match self { $( Msg::$name(m) => m.type_url(), )* }
            }

            /// The module name Cosmos puts in `message.module`.
            pub fn event_module(&self) -> &'static str {
                match self { $( Msg::$name(m) => m.event_module(), )* }
            }

            /// Keys this message will read (a prefetch hint; never affects results).
            pub fn prefetch_keys(&self, out: &mut BTreeSet<String>) {
                match self { $( Msg::$name(m) => m.prefetch_keys(out), )* }
            }

            pub async fn execute<S: StateWrite>(&self, state: &mut S, ctx: MsgCtx) -> Result<prost_types::Any, ChainError> {
                match self { $( Msg::$name(m) => m.execute(state, ctx).await, )* }
            }
        }

        /// Every module's genesis, in list order.
        pub async fn init_genesis<S: StateWrite>(state: &mut S, app_state: &AppState) -> Result<(), ChainError> {
            $(
                let t = std::time::Instant::now();
                <$module as Module>::init_genesis(state, &app_state.$name).await?;
                tracing::debug!(module = <$module as Module>::NAME, ms = t.elapsed().as_millis() as u64, "imported genesis");
            )*
            Ok(())
        }

        /// The whole `app_state` from state: the exact inverse of `init_genesis`.
        pub async fn export_genesis<S: StateRead>(state: &S) -> Result<AppState, ChainError> {
            Ok(AppState { $( $name: <$module as Module>::export_genesis(state).await?, )* })
        }

        pub async fn begin_block<S: StateWrite>(state: &mut S, ctx: &BlockCtx<'_>) -> Result<(), ChainError> {
            $( <$module as Module>::begin_block(state, ctx).await?; )*
            Ok(())
        }

        pub async fn end_block<S: StateWrite>(state: &mut S, ctx: &BlockCtx<'_>) -> Result<(), ChainError> {
            $( <$module as Module>::end_block(state, ctx).await?; )*
            Ok(())
        }

        /// Every module's invariants (the test driver runs these after every block).
        pub async fn check_invariants<S: StateRead>(state: &S) -> Result<(), String> {
            $( <$module as Module>::check_invariants(state).await.map_err(|e| format!("{}: {e}", <$module as Module>::NAME))?; )*
            Ok(())
        }

        /// The modules' names, in list order.
        pub const MODULES: &[&str] = &[$( <$module as Module>::NAME ),*];

        /// The modules whose state lives in a substore of its own.
        pub fn substores() -> Vec<String> {
            let mut out = Vec::new();
            $( if <$module as Module>::SUBSTORE { out.push(<$module as Module>::NAME.to_string()); } )*
            out
        }

        /// Every module's memory prefixes (`Module::MEMORY_PREFIXES`), in list order.
        pub fn memory_prefixes() -> &'static [&'static str] {
            static PREFIXES: OnceLock<Vec<&'static str>> = OnceLock::new();
            PREFIXES.get_or_init(|| {
                let mut out: Vec<&'static str> = Vec::new();
                $( out.extend_from_slice(<$module as Module>::MEMORY_PREFIXES); )*
                out
            })
        }

        /// Every module account, in list order.
        pub fn module_accounts() -> &'static [ModuleAccount] {
            static ACCOUNTS: OnceLock<Vec<ModuleAccount>> = OnceLock::new();
            ACCOUNTS.get_or_init(|| {
                let mut out: Vec<ModuleAccount> = Vec::new();
                $( out.extend_from_slice(<$module as Module>::MODULE_ACCOUNTS); )*
                out
            })
        }

        /// The query table, in list order: every route of every module, each once.
        pub fn query_routes() -> &'static [QueryRoute] {
            static ROUTES: OnceLock<Vec<QueryRoute>> = OnceLock::new();
            ROUTES.get_or_init(|| {
                let mut out = Vec::new();
                $( out.extend(<$module as Module>::query_routes()); )*
                out
            })
        }
    };
}

registry! {
    auth: openledger_auth::AuthModule,
    token: openledger_token::TokenModule,
    datanet: openledger_datanet::DatanetModule,
    model: openledger_model::ModelModule,
    attribution: openledger_attribution::AttributionModule,
    fees: openledger_fees::FeesModule,
}

/// The query route serving gRPC method `path` (`/openledger.datanet.v1.Query/Datanet`).
pub fn query_route(path: &str) -> Option<&'static QueryRoute> {
    static BY_METHOD: OnceLock<BTreeMap<&'static str, &'static QueryRoute>> = OnceLock::new();
    BY_METHOD.get_or_init(|| query_routes().iter().map(|r| (r.method, r)).collect()).get(path).copied()
}

/// What a query handler is given besides its request.
pub fn query_ctx(snapshot: cnidarium::Snapshot) -> openledger_framework::QueryCtx {
    openledger_framework::QueryCtx { snapshot, module_accounts: module_accounts() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_query_route_is_named_twice_and_each_names_a_method() {
        let mut seen = BTreeSet::new();
        for r in query_routes() {
            assert!(seen.insert(r.method), "{} is routed twice", r.method);
            let (service, method) = r.method.strip_prefix('/').and_then(|p| p.split_once('/')).expect("/package.Service/Method");
            assert!(service.contains('.') && !method.is_empty() && !method.contains('/'), "{}", r.method);
            assert!(query_route(r.method).is_some());
        }
    }

    #[test]
    fn module_names_and_accounts_are_distinct() {
        let names: BTreeSet<_> = MODULES.iter().collect();
        assert_eq!(names.len(), MODULES.len());
        let accounts: BTreeSet<_> = module_accounts().iter().map(|m| m.address()).collect();
        assert_eq!(accounts.len(), module_accounts().len());
        let names: Vec<&str> = module_accounts().iter().map(|m| m.name()).collect();
        assert_eq!(names, ["fee_collector", "datanet_escrow", "model_bonds", "inference_escrow", "attribution_rewards"]);
        assert_eq!(substores(), vec!["datanet".to_string()]);
    }
}
