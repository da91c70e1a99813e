//! Protobuf types and gRPC services of the OpenLedger chain, and the subset of the
//! Cosmos SDK API it serves. Generated at build time from `proto/` with protox.
#![allow(clippy::all)]

/// The encoded `FileDescriptorSet` of every service and message here (for gRPC reflection).
pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/descriptor.bin"));

pub mod cosmos {
    pub mod base {
        pub mod v1beta1 {
            include!(concat!(env!("OUT_DIR"), "/cosmos.base.v1beta1.rs"));
        }
        pub mod query {
            pub mod v1beta1 {
                include!(concat!(env!("OUT_DIR"), "/cosmos.base.query.v1beta1.rs"));
                include!(concat!(env!("OUT_DIR"), "/cosmos.base.query.v1beta1.serde.rs"));
            }
        }
    }
    pub mod auth {
        pub mod v1beta1 {
            include!(concat!(env!("OUT_DIR"), "/cosmos.auth.v1beta1.rs"));
        }
    }
    pub mod bank {
        pub mod v1beta1 {
            include!(concat!(env!("OUT_DIR"), "/cosmos.bank.v1beta1.rs"));
        }
    }
    pub mod consensus {
        pub mod v1 {
            include!(concat!(env!("OUT_DIR"), "/cosmos.consensus.v1.rs"));
        }
    }
}

pub mod tendermint {
    pub mod types {
        include!(concat!(env!("OUT_DIR"), "/tendermint.types.rs"));
    }
}

pub mod openledger {
    pub mod auth {
        pub mod v1 {
            include!(concat!(env!("OUT_DIR"), "/openledger.auth.v1.rs"));
        }
    }
    pub mod token {
        pub mod v1 {
            include!(concat!(env!("OUT_DIR"), "/openledger.token.v1.rs"));
        }
    }
    pub mod datanet {
        pub mod v1 {
            include!(concat!(env!("OUT_DIR"), "/openledger.datanet.v1.rs"));
            include!(concat!(env!("OUT_DIR"), "/openledger.datanet.v1.serde.rs"));
        }
    }
    pub mod model {
        pub mod v1 {
            include!(concat!(env!("OUT_DIR"), "/openledger.model.v1.rs"));
            include!(concat!(env!("OUT_DIR"), "/openledger.model.v1.serde.rs"));
        }
    }
    pub mod attribution {
        pub mod v1 {
            include!(concat!(env!("OUT_DIR"), "/openledger.attribution.v1.rs"));
            include!(concat!(env!("OUT_DIR"), "/openledger.attribution.v1.serde.rs"));
        }
    }
    /// The indexer block stream (`openledger.stream.v1.StreamService`).
    pub mod stream {
        pub mod v1 {
            include!(concat!(env!("OUT_DIR"), "/openledger.stream.v1.rs"));
        }
    }
}

/// An event message of a module's `events.proto`: the ABCI event of type
/// `package.EventName` with one attribute per field, in field order (implemented for
/// every such message at build time).
pub trait TypedEvent: prost::Name {
    fn attributes(self) -> Vec<(&'static str, String)>;
}

include!(concat!(env!("OUT_DIR"), "/typed_events.rs"));

/// For `skip_serializing_if` on genesis fields whose zero means "not given".
pub fn is_zero(n: &u64) -> bool {
    *n == 0
}
