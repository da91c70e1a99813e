//! Transaction decoding and signature checking, Cosmos SDK wire format.
//!
//! `DecodedTx` can only be built by `decode`, which performs every check that needs no
//! state (size, encoding, memo, message types and fields, signer/signature counts, fee
//! shape, key types). Signature verification needs the signer's account number, so it
//! happens in the ante step; `verify_signature` is the one place that checks a signature.
use cosmos_sdk_proto::cosmos::tx::signing::v1beta1::SignMode;
use cosmos_sdk_proto::cosmos::tx::v1beta1::{mode_info, AuthInfo, SignDoc, TxBody, TxRaw};
use openledger_framework::amount::parse_amount;
use openledger_framework::canonical;
use openledger_framework::{sdk, Address, Amount, ChainError, ExecMode};
use openledger_proto::openledger::auth::v1::Params as AuthParams;
use openledger_token::DENOM;
use prost::Message;

pub use crate::registry::Msg;
pub use openledger_framework::keys::{verify_signature, PubKey};

/// One signer of a tx, in the order the messages name them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signer {
    pub address: Address,
    /// None when the tx relies on the key already recorded on the account.
    pub pubkey: Option<PubKey>,
    pub sequence: u64,
    pub signature: Vec<u8>,
}

/// A transaction decoded and checked without state: only `decode` makes one.
#[derive(Debug, Clone)]
pub struct DecodedTx {
    len: usize,
    body_bytes: Vec<u8>,
    auth_info_bytes: Vec<u8>,
    msgs: Vec<Msg>,
    signers: Vec<Signer>,
    memo: String,
    timeout_height: u64,
    fee: Amount,
    gas_limit: u64,
}

impl DecodedTx {
    /// Its size in bytes, as received.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn msgs(&self) -> &[Msg] {
        &self.msgs
    }

    /// The signers, in the order the messages name them (at least one).
    pub fn signers(&self) -> &[Signer] {
        &self.signers
    }

    pub fn memo(&self) -> &str {
        &self.memo
    }

    pub fn timeout_height(&self) -> u64 {
        self.timeout_height
    }

    pub fn fee(&self) -> Amount {
        self.fee
    }

    pub fn gas_limit(&self) -> u64 {
        self.gas_limit
    }

    pub fn fee_payer(&self) -> Address {
        // decode() guarantees at least one signer.
        self.signers[0].address
    }

    /// Keys executing this tx will read: signers' accounts and balances, and what its
    /// messages read (a prefetch hint; never affects results).
    pub fn prefetch_keys(&self, out: &mut std::collections::BTreeSet<String>) {
        for s in &self.signers {
            out.insert(openledger_token::state_key::account(&s.address));
        }
        for m in &self.msgs {
            m.prefetch_keys(out);
        }
    }

    /// The bytes signer `account_number` signs (SIGN_MODE_DIRECT): the SignDoc over the
    /// raw body and auth-info bytes, exactly as received — never re-encoded.
    pub fn sign_bytes(&self, chain_id: &str, account_number: u64) -> Vec<u8> {
        SignDoc {
            body_bytes: self.body_bytes.clone(),
            auth_info_bytes: self.auth_info_bytes.clone(),
            chain_id: chain_id.to_string(),
            account_number,
        }
        .encode_to_vec()
    }
}

