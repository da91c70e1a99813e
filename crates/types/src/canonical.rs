//! Canonical protobuf decoding: bytes are accepted only if they are exactly what encoding
//! the decoded message gives back — every field once and in field-number order, no
//! unknown fields, no default values written out, repeated scalars packed. So a message
//! has one encoding: nobody who relays a transaction can change its hash, or the bytes a
//! signer signed, without changing what it says. (Cosmos ADR-027 refuses unknown fields;
//! this is stricter, and needs no descriptors: standard encoders — prost, protobuf-js,
//! ts-proto, Go and Python protobuf — all write the canonical form.)
use std::fmt;

use prost::Message;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CanonicalError {
    /// Not a valid encoding of the message at all.
    Decode(prost::DecodeError),
    /// A valid encoding, but not the canonical one.
    NotCanonical { got: usize, canonical: usize },
}

impl fmt::Display for CanonicalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CanonicalError::Decode(e) => write!(f, "{e}"),
            CanonicalError::NotCanonical { got, canonical } => write!(
                f,
                "not in canonical protobuf encoding ({got} bytes, canonical {canonical}): unknown, repeated or reordered fields, or defaults written out"
            ),
        }
    }
}

impl std::error::Error for CanonicalError {}

/// Decode `bytes` as `M`, refusing any encoding but the canonical one.
pub fn decode<M: Message + Default>(bytes: &[u8]) -> Result<M, CanonicalError> {
    let m = M::decode(bytes).map_err(CanonicalError::Decode)?;
    let canonical = m.encoded_len();
    if canonical != bytes.len() || m.encode_to_vec() != bytes {
        return Err(CanonicalError::NotCanonical { got: bytes.len(), canonical });
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, PartialEq, Message)]
    struct T {
        #[prost(uint64, tag = "1")]
        a: u64,
        #[prost(string, tag = "2")]
        b: String,
        #[prost(uint64, repeated, tag = "3")]
        c: Vec<u64>,
    }

    fn t() -> T {
        T { a: 5, b: "x".into(), c: vec![1, 2] }
    }

    #[test]
    fn canonical_bytes_decode() {
        let bytes = t().encode_to_vec();
        assert_eq!(decode::<T>(&bytes), Ok(t()));
        assert_eq!(decode::<T>(&[]), Ok(T::default()));
    }

    #[test]
    fn unknown_field_is_refused() {
        let mut bytes = t().encode_to_vec();
        bytes.extend([0x20, 0x01]); // field 4, varint 1
        assert!(matches!(decode::<T>(&bytes), Err(CanonicalError::NotCanonical { .. })));
    }

    #[test]
    fn duplicate_scalar_field_is_refused() {
        let mut bytes = t().encode_to_vec();
        bytes.extend([0x08, 0x07]); // field 1 again: last one wins in protobuf
        assert_eq!(T::decode(bytes.as_slice()).unwrap().a, 7, "protobuf itself accepts it");
        assert!(matches!(decode::<T>(&bytes), Err(CanonicalError::NotCanonical { .. })));
    }

    #[test]
    fn reordered_fields_are_refused() {
        // b (field 2) before a (field 1).
        let bytes = [0x12, 0x01, b'x', 0x08, 0x05];
        assert!(matches!(decode::<T>(&bytes), Err(CanonicalError::NotCanonical { .. })));
    }

    #[test]
    fn default_written_out_is_refused() {
        let bytes = [0x08, 0x00]; // a = 0 written explicitly
        assert!(matches!(decode::<T>(&bytes), Err(CanonicalError::NotCanonical { .. })));
    }

    #[test]
    fn unpacked_repeated_scalars_are_refused() {
        let bytes = [0x18, 0x01, 0x18, 0x02]; // c as two unpacked varints
        assert_eq!(T::decode(&bytes[..]).unwrap().c, vec![1, 2]);
        assert!(matches!(decode::<T>(&bytes), Err(CanonicalError::NotCanonical { .. })));
    }

    #[test]
    fn garbage_is_a_decode_error() {
        assert!(matches!(decode::<T>(&[0xff, 0xff]), Err(CanonicalError::Decode(_))));
    }
}
