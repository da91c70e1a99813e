//! Typed reads and writes of token state. Other modules move OPEN only through the
//! narrow `TokenWrite` surface, never by writing token keys.
use std::future::Future;

use cnidarium::{StateRead, StateWrite};
use openledger_framework::{Address, Amount, ChainError, ModuleAccount, StoreRead, StoreWrite};
use openledger_proto::cosmos::auth::v1beta1::BaseAccount;
use openledger_proto::openledger::token::v1::{AccountState, Params};
use prost::Message;

use crate::{error, events, state_key, DENOM};

pub trait TokenRead: StateRead {
    fn token_params(&self) -> impl Future<Output = Result<Params, ChainError>> + Send {
        async move {
            self.get_proto::<Params>(state_key::params()).await?.ok_or_else(|| openledger_framework::sdk::internal("token params missing"))
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

/// What other modules may do to OPEN: create an account, record its sequence and key,
/// and move tokens — between accounts, into and out of module accounts, or out of
/// existence (burn). Every move emits the Cosmos bank events and keeps the supply; the
/// raw balance, account and supply setters stay private to this crate.
pub trait TokenWrite: StateWrite {
    /// The account at `addr`, created with the next account number if it does not exist
    /// (as the Cosmos SDK does when an address first receives funds).
    fn ensure_account(&mut self, addr: &Address) -> impl Future<Output = Result<BaseAccount, ChainError>> + Send {
        let addr = *addr;
        async move { Ok(base_account(&addr, &ensure_account_state(self, &addr).await?)) }
    }

    /// Record an account's sequence and public key (its balance is left as it is).
    fn set_account_auth(&mut self, account: &BaseAccount, addr: &Address) -> impl Future<Output = Result<(), ChainError>> + Send {
        let (addr, sequence, pub_key) = (*addr, account.sequence, account.pub_key.clone());
        async move {
            let mut st =
                self.account_state(&addr).await?.ok_or_else(|| openledger_framework::sdk::internal(format!("account {addr} missing")))?;
            st.sequence = sequence;
            st.pub_key = pub_key;
            put_account_state(self, &addr, &st);
            Ok(())
        }
    }

    /// Move `amount` between two accounts; emits the Cosmos transfer events.
    fn send(
        &mut self,
        from: &Address,
        to: &Address,
        amount: Amount,
        msg_index: Option<u32>,
    ) -> impl Future<Output = Result<(), ChainError>> + Send {
        let (from, to) = (*from, *to);
        async move { transfer(self, &from, &to, amount, msg_index).await }
    }

    /// Move `amount` from an account into a module's account.
    fn send_to_module(
        &mut self,
        from: &Address,
        to: &ModuleAccount,
        amount: Amount,
        msg_index: Option<u32>,
    ) -> impl Future<Output = Result<(), ChainError>> + Send {
        let (from, to) = (*from, to.address());
        async move { transfer(self, &from, &to, amount, msg_index).await }
    }

    /// Move `amount` out of a module's account to an account.
    fn send_from_module(
        &mut self,
        from: &ModuleAccount,
        to: &Address,
        amount: Amount,
        msg_index: Option<u32>,
    ) -> impl Future<Output = Result<(), ChainError>> + Send {
        let (from, to) = (from.address(), *to);
        async move { transfer(self, &from, &to, amount, msg_index).await }
    }

    /// Destroy `amount` held by `from`; the supply falls with it. Emits `burn`.
    fn burn(&mut self, from: &Address, amount: Amount, msg_index: Option<u32>) -> impl Future<Output = Result<(), ChainError>> + Send {
        let from = *from;
        async move {
            let st = self.account_state(&from).await?.unwrap_or_default();
            let balance = balance_of(&st)?;
            if balance < amount {
                return Err(error::insufficient_funds(format!(
                    "spendable balance {balance}{DENOM} is smaller than {amount}{DENOM}: insufficient funds"
                )));
            }
            let supply = self.supply().await?;
            set_balance(self, &from, st, balance - amount);
            self.put_u128(state_key::supply().to_string(), supply.saturating_sub(amount));
            for e in events::burn(&from, amount, msg_index) {
                self.record(e);
            }
            Ok(())
        }
    }
}

impl<S: StateWrite + ?Sized> TokenWrite for S {}

// ---------------------------------------------------------------- private to token

pub(crate) fn put_token_params<S: StateWrite + ?Sized>(state: &mut S, params: &Params) {
    state.put_proto(state_key::params().to_string(), params);
}

fn put_account_state<S: StateWrite + ?Sized>(state: &mut S, addr: &Address, st: &AccountState) {
    state.put_proto(state_key::account(addr), st);
}

pub(crate) fn put_validator_operator<S: StateWrite + ?Sized>(state: &mut S, consensus_address: &[u8; 20], operator: &Address) {
    state.put_raw(state_key::validator_account(consensus_address), operator.as_bytes().to_vec());
}

async fn ensure_account_state<S: StateWrite + ?Sized>(state: &mut S, addr: &Address) -> Result<AccountState, ChainError> {
    if let Some(st) = state.account_state(addr).await? {
        return Ok(st);
    }
    let number = state.get_u64(state_key::next_account_number()).await?.unwrap_or(0);
    state.put_u64(state_key::next_account_number().to_string(), number.saturating_add(1));
    let st = AccountState { account_number: number, sequence: 0, pub_key: None, balance: vec![] };
    put_account_state(state, addr, &st);
    Ok(st)
}

fn set_balance<S: StateWrite + ?Sized>(state: &mut S, addr: &Address, mut st: AccountState, amount: Amount) {
    st.balance = encode_balance(amount);
    put_account_state(state, addr, &st);
}

/// Move `amount` of OPEN; emits the Cosmos transfer events.
async fn transfer<S: StateWrite + ?Sized>(
    state: &mut S,
    from: &Address,
    to: &Address,
    amount: Amount,
    msg_index: Option<u32>,
) -> Result<(), ChainError> {
    let from_state = state.account_state(from).await?.unwrap_or_default();
    let from_balance = balance_of(&from_state)?;
    if from_balance < amount {
        return Err(error::insufficient_funds(format!(
            "spendable balance {from_balance}{DENOM} is smaller than {amount}{DENOM}: insufficient funds"
        )));
    }
    if from != to {
        let to_state = ensure_account_state(state, to).await?;
        let new_to =
            balance_of(&to_state)?.checked_add(amount).ok_or_else(|| error::overflow(format!("balance of {to} would overflow")))?;
        set_balance(state, from, from_state, from_balance - amount);
        set_balance(state, to, to_state, new_to);
    }
    for e in events::transfer(from, to, amount, DENOM, msg_index) {
        state.record(e);
    }
    Ok(())
}

/// Create `amount` new tokens at `to` (genesis only); supply grows with it.
pub(crate) async fn mint<S: StateWrite + ?Sized>(state: &mut S, to: &Address, amount: Amount) -> Result<(), ChainError> {
    let supply = state.supply().await?;
    let new_supply = supply.checked_add(amount).ok_or_else(|| error::overflow("total supply would overflow"))?;
    let st = ensure_account_state(state, to).await?;
    let balance = balance_of(&st)?;
    set_balance(state, to, st, balance + amount);
    state.put_u128(state_key::supply().to_string(), new_supply);
    Ok(())
}

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
    BaseAccount { address: addr.to_string(), pub_key: st.pub_key.clone(), account_number: st.account_number, sequence: st.sequence }
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

    /// Sends to and from module accounts move balances exactly as sends between
    /// accounts; a burn takes the tokens out of the supply; neither can spend more than
    /// the balance, and the supply always equals the sum of balances.
    #[tokio::test]
    async fn sends_and_burns_keep_the_supply_equal_to_the_balances() {
        use cnidarium::{StateDelta, TempStorage};
        const POOL: ModuleAccount = ModuleAccount::new("test_pool");
        let storage = TempStorage::new().await.unwrap();
        let mut state = StateDelta::new(storage.latest_snapshot());
        let (a, b) = (Address([1; 20]), Address([2; 20]));
        mint(&mut state, &a, 1_000).await.unwrap();
        state.send(&a, &b, 100, Some(0)).await.unwrap();
        state.send_to_module(&a, &POOL, 300, None).await.unwrap();
        state.send_from_module(&POOL, &b, 50, None).await.unwrap();
        assert_eq!(
            (state.balance(&a).await.unwrap(), state.balance(&b).await.unwrap(), state.balance(&POOL.address()).await.unwrap()),
            (600, 150, 250)
        );
        state.burn(&POOL.address(), 250, None).await.unwrap();
        assert_eq!(state.supply().await.unwrap(), 750);
        assert_eq!(sum_of_balances(&state).await.unwrap(), 750);
        let e = state.burn(&a, 601, None).await.unwrap_err();
        assert_eq!((e.codespace, e.code), (crate::error::CODESPACE, 2));
        let e = state.send_from_module(&POOL, &a, 1, None).await.unwrap_err();
        assert_eq!((e.codespace, e.code), (crate::error::CODESPACE, 2));
        assert_eq!(state.supply().await.unwrap(), sum_of_balances(&state).await.unwrap());
    }
}
