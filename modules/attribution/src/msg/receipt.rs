//! `MsgSubmitReceipt`: the consumer delivers its own receipt (its transaction's
//! signature vouches for it) and the inference settles as by `MsgSubmitAttribution`. An
//! operator that withholds a receipt cannot keep the consumer's output from deciding
//! who is paid.
use cnidarium::StateWrite;
use openledger_framework::{Address, ChainError, MsgCtx};
use openledger_proto::openledger::attribution::v1::{MsgSubmitReceipt, MsgSubmitReceiptResponse};

use super::fields::address;
use crate::receipt::{self, Delivery};

/// Without state: the consumer and a well-formed receipt.
pub fn check(m: &MsgSubmitReceipt) -> Result<Address, ChainError> {
    let consumer = address(&m.consumer, "consumer")?;
    receipt::check(m.receipt.as_ref())?;
    Ok(consumer)
}

pub async fn execute<S: StateWrite>(
    state: &mut S,
    m: &MsgSubmitReceipt,
    consumer: &Address,
    ctx: MsgCtx,
) -> Result<MsgSubmitReceiptResponse, ChainError> {
    let r = receipt::given(m.receipt.as_ref())?;
    let (settlement, entries) = receipt::settle_by_receipt(state, r, Delivery::Consumer { consumer }, ctx).await?;
    Ok(MsgSubmitReceiptResponse { settlement: Some(settlement), entries })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error;
    use openledger_proto::openledger::attribution::v1::Receipt;

    fn valid() -> MsgSubmitReceipt {
        MsgSubmitReceipt {
            consumer: Address([1; 20]).to_string(),
            receipt: Some(Receipt {
                chain_id: "c".into(),
                inference_id: 1,
                output_hash: vec![9; 32],
                output_fingerprint: vec![1, 2, 3],
                operator: String::new(),
            }),
        }
    }

    #[test]
    fn check_refuses_each_malformed_field_with_its_code() {
        assert!(check(&valid()).is_ok());
        let r = valid().receipt.unwrap();
        let cases: Vec<(MsgSubmitReceipt, u32)> = vec![
            (MsgSubmitReceipt { consumer: "x".into(), ..valid() }, 13),
            (MsgSubmitReceipt { receipt: None, ..valid() }, 17),
            (MsgSubmitReceipt { receipt: Some(Receipt { inference_id: 0, ..r.clone() }), ..valid() }, 17),
            (MsgSubmitReceipt { receipt: Some(Receipt { output_hash: vec![], ..r }), ..valid() }, 17),
        ];
        for (m, code) in cases {
            let e = check(&m).unwrap_err();
            assert_eq!((e.codespace, e.code), (error::CODESPACE, code), "{m:?}: {}", e.message);
        }
    }
}
