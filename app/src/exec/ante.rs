//! The ante step, run before a transaction's messages, as a list of named steps
//! (read top to bottom, `run` is the spec). Everything it writes — the fee and the
//! sequence bump — sticks even when the messages fail afterwards.
use cnidarium::{StateRead, StateWrite};
use openledger_framework::amount::format_coin;
use openledger_framework::events::event;
use openledger_framework::{sdk, ChainError};
use openledger_proto::cosmos::auth::v1beta1::BaseAccount;
use openledger_token::state_ext::{TokenRead, TokenWrite};
use openledger_token::{DENOM, FEE_COLLECTOR};

use crate::exec::pipeline::TxEnv;
use crate::exec::tx::{verify_signature, DecodedTx, PubKey};

/// A signature already verified off the hot path (in parallel, before execution),
/// for this account number and key. Used only if execution sees the same inputs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Preverified {
    pub account_number: u64,
    pub pubkey: PubKey,
}

/// What the ante step runs with: the tx's environment, and the gas meter the state is
/// metered with.
pub struct AnteContext<'a> {
    pub env: &'a TxEnv<'a>,
    pub meter: &'a openledger_framework::GasMeter,
}

pub async fn run<S: StateWrite>(state: &mut S, tx: &DecodedTx, ctx: &AnteContext<'_>) -> Result<(), ChainError> {
    check_timeout_height(tx, ctx)?;
    check_min_fee(tx, ctx)?;
    consume_gas_for_tx_size(tx, ctx)?;
    let mut accounts = load_signer_accounts(state, tx).await?;
    let keys = set_pubkeys(tx, &mut accounts)?;
    check_sequences(tx, &accounts)?;
    consume_gas_for_signatures(&keys, ctx)?;
    verify_signatures(tx, &accounts, &keys, ctx)?;
    deduct_fee(state, tx, ctx.env.mode.is_simulation()).await?;
    increment_sequences(state, tx, accounts).await?;
    Ok(())
}

fn check_timeout_height(tx: &DecodedTx, ctx: &AnteContext<'_>) -> Result<(), ChainError> {
    if tx.timeout_height() != 0 && ctx.env.height > tx.timeout_height() {
        return Err(sdk::tx_timeout_height(format!(
            "block height: {}, timeout height: {}: tx timeout height",
            ctx.env.height,
            tx.timeout_height()
        )));
    }
    Ok(())
}

/// The chain's consensus minimum: fee ≥ gas limit × `min_gas_price` (a simulation's fee
/// is not known yet). Checked before any state is read or signature verified.
fn check_min_fee(tx: &DecodedTx, ctx: &AnteContext<'_>) -> Result<(), ChainError> {
    if ctx.env.mode.is_simulation() {
        return Ok(());
    }
    let needed = openledger_framework::amount::fee_for_gas(tx.gas_limit(), ctx.env.constants.min_gas_price_atto);
    if tx.fee() < needed {
        return Err(min_fee_error(tx.fee(), needed));
    }
    Ok(())
}

/// The Cosmos SDK's words for a fee below a minimum.
pub fn min_fee_error(got: u128, needed: u128) -> ChainError {
    sdk::insufficient_fee(format!("insufficient fees; got: {got}uopen required: {needed}uopen: insufficient fee"))
}

/// The one out-of-gas error, in the Cosmos SDK's words.
pub fn out_of_gas_error(meter: &openledger_framework::GasMeter) -> ChainError {
    sdk::out_of_gas(format!("out of gas; gasWanted: {}, gasUsed: {}: out of gas", meter.limit(), meter.used_uncapped()))
}

fn out_of_gas(ctx: &AnteContext<'_>) -> ChainError {
    out_of_gas_error(ctx.meter)
}

/// Gas per byte of the tx. A simulated tx is measured as it will be sent: each empty
/// signature counts as the 64 bytes a secp256k1 signature will take.
fn consume_gas_for_tx_size(tx: &DecodedTx, ctx: &AnteContext<'_>) -> Result<(), ChainError> {
    let mut len = tx.len() as u64;
    if ctx.env.mode.is_simulation() {
        len += tx.signers().iter().filter(|s| s.signature.is_empty()).count() as u64 * SIMULATED_SIGNATURE_BYTES;
    }
    ctx.meter.consume(ctx.env.constants.params.tx_size_cost_per_byte.saturating_mul(len)).map_err(|_| out_of_gas(ctx))
}

/// The size a secp256k1 signature (r, s) adds to a tx, counted for simulated txs.
const SIMULATED_SIGNATURE_BYTES: u64 = 64;

async fn load_signer_accounts<S: StateRead>(state: &S, tx: &DecodedTx) -> Result<Vec<BaseAccount>, ChainError> {
    let mut accounts = Vec::with_capacity(tx.signers().len());
    for s in tx.signers() {
        let acct = state
            .account(&s.address)
            .await?
            .ok_or_else(|| sdk::unknown_address(format!("account {} does not exist: unknown address", s.address)))?;
        accounts.push(acct);
    }
    Ok(accounts)
}

