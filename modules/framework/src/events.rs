//! The one event builder. Every attribute is indexed, so CometBFT's `tx_search`
//! and event subscriptions can find transactions by any of them.
use tendermint::abci::Event;

pub fn event<K: AsRef<str>, V: Into<String>>(kind: &str, attrs: impl IntoIterator<Item = (K, V)>) -> Event {
    Event::new(
        kind,
        attrs.into_iter().map(|(k, v)| (k.as_ref().to_string(), v.into(), true)),
    )
}