/// A simulation relaxes only what a client cannot know before signing: empty
/// signatures, an unspecified sign mode and a gas limit of 0.
pub fn decode(bytes: &[u8], params: &AuthParams, mode: ExecMode) -> Result<DecodedTx, ChainError> {
    let simulate = mode.is_simulation();
    if bytes.len() as u64 > params.max_tx_bytes {
        return Err(sdk::tx_too_large(format!("tx is {} bytes, the limit is {}: tx too large", bytes.len(), params.max_tx_bytes)));
    }
    // One encoding per tx (no unknown, repeated or reordered fields), so its hash and
    // signed bytes cannot be changed by whoever relays it.
    let raw = canonical::decode::<TxRaw>(bytes).map_err(|e| sdk::tx_decode(format!("{e}: tx parse error")))?;
    let body = canonical::decode::<TxBody>(&raw.body_bytes).map_err(|e| sdk::tx_decode(format!("body: {e}: tx parse error")))?;
    let auth_info =
        canonical::decode::<AuthInfo>(&raw.auth_info_bytes).map_err(|e| sdk::tx_decode(format!("auth info: {e}: tx parse error")))?;

    if !body.extension_options.is_empty() || !body.non_critical_extension_options.is_empty() {
        return Err(sdk::unknown_extension_options("extension options are not supported: unknown extension options"));
    }
    if body.memo.chars().count() as u64 > params.max_memo_chars {
        return Err(sdk::memo_too_large(format!(
            "maximum number of characters is {} but received {} characters: memo too large",
            params.max_memo_chars,
            body.memo.chars().count()
        )));
    }
    if body.messages.is_empty() {
        return Err(sdk::invalid_request("must contain at least one message: invalid request"));
    }
    if body.messages.len() as u64 > params.max_msgs_per_tx {
        return Err(sdk::invalid_request(format!(
            "{} messages, the limit is {}: invalid request",
            body.messages.len(),
            params.max_msgs_per_tx
        )));
    }
    let msgs = body.messages.iter().map(Msg::decode).collect::<Result<Vec<_>, _>>()?;

    // Signers in order of first appearance, as the Cosmos SDK's GetSigners does.
    let mut signer_addrs: Vec<Address> = Vec::new();
    for m in &msgs {
        let s = m.signer();
        if !signer_addrs.contains(&s) {
            signer_addrs.push(s);
        }
    }
    if auth_info.signer_infos.len() != signer_addrs.len() {
        return Err(sdk::unauthorized(format!(
            "wrong number of signers; expected {}, got {}: unauthorized",
            signer_addrs.len(),
            auth_info.signer_infos.len()
        )));
    }
    if raw.signatures.len() != signer_addrs.len() {
        return Err(sdk::unauthorized(format!(
            "wrong number of signatures; expected {}, got {}: unauthorized",
            signer_addrs.len(),
            raw.signatures.len()
        )));
    }
    let mut signers = Vec::with_capacity(signer_addrs.len());
    for ((address, info), signature) in signer_addrs.iter().zip(&auth_info.signer_infos).zip(&raw.signatures) {
        match info.mode_info.as_ref().and_then(|m| m.sum.as_ref()) {
            Some(mode_info::Sum::Single(s)) if s.mode == SignMode::Direct as i32 => {}
            // Clients simulate before signing, with the mode left unspecified.
            Some(mode_info::Sum::Single(s)) if simulate && s.mode == SignMode::Unspecified as i32 => {}
            _ => return Err(sdk::not_supported("only SIGN_MODE_DIRECT single signatures are supported: feature not supported")),
        }
        let pubkey = info.public_key.as_ref().map(PubKey::from_any).transpose()?;
        if let Some(pk) = &pubkey {
            if pk.address() != *address {
                return Err(sdk::invalid_pubkey(format!("pubkey does not match signer address {address}: invalid pubkey")));
            }
        }
        if signature.is_empty() && !simulate {
            return Err(sdk::no_signatures("empty signature: no signatures supplied"));
        }
        signers.push(Signer { address: *address, pubkey, sequence: info.sequence, signature: signature.clone() });
    }

    let fee = auth_info.fee.unwrap_or_default();
    if !fee.granter.is_empty() {
        return Err(sdk::not_supported("fee grants are not supported: feature not supported"));
    }
    if !fee.payer.is_empty() && Address::parse(&fee.payer).ok() != Some(signer_addrs[0]) {
        return Err(sdk::invalid_request("fee payer must be the first signer: invalid request"));
    }
    let mut fee_amount: Amount = 0;
    for coin in &fee.amount {
        if coin.denom != DENOM {
            return Err(sdk::insufficient_fee(format!("fees must be paid in {DENOM}, got {:?}: insufficient fee", coin.denom)));
        }
        let a = parse_amount(&coin.amount).map_err(|e| sdk::invalid_coins(format!("fee: {e}: invalid coins")))?;
        fee_amount = fee_amount.checked_add(a).ok_or_else(|| sdk::invalid_coins("fee overflows: invalid coins"))?;
    }
    // A simulation measures gas: its limit may be left 0 (it runs unlimited).
    if (fee.gas_limit == 0 && !simulate) || fee.gas_limit > params.max_tx_gas {
        return Err(sdk::invalid_gas_limit(format!(
            "gas limit {} must be between 1 and {}: invalid gas limit",
            fee.gas_limit, params.max_tx_gas
        )));
    }

    Ok(DecodedTx {
        len: bytes.len(),
        body_bytes: raw.body_bytes,
        auth_info_bytes: raw.auth_info_bytes,
        msgs,
        signers,
        memo: body.memo,
        timeout_height: body.timeout_height,
        fee: fee_amount,
        gas_limit: fee.gas_limit,
    })
}
