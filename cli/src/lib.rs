pub mod keyring;
pub mod load;
pub mod rpc;
pub mod txbuilder;
