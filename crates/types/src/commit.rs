//! Contribution commitments (`MsgCommitContribution`): computed by the CLI that commits
//! and by the chain that checks the reveal, with this one function.
use sha2::{Digest, Sha256};

use crate::Address;

/// Separates contribution commitments from every other hash the chain checks.
pub const DOMAIN: &[u8] = b"openledger.datanet.v1.Commit\0";

/// SHA-256(DOMAIN ‖ datanet id (u64 BE) ‖ contributor (20 bytes) ‖ content hash ‖ salt):
/// it binds the contributor, so nobody else can reveal against it.
pub fn commitment(datanet_id: u64, contributor: &Address, content_hash: &[u8], salt: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(DOMAIN);
    h.update(datanet_id.to_be_bytes());
    h.update(contributor.as_bytes());
    h.update(content_hash);
    h.update(salt);
    h.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_commitment_binds_every_input() {
        let (a, b) = (Address([1; 20]), Address([2; 20]));
        let base = commitment(1, &a, &[7; 32], b"salt-salt-salt-1");
        assert_ne!(base, commitment(2, &a, &[7; 32], b"salt-salt-salt-1"));
        assert_ne!(base, commitment(1, &b, &[7; 32], b"salt-salt-salt-1"));
        assert_ne!(base, commitment(1, &a, &[8; 32], b"salt-salt-salt-1"));
        assert_ne!(base, commitment(1, &a, &[7; 32], b"salt-salt-salt-2"));
    }
}
