//! Building and signing Cosmos SDK transactions (TxRaw, SIGN_MODE_DIRECT). The CLI and
//! the tests use this one implementation, so what the tests prove is what users send.
use cosmos_sdk_proto::cosmos::bank::v1beta1::MsgSend;
use cosmos_sdk_proto::cosmos::base::v1beta1::Coin;
use cosmos_sdk_proto::cosmos::tx::signing::v1beta1::SignMode;
use cosmos_sdk_proto::cosmos::tx::v1beta1::{mode_info, AuthInfo, Fee, ModeInfo, SignDoc, SignerInfo, TxBody, TxRaw};
use cosmos_sdk_proto::Any;
use k256::ecdsa::signature::Signer as _;
use openledger_types::Address;
use prost::Message;

/// The chain's one denomination (defined in `openledger-types`).
pub use openledger_types::DENOM;

/// A key that can sign transactions.
#[derive(Clone)]
pub enum SignerKey {
    Secp256k1(k256::ecdsa::SigningKey),
    Ed25519(ed25519_dalek::SigningKey),
}

impl SignerKey {
    pub fn pubkey_any(&self) -> Any {
        #[derive(Clone, PartialEq, prost::Message)]
        struct KeyBytes {
            #[prost(bytes = "vec", tag = "1")]
            key: Vec<u8>,
        }
        let (type_url, key) = match self {
            SignerKey::Secp256k1(k) => ("/cosmos.crypto.secp256k1.PubKey", k.verifying_key().to_encoded_point(true).as_bytes().to_vec()),
            SignerKey::Ed25519(k) => ("/cosmos.crypto.ed25519.PubKey", k.verifying_key().to_bytes().to_vec()),
        };
        Any { type_url: type_url.to_string(), value: KeyBytes { key }.encode_to_vec() }
    }

    pub fn address(&self) -> Address {
        match self {
            SignerKey::Secp256k1(k) => Address::from_secp256k1_pubkey(k.verifying_key().to_encoded_point(true).as_bytes()),
            SignerKey::Ed25519(k) => Address::from_ed25519_pubkey(&k.verifying_key().to_bytes()),
        }
    }

    /// secp256k1: 64-byte (r, s) over SHA-256 of the sign bytes, low S (k256 normalises);
    /// ed25519: the 64-byte signature of the sign bytes themselves.
    pub fn sign(&self, sign_bytes: &[u8]) -> Vec<u8> {
        match self {
            SignerKey::Secp256k1(k) => {
                let sig: k256::ecdsa::Signature = k.sign(sign_bytes);
                sig.to_bytes().to_vec()
            }
            SignerKey::Ed25519(k) => {
                use ed25519_dalek::Signer;
                k.sign(sign_bytes).to_bytes().to_vec()
            }
        }
    }
}

pub fn coin(amount: u128) -> Coin {
    Coin { denom: DENOM.to_string(), amount: amount.to_string() }
}

/// A message as the `Any` a tx body carries, its type URL from the generated type.
pub fn any<M: prost::Message + prost::Name>(m: &M) -> Any {
    Any { type_url: M::type_url(), value: m.encode_to_vec() }
}

pub fn msg_send(from: &Address, to: &Address, amount: u128) -> Any {
    any(&MsgSend { from_address: from.to_string(), to_address: to.to_string(), amount: vec![coin(amount)] })
}

/// Everything about a tx except its signature.
#[derive(Clone, Debug)]
pub struct TxSpec {
    pub msgs: Vec<Any>,
    pub memo: String,
    pub fee: u128,
    pub gas_limit: u64,
    pub timeout_height: u64,
}

impl TxSpec {
    pub fn new(msgs: Vec<Any>, fee: u128, gas_limit: u64) -> Self {
        TxSpec { msgs, memo: String::new(), fee, gas_limit, timeout_height: 0 }
    }

    pub fn body_bytes(&self) -> Vec<u8> {
        TxBody { messages: self.msgs.clone(), memo: self.memo.clone(), timeout_height: self.timeout_height, ..Default::default() }
            .encode_to_vec()
    }

    pub fn auth_info_bytes(&self, key: &SignerKey, sequence: u64) -> Vec<u8> {
        AuthInfo {
            signer_infos: vec![SignerInfo {
                public_key: Some(key.pubkey_any()),
                mode_info: Some(ModeInfo { sum: Some(mode_info::Sum::Single(mode_info::Single { mode: SignMode::Direct as i32 })) }),
                sequence,
            }],
            fee: Some(Fee {
                amount: if self.fee == 0 { vec![] } else { vec![coin(self.fee)] },
                gas_limit: self.gas_limit,
                ..Default::default()
            }),
            ..Default::default()
        }
        .encode_to_vec()
    }
}

pub fn sign_bytes(body_bytes: &[u8], auth_info_bytes: &[u8], chain_id: &str, account_number: u64) -> Vec<u8> {
    SignDoc { body_bytes: body_bytes.to_vec(), auth_info_bytes: auth_info_bytes.to_vec(), chain_id: chain_id.to_string(), account_number }
        .encode_to_vec()
}

/// A signed TxRaw, ready to broadcast.
pub fn sign_tx(spec: &TxSpec, key: &SignerKey, chain_id: &str, account_number: u64, sequence: u64) -> Vec<u8> {
    let body_bytes = spec.body_bytes();
    let auth_info_bytes = spec.auth_info_bytes(key, sequence);
    let signature = key.sign(&sign_bytes(&body_bytes, &auth_info_bytes, chain_id, account_number));
    TxRaw { body_bytes, auth_info_bytes, signatures: vec![signature] }.encode_to_vec()
}

/// The same tx with a placeholder signature of the real size, for gas simulation
/// (simulation skips signature checks but charges for the tx's size).
pub fn unsigned_tx(spec: &TxSpec, key: &SignerKey, sequence: u64) -> Vec<u8> {
    TxRaw { body_bytes: spec.body_bytes(), auth_info_bytes: spec.auth_info_bytes(key, sequence), signatures: vec![vec![0u8; 64]] }
        .encode_to_vec()
}
