//! `/cosmos.bank.v1beta1.MsgSend`: stateless checks first (no state, cheap, run in
//! CheckTx before signature verification), then the authoritative execution.
use cnidarium::StateWrite;
use cosmos_sdk_proto::cosmos::bank::v1beta1::{MsgSend, MsgSendResponse};
use openledger_framework::amount::parse_amount;
use openledger_framework::events::event;
use openledger_framework::{Address, Amount, ChainError, MsgCtx};

use crate::state_ext::{TokenRead, TokenWrite};
use crate::{error, DENOM};

/// A MsgSend whose fields have been parsed and checked: only `check` makes one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedSend {
    from: Address,
    to: Address,
    amount: Amount,
}

impl CheckedSend {
    pub fn from(&self) -> Address {
        self.from
    }
    pub fn to(&self) -> Address {
        self.to
    }
    pub fn amount(&self) -> Amount {
        self.amount
    }
}

pub fn check(msg: &MsgSend) -> Result<CheckedSend, ChainError> {
    let from = Address::parse(&msg.from_address).map_err(|e| error::invalid_address(format!("invalid from address: {e}")))?;
    let to = Address::parse(&msg.to_address).map_err(|e| error::invalid_address(format!("invalid to address: {e}")))?;
    if msg.amount.is_empty() {
        return Err(error::invalid_coins("amount is empty: invalid coins"));
    }
    if msg.amount.len() > 1 {
        return Err(error::invalid_coins(format!("{} coins given; only {DENOM} exists on this chain: invalid coins", msg.amount.len())));
    }
    let coin = &msg.amount[0];
    if coin.denom != DENOM {
        return Err(error::unknown_denom(format!("unknown denom {:?}; this chain moves only {DENOM}", coin.denom)));
    }
    let amount = parse_amount(&coin.amount).map_err(|e| error::invalid_coins(format!("{e}: invalid coins")))?;
    if amount == 0 {
        return Err(error::invalid_coins(format!("0{DENOM}: amount must be positive: invalid coins")));
    }
    Ok(CheckedSend { from, to, amount })
}

pub async fn execute<S: StateWrite>(state: &mut S, send: &CheckedSend, ctx: MsgCtx) -> Result<MsgSendResponse, ChainError> {
    let msg_index = ctx.msg_index;
    let params = state.token_params().await?;
    if !params.send_enabled {
        return Err(error::send_disabled("transfers are disabled by the token params"));
    }
    if let Some(m) = ctx.module_account_at(&send.to) {
        return Err(error::module_account_recipient(format!(
            "{} is the module account {:?}: only its module moves funds into it",
            send.to,
            m.name()
        )));
    }
    state.send(&send.from, &send.to, send.amount, Some(msg_index)).await?;
    state.record(event(
        "message",
        [("sender", send.from.to_string()), ("module", "bank".to_string()), ("msg_index", msg_index.to_string())],
    ));
    Ok(MsgSendResponse {})
}

#[cfg(test)]
mod tests {
    use super::*;
    use cosmos_sdk_proto::cosmos::base::v1beta1::Coin;

    fn msg(amount: Vec<Coin>) -> MsgSend {
        MsgSend { from_address: Address([1; 20]).to_string(), to_address: Address([2; 20]).to_string(), amount }
    }

    fn coin(denom: &str, amount: &str) -> Coin {
        Coin { denom: denom.into(), amount: amount.into() }
    }

    #[test]
    fn check_send_accepts_one_positive_uopen_coin() {
        let c = check(&msg(vec![coin("uopen", "5")])).unwrap();
        assert_eq!(c, CheckedSend { from: Address([1; 20]), to: Address([2; 20]), amount: 5 });
    }

    #[test]
    fn check_send_refuses_each_bad_field_with_its_code() {
        let cases = [
            (msg(vec![]), 3),
            (msg(vec![coin("uopen", "0")]), 3),
            (msg(vec![coin("uopen", "-1")]), 3),
            (msg(vec![coin("uopen", "1.5")]), 3),
            (msg(vec![coin("uopen", "340282366920938463463374607431768211456")]), 3),
            (msg(vec![coin("uatom", "1")]), 4),
            (msg(vec![coin("uopen", "1"), coin("uopen", "1")]), 3),
            (MsgSend { from_address: "bad".into(), ..msg(vec![coin("uopen", "1")]) }, 6),
            (MsgSend { to_address: "".into(), ..msg(vec![coin("uopen", "1")]) }, 6),
        ];
        for (m, code) in cases {
            let e = check(&m).unwrap_err();
            assert_eq!((e.codespace, e.code), (crate::error::CODESPACE, code), "{m:?}: {}", e.message);
        }
    }
}
