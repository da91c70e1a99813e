//! Inference receipts: what the consumer of an inference vouches it received. The chain
//! scores attribution on a receipt's output fingerprint only, and checks the receipt's
//! signature against the consumer's account key; the CLI makes them and checks them
//! with these same functions.
use openledger_proto::openledger::attribution::v1::Receipt;
use prost::Message;

use crate::fingerprint;
use crate::keys::{verify_signature, PubKey};

/// Separates receipt signatures from every other signed payload (a transaction's sign
/// bytes are a `SignDoc`, which never starts with this text).
pub const DOMAIN: &[u8] = b"openledger.attribution.v1.Receipt\0";

/// `DOMAIN ‖` the receipt's protobuf encoding (prost writes fields in number order and
/// omits defaults, so one receipt has one encoding).
pub fn sign_bytes(r: &Receipt) -> Vec<u8> {
    [DOMAIN, r.encode_to_vec().as_slice()].concat()
}

/// Why a receipt is malformed, if it is: a chain id, a positive inference id, a 32-byte
/// output hash, and an output fingerprint of 1 to `max_hashes` sorted, unique hashes.
pub fn check(r: &Receipt, max_hashes: u32) -> Result<(), String> {
    if r.chain_id.is_empty() {
        return Err("receipt: chain_id is empty".into());
    }
    if r.inference_id == 0 {
        return Err("receipt: inference_id must be positive".into());
    }
    if r.output_hash.len() != 32 {
        return Err(format!("receipt: output_hash must be a 32-byte SHA-256, got {} bytes", r.output_hash.len()));
    }
    if r.output_fingerprint.is_empty() {
        return Err("receipt: the output fingerprint is empty (an output of fewer than 8 words cannot be scored)".into());
    }
    fingerprint::check(&r.output_fingerprint, 1, max_hashes).map_err(|e| format!("receipt: output fingerprint: {e}"))
}

/// Whether `signature` is `key`'s over the receipt.
pub fn verify(r: &Receipt, key: &PubKey, signature: &[u8]) -> bool {
    verify_signature(key, &sign_bytes(r), signature)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid() -> Receipt {
        Receipt {
            chain_id: "c".into(),
            inference_id: 1,
            output_hash: vec![1; 32],
            output_fingerprint: vec![16, 32],
            operator: String::new(),
        }
    }

    #[test]
    fn sign_bytes_are_the_domain_then_the_encoding() {
        let r = valid();
        let b = sign_bytes(&r);
        assert!(b.starts_with(DOMAIN));
        assert_eq!(Receipt::decode(&b[DOMAIN.len()..]).unwrap(), r);
        let other = Receipt { inference_id: 2, ..valid() };
        assert_ne!(sign_bytes(&other), b, "a receipt signs its inference id");
    }

    #[test]
    fn check_refuses_each_malformed_field() {
        assert_eq!(check(&valid(), 512), Ok(()));
        for (r, what) in [
            (Receipt { chain_id: String::new(), ..valid() }, "chain_id"),
            (Receipt { inference_id: 0, ..valid() }, "inference_id"),
            (Receipt { output_hash: vec![1; 31], ..valid() }, "output_hash"),
            (Receipt { output_fingerprint: vec![], ..valid() }, "empty"),
            (Receipt { output_fingerprint: vec![32, 16], ..valid() }, "sorted"),
        ] {
            assert!(check(&r, 512).unwrap_err().contains(what), "{r:?}");
        }
        assert!(check(&valid(), 1).unwrap_err().contains("cap is 1"));
    }
}
