//! Public keys and signature checks, Cosmos SDK encodings: the one place a signature is
//! checked — a transaction's in the ante step, a consumer's receipt in attribution, and
//! the CLI checking a receipt it was given.
use cosmos_sdk_proto::cosmos::crypto::{ed25519, secp256k1};
use k256::ecdsa::signature::Verifier;
use prost::Message;

use crate::error::{sdk, ChainError};
use crate::type_url::is_type_url;
use crate::{type_url_of, Address};

/// A public key, parsed once: secp256k1 keys keep their decompressed curve point, so
/// verifying does not decompress the key again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PubKey {
    Secp256k1([u8; 33], k256::ecdsa::VerifyingKey),
    Ed25519([u8; 32]),
}

impl PubKey {
    pub fn from_any(any: &cosmos_sdk_proto::Any) -> Result<PubKey, ChainError> {
        // Both key types wrap their bytes as field 1 (`bytes key = 1`).
        #[derive(Clone, PartialEq, prost::Message)]
        struct KeyBytes {
            #[prost(bytes = "vec", tag = "1")]
            key: Vec<u8>,
        }
        let k = KeyBytes::decode(any.value.as_slice()).map_err(|e| sdk::invalid_pubkey(format!("{e}: invalid pubkey")))?;
        let url = any.type_url.as_str();
        if is_type_url::<secp256k1::PubKey>(url) {
            let bytes = <[u8; 33]>::try_from(k.key.as_slice())
                .map_err(|_| sdk::invalid_pubkey("secp256k1 key must be 33 compressed bytes: invalid pubkey"))?;
            Ok(PubKey::Secp256k1(bytes, parse_secp256k1(&bytes)?))
        } else if is_type_url::<ed25519::PubKey>(url) {
            let bytes =
                <[u8; 32]>::try_from(k.key.as_slice()).map_err(|_| sdk::invalid_pubkey("ed25519 key must be 32 bytes: invalid pubkey"))?;
            Ok(PubKey::Ed25519(bytes))
        } else {
            Err(sdk::invalid_pubkey(format!("unsupported key type {url}: invalid pubkey")))
        }
    }

    /// The key recorded on an account (stored as a `prost_types::Any`).
    pub fn from_recorded(any: &prost_types::Any) -> Result<PubKey, ChainError> {
        PubKey::from_any(&cosmos_sdk_proto::Any { type_url: any.type_url.clone(), value: any.value.clone() })
    }

    /// The key a signer's signature is checked with: the key recorded on its account
    /// (the tx's own, already parsed, when it is that key), or for an account with no key
    /// yet, the one the tx carries. None when there is neither.
    pub fn for_signer(recorded: Option<&prost_types::Any>, given: Option<&PubKey>) -> Option<Result<PubKey, ChainError>> {
        match (recorded, given) {
            (Some(rec), Some(given)) if given.is_recorded_as(rec) => Some(Ok(given.clone())),
            (Some(rec), _) => Some(PubKey::from_recorded(rec)),
            (None, Some(given)) => Some(Ok(given.clone())),
            (None, None) => None,
        }
    }

    /// Whether `any` (a key recorded on an account) is this key — compared as bytes,
    /// without the curve arithmetic of parsing it. Compressed secp256k1 and ed25519
    /// encodings are canonical, so equal bytes and equal keys are the same thing.
    pub fn is_recorded_as(&self, any: &prost_types::Any) -> bool {
        let (url, key): (&str, &[u8]) = match self {
            PubKey::Secp256k1(k, _) => (type_url_of!(secp256k1::PubKey), k),
            PubKey::Ed25519(k) => (type_url_of!(ed25519::PubKey), k),
        };
        // `bytes key = 1` of 32 or 33 bytes encodes as [0x0a, len, key...].
        any.type_url == url
            && any.value.len() == key.len() + 2
            && any.value[0] == 0x0a
            && usize::from(any.value[1]) == key.len()
            && &any.value[2..] == key
    }

    pub fn to_any(&self) -> prost_types::Any {
        #[derive(Clone, PartialEq, prost::Message)]
        struct KeyBytes {
            #[prost(bytes = "vec", tag = "1")]
            key: Vec<u8>,
        }
        let (url, key) = match self {
            PubKey::Secp256k1(k, _) => (type_url_of!(secp256k1::PubKey), k.to_vec()),
            PubKey::Ed25519(k) => (type_url_of!(ed25519::PubKey), k.to_vec()),
        };
        prost_types::Any { type_url: url.to_string(), value: KeyBytes { key }.encode_to_vec() }
    }

    pub fn address(&self) -> Address {
        match self {
            PubKey::Secp256k1(k, _) => Address::from_secp256k1_pubkey(k),
            PubKey::Ed25519(k) => Address::from_ed25519_pubkey(k),
        }
    }
}

/// Parsed secp256k1 keys by their compressed bytes. Decompressing a key (a square
/// root in the field) costs about a tenth of verifying a signature, and active accounts
/// sign again and again; parsing is a pure function, so this memo cannot change any
/// result. Bounded: when full it starts over.
static PARSED_KEYS: std::sync::RwLock<std::collections::BTreeMap<[u8; 33], k256::ecdsa::VerifyingKey>> =
    std::sync::RwLock::new(std::collections::BTreeMap::new());
const PARSED_KEYS_MAX: usize = 100_000;

fn parse_secp256k1(bytes: &[u8; 33]) -> Result<k256::ecdsa::VerifyingKey, ChainError> {
    if let Some(vk) = PARSED_KEYS.read().ok().and_then(|m| m.get(bytes).copied()) {
        return Ok(vk);
    }
    let vk = k256::ecdsa::VerifyingKey::from_sec1_bytes(bytes)
        .map_err(|_| sdk::invalid_pubkey("secp256k1 key is not on the curve: invalid pubkey"))?;
    if let Ok(mut m) = PARSED_KEYS.write() {
        if m.len() >= PARSED_KEYS_MAX {
            m.clear();
        }
        m.insert(*bytes, vk);
    }
    Ok(vk)
}

/// Verify one signature over `sign_bytes`. secp256k1 signatures must be 64-byte (r, s)
/// with low S (a high-S twin of a valid signature is malleable and refused).
pub fn verify_signature(pubkey: &PubKey, sign_bytes: &[u8], signature: &[u8]) -> bool {
    match pubkey {
        PubKey::Secp256k1(_, vk) => {
            let Ok(sig) = k256::ecdsa::Signature::from_slice(signature) else { return false };
            if sig.normalize_s().is_some() {
                return false; // high S
            }
            vk.verify(sign_bytes, &sig).is_ok()
        }
        PubKey::Ed25519(k) => {
            let Ok(vk) = ed25519_consensus::VerificationKey::try_from(*k) else { return false };
            let Ok(sig_bytes) = <[u8; 64]>::try_from(signature) else { return false };
            vk.verify(&ed25519_consensus::Signature::from(sig_bytes), sign_bytes).is_ok()
        }
    }
}
