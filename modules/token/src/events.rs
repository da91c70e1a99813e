//! Events of the token module, in the Cosmos SDK bank shapes so that explorers and
//! indexers written for Cosmos chains read them unchanged.
use openledger_framework::amount::format_coin;
use openledger_framework::events::event;
use openledger_framework::{Address, Amount};
use tendermint::abci::Event;

/// `coin_spent`, `coin_received` and `transfer`, as bank's SendCoins emits them.
pub fn transfer(from: &Address, to: &Address, amount: Amount, denom: &str, msg_index: Option<u32>) -> Vec<Event> {
    let coin = format_coin(amount, denom);
    // bech32-encode each address once: this runs for every transfer of every tx.
    let (from, to) = (from.to_string(), to.to_string());
    let idx = msg_index.map(|i| ("msg_index", i.to_string()));
    let with_idx = |mut attrs: Vec<(&'static str, String)>| {
        attrs.extend(idx.clone());
        attrs
    };
    vec![
        event("coin_spent", with_idx(vec![("spender", from.clone()), ("amount", coin.clone())])),
        event("coin_received", with_idx(vec![("receiver", to.clone()), ("amount", coin.clone())])),
        event("transfer", with_idx(vec![("recipient", to), ("sender", from), ("amount", coin)])),
    ]
}

/// `burn` and `coin_spent`, as bank's BurnCoins emits them.
pub fn burn(from: &Address, amount: Amount, msg_index: Option<u32>) -> Vec<Event> {
    let coin = format_coin(amount, crate::DENOM);
    let from = from.to_string();
    let idx = msg_index.map(|i| ("msg_index", i.to_string()));
    let with_idx = |mut attrs: Vec<(&'static str, String)>| {
        attrs.extend(idx.clone());
        attrs
    };
    vec![
        event("coin_spent", with_idx(vec![("spender", from.clone()), ("amount", coin.clone())])),
        event("burn", with_idx(vec![("burner", from), ("amount", coin)])),
    ]
}
