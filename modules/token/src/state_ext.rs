//! Typed reads and writes of token state. Other modules move OPEN only through
//! `TokenWrite::transfer` (and `mint`/`burn`), never by writing token keys.
use std::future::Future;

use cnidarium::{StateRead, StateWrite};
use openledger_framework::{Address, Amount, ChainError, StoreRead, StoreWrite};
use openledger_proto::cosmos::auth::v1beta1::BaseAccount;
use openledger_proto::openledger::token::v1::{AccountState, Params};
use prost::Message;

use crate::{error, events, state_key};

pub trait TokenRead: StateRead {
    fn token_params(&self) -> impl Future<Output = Result<Params, ChainError>> + Send {
        async move {
            self.get_proto::<Params>(state_key::params())
                .await?
                .ok_or_else(|| openledger_framework::sdk::internal("token params missing"))
        }
    }

    fn account_state(&self, addr: &Address) -> impl Future<Output = Result<Option<AccountState>, ChainError>> + Send {
        let key = state_key::account(addr);
        async move { self.get_proto::<AccountState>(&key).await }
    }

    fn balance(&self, addr: &Address) -> impl Future<Output = Result<Amount, ChainError>> + Send {
        let addr = *addr;
        async move { self.account_state(&addr).await?.map_or(Ok(0), |s| balance_of(&s)) }
    }

    fn supply(&self) -> impl Future<Output = Result<Amount, ChainError>> + Send {
        async move { Ok(self.get_u128(state_key::supply()).await?.unwrap_or(0)) }
    }

    fn account(&self, addr: &Address) -> impl Future<Output = Result<Option<BaseAccount>, ChainError>> + Send {
        let addr = *addr;
        async move { Ok(self.account_state(&addr).await?.map(|s| base_account(&addr, &s))) }
    }

    /// The account paid a validator's share of fees, by its consensus address.
    fn validator_operator(&self, consensus_address: &[u8; 20]) -> impl Future<Output = Result<Option<Address>, ChainError>> + Send {
        let key = state_key::validator_account(consensus_address);
        async move { Ok(self.get_raw(&key).await?.and_then(|b| Address::from_slice(&b))) }
    }
}

impl<S: StateRead + ?Sized> TokenRead for S {}

pub trait TokenWrite: StateWrite {
    fn put_token_params(&mut self, params: &Params) {
        self.put_proto(state_key::params().to_string(), params);
    }

    fn put_account_state(&mut self, addr: &Address, state: &AccountState) {
        self.put_proto(state_key::account(addr), state);
    }

    /// Record an account's sequence and public key (its balance is left as it is).
    fn set_account_auth(&mut self, account: &BaseAccount, addr: &Address) -> impl Future<Output = Result<(), ChainError>> + Send {
        let (addr, sequence, pub_key) = (*addr, account.sequence, account.pub_key.clone());
        async move {
            let mut st = self
                .account_state(&addr)
                .await?
                .ok_or_else(|| openledger_framework::sdk::internal(format!("account {addr} missing")))?;
            st.sequence = sequence;
            st.pub_key = pub_key;
            self.put_account_state(&addr, &st);
            Ok(())
        }
    }

    fn put_validator_operator(&mut self, consensus_address: &[u8; 20], operator: &Address) {
        self.put_raw(state_key::validator_account(consensus_address), operator.as_bytes().to_vec());
    }

    /// The account at `addr`, created with the next account number if it does not exist
    /// (as the Cosmos SDK does when an address first receives funds).
    fn ensure_account(&mut self, addr: &Address) -> impl Future<Output = Result<BaseAccount, ChainError>> + Send {
        let addr = *addr;
        async move { Ok(base_account(&addr, &self.ensure_account_state(&addr).await?)) }
    }

    fn ensure_account_state(&mut self, addr: &Address) -> impl Future<Output = Result<AccountState, ChainError>> + Send {
        let addr = *addr;
        async move {
            if let Some(st) = self.account_state(&addr).await? {
                return Ok(st);
            }
            let number = self.get_u64(state_key::next_account_number()).await?.unwrap_or(0);
            self.put_u64(state_key::next_account_number().to_string(), number.saturating_add(1));
            let st = AccountState { account_number: number, sequence: 0, pub_key: None, balance: vec![] };
            self.put_account_state(&addr, &st);
            Ok(st)
        }
    }