/// The key of each signer: the one in the tx (recorded on first use) or the recorded one.
fn set_pubkeys(tx: &DecodedTx, accounts: &mut [BaseAccount]) -> Result<Vec<PubKey>, ChainError> {
    let mut keys = Vec::with_capacity(tx.signers().len());
    for (s, acct) in tx.signers().iter().zip(accounts.iter_mut()) {
        let recorded = match (&acct.pub_key, &s.pubkey) {
            // The tx repeats the recorded key (the usual case): no need to parse it again.
            (Some(a), Some(given)) if given.is_recorded_as(a) => Some(Ok(given.clone())),
            (Some(a), _) => Some(PubKey::from_recorded(a)),
            (None, _) => None,
        };
        let key = match (&s.pubkey, recorded) {
            (Some(given), Some(Ok(rec))) if *given != rec => {
                return Err(sdk::invalid_pubkey(format!("pubkey does not match the key of account {}: invalid pubkey", s.address)))
            }
            (_, Some(Ok(rec))) => rec,
            (_, Some(Err(e))) => return Err(e),
            (Some(given), None) => {
                acct.pub_key = Some(given.to_any());
                given.clone()
            }
            (None, None) => {
                return Err(sdk::invalid_pubkey(format!(
                    "account {} has no public key yet; include it in the tx: invalid pubkey",
                    s.address
                )))
            }
        };
        keys.push(key);
    }
    Ok(keys)
}

fn check_sequences(tx: &DecodedTx, accounts: &[BaseAccount]) -> Result<(), ChainError> {
    for (s, acct) in tx.signers().iter().zip(accounts) {
        if s.sequence != acct.sequence {
            return Err(sdk::wrong_sequence(format!(
                "account sequence mismatch, expected {}, got {}: incorrect account sequence",
                acct.sequence, s.sequence
            )));
        }
    }
    Ok(())
}

fn consume_gas_for_signatures(keys: &[PubKey], ctx: &AnteContext<'_>) -> Result<(), ChainError> {
    for k in keys {
        let cost = match k {
            PubKey::Secp256k1(..) => ctx.env.constants.params.sig_verify_cost_secp256k1,
            PubKey::Ed25519(_) => ctx.env.constants.params.sig_verify_cost_ed25519,
        };
        ctx.meter.consume(cost).map_err(|_| out_of_gas(ctx))?;
    }
    Ok(())
}

fn verify_signatures(tx: &DecodedTx, accounts: &[BaseAccount], keys: &[PubKey], ctx: &AnteContext<'_>) -> Result<(), ChainError> {
    if !ctx.env.mode.verifies_signatures() {
        return Ok(());
    }
    for (i, ((s, acct), key)) in tx.signers().iter().zip(accounts).zip(keys).enumerate() {
        let pre = ctx.env.preverified.get(i).and_then(|p| p.as_ref());
        let already = pre.is_some_and(|p| p.account_number == acct.account_number && p.pubkey == *key);
        if !already && !verify_signature(key, &tx.sign_bytes(&ctx.env.constants.chain_id, acct.account_number), &s.signature) {
            return Err(sdk::unauthorized(format!(
                "signature verification failed; please verify account number ({}), sequence ({}) and chain-id ({}): unauthorized",
                acct.account_number, acct.sequence, ctx.env.constants.chain_id
            )));
        }
    }
    Ok(())
}

/// Move the fee to the fee collector. A simulation of a tx without a fee (clients
/// simulate before they know the fee) still does the transfer's reads and writes, so
/// the gas it reports covers the fee the real tx will carry.
async fn deduct_fee<S: StateWrite>(state: &mut S, tx: &DecodedTx, simulate: bool) -> Result<(), ChainError> {
    let payer = tx.fee_payer();
    if tx.fee() > 0 || simulate {
        let balance = state.balance(&payer).await?;
        if balance < tx.fee() {
            return Err(sdk::insufficient_funds(format!("{balance}{DENOM} is smaller than {}{DENOM}: insufficient funds", tx.fee())));
        }
        state.send_to_module(&payer, &FEE_COLLECTOR, tx.fee(), None).await?;
    }
    state.record(event("tx", [("fee", format_coin(tx.fee(), DENOM)), ("fee_payer", payer.to_string())]));
    Ok(())
}

async fn increment_sequences<S: StateWrite>(state: &mut S, tx: &DecodedTx, accounts: Vec<BaseAccount>) -> Result<(), ChainError> {
    for (s, mut acct) in tx.signers().iter().zip(accounts) {
        state.record(event("tx", [("acc_seq", format!("{}/{}", s.address, acct.sequence))]));
        acct.sequence = acct.sequence.saturating_add(1);
        state.set_account_auth(&acct, &s.address).await?;
    }
    for s in tx.signers() {
        use base64::Engine;
        state.record(event("tx", [("signature", base64::engine::general_purpose::STANDARD.encode(&s.signature))]));
    }
    Ok(())
}
