pub mod keyring;
pub mod rpc;
pub mod txbuilder;
