//! Typed reads and writes of token state. Other modules move OPEN only through
//! `TokenWrite::transfer` (and `mint`/`burn`), never by writing token keys.
use std::future::Future;

use cnidarium::{StateRead, StateWrite};
use openledger_framework::{Address, Amount, ChainError, StoreRead, StoreWrite};
use openledger_proto::cosmos::auth::v1beta1::BaseAccount;
use openledger_proto::openledger::token::v1::Params;

use crate::{error, events, state_key};

pub trait TokenRead: StateRead {
    fn token_params(&self) -> impl Future<Output = Result<Params, ChainError>> + Send {
        async move {
            self.get_proto::<Params>(state_key::params())
                .await?
                .ok_or_else(|| openledger_framework::sdk::internal("token params missing"))
        }
    }

    fn balance(&self, addr: &Address) -> impl Future<Output = Result<Amount, ChainError>> + Send {
        let key = state_key::balance(addr);
        async move { Ok(self.get_u128(&key).await?.unwrap_or(0)) }
    }

    fn supply(&self) -> impl Future<Output = Result<Amount, ChainError>> + Send {
        async move { Ok(self.get_u128(state_key::supply()).await?.unwrap_or(0)) }
    }

    fn account(&self, addr: &Address) -> impl Future<Output = Result<Option<BaseAccount>, ChainError>> + Send {
        let key = state_key::account(addr);
        async move { self.get_proto::<BaseAccount>(&key).await }
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

    fn put_account(&mut self, account: &BaseAccount, addr: &Address) {
        self.put_proto(state_key::account(addr), account);
    }

    fn put_validator_operator(&mut self, consensus_address: &[u8; 20], operator: &Address) {
        self.put_raw(state_key::validator_account(consensus_address), operator.as_bytes().to_vec());
    }

    /// The account at `addr`, created with the next account number if it does not exist
    /// (as the Cosmos SDK does when an address first receives funds).
    fn ensure_account(&mut self, addr: &Address) -> impl Future<Output = Result<BaseAccount, ChainError>> + Send {
        let addr = *addr;
        async move {
            if let Some(acct) = self.account(&addr).await? {
                return Ok(acct);
            }
            let number = self.get_u64(state_key::next_account_number()).await?.unwrap_or(0);
            self.put_u64(state_key::next_account_number().to_string(), number + 1);
            let acct = BaseAccount { address: addr.to_string(), pub_key: None, account_number: number, sequence: 0 };
            self.put_account(&acct, &addr);
            Ok(acct)
        }
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
            let from_balance = self.balance(&from).await?;
            if from_balance < amount {
                return Err(error::insufficient_funds(format!(
                    "spendable balance {from_balance}{denom} is smaller than {amount}{denom}: insufficient funds"
                )));
            }
            if from != to {
                let to_balance = self.balance(&to).await?;
                let new_to = to_balance
                    .checked_add(amount)
                    .ok_or_else(|| error::overflow(format!("balance of {to} would overflow")))?;
                self.put_u128(state_key::balance(&from), from_balance - amount);
                self.ensure_account(&to).await?;
                self.put_u128(state_key::balance(&to), new_to);
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
            let balance = self.balance(&to).await?;
            self.ensure_account(&to).await?;
            self.put_u128(state_key::balance(&to), balance + amount);
            self.put_u128(state_key::supply().to_string(), new_supply);
            Ok(())
        }
    }
}

impl<S: StateWrite + ?Sized> TokenWrite for S {}
