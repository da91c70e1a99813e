//! `MsgSubmitAttribution`: an operator of the model delivers the consumer's signed
//! receipt. The chain checks the signature against the consumer's account key, chooses
//! the credited contributions itself from the receipt's output (`score.rs`), and settles
//! the inference at once. The operator names nothing: it cannot direct a fee.
use cnidarium::StateWrite;
use openledger_framework::{Address, ChainError, MsgCtx};
use openledger_proto::openledger::attribution::v1::{MsgSubmitAttribution, MsgSubmitAttributionResponse};

use super::fields::{address, positive_id};
use crate::error;
use crate::receipt::{self, Delivery};

/// A consumer signature is 64 bytes (secp256k1 r ‖ s, or ed25519).
const SIGNATURE_LEN: usize = 64;

/// Without state: the operator, the inference id, a well-formed receipt for that
/// inference, and a 64-byte signature.
pub fn check(m: &MsgSubmitAttribution) -> Result<Address, ChainError> {
    let operator = address(&m.operator, "operator")?;
    positive_id(m.inference_id, "inference_id")?;
    let r = receipt::check(m.receipt.as_ref())?;
    if r.inference_id != m.inference_id {
        return Err(error::invalid_receipt(format!("the receipt is for inference {}, not {}", r.inference_id, m.inference_id)));
    }
    if m.receipt_signature.len() != SIGNATURE_LEN {
        return Err(error::bad_receipt_signature(format!(
            "receipt_signature must be {SIGNATURE_LEN} bytes, got {}",
            m.receipt_signature.len()
        )));
    }
    Ok(operator)
}

pub async fn execute<S: StateWrite>(
    state: &mut S,
    m: &MsgSubmitAttribution,
    operator: &Address,
    ctx: MsgCtx,
) -> Result<MsgSubmitAttributionResponse, ChainError> {
    let r = receipt::given(m.receipt.as_ref())?;
    let (settlement, entries) =
        receipt::settle_by_receipt(state, r, Delivery::Operator { operator, signature: &m.receipt_signature }, ctx).await?;
    Ok(MsgSubmitAttributionResponse { settlement: Some(settlement), entries })
}

#[cfg(test)]
mod tests {
    use super::*;
    use openledger_proto::openledger::attribution::v1::Receipt;

    fn valid() -> MsgSubmitAttribution {
        MsgSubmitAttribution {
            operator: Address([1; 20]).to_string(),
            inference_id: 1,
            receipt: Some(Receipt {
                chain_id: "c".into(),
                inference_id: 1,
                output_hash: vec![9; 32],
                output_fingerprint: vec![1, 2, 3],
                operator: String::new(),
            }),
            receipt_signature: vec![5; 64],
        }
    }

    #[test]
    fn check_refuses_each_malformed_field_with_its_code() {
        assert!(check(&valid()).is_ok());
        let r = valid().receipt.unwrap();
        let cases: Vec<(MsgSubmitAttribution, u32)> = vec![
            (MsgSubmitAttribution { operator: String::new(), ..valid() }, 13),
            (MsgSubmitAttribution { inference_id: 0, ..valid() }, 2),
            (MsgSubmitAttribution { receipt: None, ..valid() }, 17),
            (MsgSubmitAttribution { receipt: Some(Receipt { inference_id: 2, ..r.clone() }), ..valid() }, 17),
            (MsgSubmitAttribution { receipt: Some(Receipt { output_hash: vec![9; 33], ..r.clone() }), ..valid() }, 17),
            (MsgSubmitAttribution { receipt: Some(Receipt { output_fingerprint: vec![3, 2], ..r.clone() }), ..valid() }, 17),
            (MsgSubmitAttribution { receipt: Some(Receipt { output_fingerprint: vec![], ..r.clone() }), ..valid() }, 17),
            (MsgSubmitAttribution { receipt: Some(Receipt { chain_id: String::new(), ..r }), ..valid() }, 17),
            (MsgSubmitAttribution { receipt_signature: vec![5; 63], ..valid() }, 18),
        ];
        for (m, code) in cases {
            let e = check(&m).unwrap_err();
            assert_eq!((e.codespace, e.code), (error::CODESPACE, code), "{m:?}: {}", e.message);
        }
    }
}