    fn set_balance(&mut self, addr: &Address, mut st: AccountState, amount: Amount) {
        st.balance = encode_balance(amount);
        self.put_account_state(addr, &st);
    }

    /// Move `amount` of the chain denom; emits the Cosmos transfer events.
    fn transfer(
        &mut self,
        from: &Address,
        to: &Address,
        amount: Amount,
        denom: &str,
        msg_index: Option<u32>,
    ) -> impl Future<Output = Result<(), ChainError>> + Send {
        let (from, to, denom) = (*from, *to, denom.to_string());
        async move {
            let from_state = self.account_state(&from).await?.unwrap_or_default();
            let from_balance = balance_of(&from_state)?;
            if from_balance < amount {
                return Err(error::insufficient_funds(format!(
                    "spendable balance {from_balance}{denom} is smaller than {amount}{denom}: insufficient funds"
                )));
            }
            if from != to {
                let to_state = self.ensure_account_state(&to).await?;
                let new_to = balance_of(&to_state)?
                    .checked_add(amount)
                    .ok_or_else(|| error::overflow(format!("balance of {to} would overflow")))?;
                self.set_balance(&from, from_state, from_balance - amount);
                self.set_balance(&to, to_state, new_to);
            }
            for e in events::transfer(&from, &to, amount, &denom, msg_index) {
                self.record(e);
            }
            Ok(())
        }
    }

    /// Create `amount` new tokens at `to` (genesis only, for now); supply grows with it.
    fn mint(&mut self, to: &Address, amount: Amount) -> impl Future<Output = Result<(), ChainError>> + Send {
        let to = *to;
        async move {
            let supply = self.supply().await?;
            let new_supply = supply.checked_add(amount).ok_or_else(|| error::overflow("total supply would overflow"))?;
            let st = self.ensure_account_state(&to).await?;
            let balance = balance_of(&st)?;
            self.set_balance(&to, st, balance + amount);
            self.put_u128(state_key::supply().to_string(), new_supply);
            Ok(())
        }
    }
}

impl<S: StateWrite + ?Sized> TokenWrite for S {}

fn encode_balance(amount: Amount) -> Vec<u8> {
    let bytes = amount.to_be_bytes();
    let first = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    bytes[first..].to_vec()
}

/// The balance in an account record.
pub fn balance_of(st: &AccountState) -> Result<Amount, ChainError> {
    if st.balance.len() > 16 {
        return Err(openledger_framework::sdk::internal("corrupt balance"));
    }
    let mut buf = [0u8; 16];
    buf[16 - st.balance.len()..].copy_from_slice(&st.balance);
    Ok(u128::from_be_bytes(buf))
}

/// An account record as the Cosmos `BaseAccount` clients expect.
pub fn base_account(addr: &Address, st: &AccountState) -> BaseAccount {
    BaseAccount {
        address: addr.to_string(),
        pub_key: st.pub_key.clone(),
        account_number: st.account_number,
        sequence: st.sequence,
    }
}

/// Decode a stored account record (for callers holding raw bytes, e.g. a prefetch).
pub fn decode_account_state(bytes: &[u8]) -> Option<AccountState> {
    AccountState::decode(bytes).ok()
}

/// Sum of every account's balance (the conservation invariant compares it to supply).
pub async fn sum_of_balances<S: StateRead>(state: &S) -> Result<Amount, ChainError> {
    use futures::StreamExt;
    let mut stream = std::pin::pin!(state.prefix_raw(state_key::account_prefix()));
    let mut sum: Amount = 0;
    while let Some(item) = stream.next().await {
        let (_, v) = item?;
        let st = AccountState::decode(v.as_slice()).map_err(|_| openledger_framework::sdk::internal("corrupt account"))?;
        sum = sum.checked_add(balance_of(&st)?).ok_or_else(|| openledger_framework::sdk::internal("sum overflows"))?;
    }
    Ok(sum)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn balances_round_trip_through_minimal_big_endian() {
        for v in [0u128, 1, 255, 256, 1_000_000_000_000, u128::MAX] {
            let st = AccountState { balance: encode_balance(v), ..Default::default() };
            assert_eq!(balance_of(&st).unwrap(), v);
        }
        assert!(encode_balance(0).is_empty());
        assert!(balance_of(&AccountState { balance: vec![1; 17], ..Default::default() }).is_err());
    }
}
