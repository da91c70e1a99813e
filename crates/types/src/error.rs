//! One error type for everything a transaction or query can fail with: a stable
//! (codespace, code) pair and a message a user can act on. Modules define their own
//! codes in their codespace; the ante step uses the Cosmos SDK's `sdk` codes so that
//! wallets recognise them.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainError {
    pub codespace: &'static str,
    pub code: u32,
    pub message: String,
}

impl ChainError {
    pub fn new(codespace: &'static str, code: u32, message: impl Into<String>) -> Self {
        ChainError { codespace, code, message: message.into() }
    }

    /// A fault of this node — its storage failed — rather than an outcome of the tx:
    /// never recorded as a tx result (another node would record something else), so
    /// block execution stops the node on it.
    pub fn is_node_fault(&self) -> bool {
        self.codespace == node_fault::CODESPACE
    }
}

/// A state read ran past the tx's gas limit (raised by the gas-metered state wrapper;
/// the tx pipeline reports it as the Cosmos SDK's out-of-gas error).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutOfGas;

impl fmt::Display for OutOfGas {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("out of gas")
    }
}

impl std::error::Error for OutOfGas {}

impl fmt::Display for ChainError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ChainError {}

/// Errors from the state store are node faults (`node_fault`), except the metered
/// wrapper's out-of-gas, which is the tx's own doing.
impl From<anyhow::Error> for ChainError {
    fn from(e: anyhow::Error) -> Self {
        if e.downcast_ref::<OutOfGas>().is_some() {
            return sdk::out_of_gas("out of gas");
        }
        node_fault::storage(format!("storage: {e:#}"))
    }
}

/// Faults of the node itself, never tx outcomes (`ChainError::is_node_fault`).
pub mod node_fault {
    pub const CODESPACE: &str = "node";

    crate::module_errors! { CODESPACE;
        storage = 1;
    }
}

/// One constructor per error of a codespace: `module_errors!(CODESPACE; name = code; …)`
/// defines `pub fn name(msg) -> ChainError`. Codes are stable: never renumber.
#[macro_export]
macro_rules! module_errors {
    ($codespace:expr; $($name:ident = $code:expr;)*) => {
        $(pub fn $name(msg: impl Into<String>) -> $crate::ChainError { $crate::ChainError::new($codespace, $code, msg) })*
    };
}

/// The Cosmos SDK's root codespace, with its code numbers (types/errors/errors.go).
pub mod sdk {
    pub const CODESPACE: &str = "sdk";

    crate::module_errors! { CODESPACE;
        internal = 1;
        tx_decode = 2;
        invalid_sequence = 3;
        unauthorized = 4;
        insufficient_funds = 5;
        unknown_request = 6;
        invalid_address = 7;
        invalid_pubkey = 8;
        unknown_address = 9;
        invalid_coins = 10;
        out_of_gas = 11;
        memo_too_large = 12;
        insufficient_fee = 13;
        too_many_signatures = 14;
        no_signatures = 15;
        invalid_request = 18;
        tx_too_large = 21;
        key_not_found = 22;
        invalid_height = 26;
        invalid_chain_id = 28;
        invalid_type = 29;
        tx_timeout_height = 30;
        unknown_extension_options = 31;
        wrong_sequence = 32;
        not_supported = 37;
        not_found = 38;
        invalid_gas_limit = 41;
    }
}

/// Why a query failed, in gRPC terms (the gRPC server maps these to `tonic::Code`,
/// ABCI Query to an `sdk` code with the log `rpc error: code = … desc = …`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryCode {
    InvalidArgument,
    NotFound,
    Internal,
    Unimplemented,
    /// The requested height is not (or no longer) available.
    FailedPrecondition,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryError {
    pub code: QueryCode,
    pub message: String,
}

impl QueryError {
    pub fn invalid_argument(m: impl Into<String>) -> Self {
        QueryError { code: QueryCode::InvalidArgument, message: m.into() }
    }
    pub fn not_found(m: impl Into<String>) -> Self {
        QueryError { code: QueryCode::NotFound, message: m.into() }
    }
    pub fn internal(m: impl Into<String>) -> Self {
        QueryError { code: QueryCode::Internal, message: m.into() }
    }
    pub fn unimplemented(m: impl Into<String>) -> Self {
        QueryError { code: QueryCode::Unimplemented, message: m.into() }
    }
    pub fn failed_precondition(m: impl Into<String>) -> Self {
        QueryError { code: QueryCode::FailedPrecondition, message: m.into() }
    }

    /// gRPC's textual name of the code, as Go clients print it.
    pub fn grpc_name(&self) -> &'static str {
        match self.code {
            QueryCode::InvalidArgument => "InvalidArgument",
            QueryCode::NotFound => "NotFound",
            QueryCode::Internal => "Internal",
            QueryCode::Unimplemented => "Unimplemented",
            QueryCode::FailedPrecondition => "FailedPrecondition",
        }
    }

    /// The (codespace, code) an ABCI Query answer carries for this error.
    pub fn abci_code(&self) -> (&'static str, u32) {
        let e = match self.code {
            QueryCode::InvalidArgument => sdk::invalid_request(""),
            QueryCode::NotFound => sdk::key_not_found(""),
            QueryCode::Internal => sdk::internal(""),
            QueryCode::Unimplemented => sdk::unknown_request(""),
            QueryCode::FailedPrecondition => sdk::invalid_height(""),
        };
        (e.codespace, e.code)
    }
}

impl fmt::Display for QueryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "rpc error: code = {} desc = {}", self.grpc_name(), self.message)
    }
}

impl std::error::Error for QueryError {}

impl From<anyhow::Error> for QueryError {
    fn from(e: anyhow::Error) -> Self {
        QueryError::internal(format!("storage: {e:#}"))
    }
}

impl From<ChainError> for QueryError {
    fn from(e: ChainError) -> Self {
        QueryError::internal(e.message)
    }
}
