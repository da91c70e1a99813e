//! The one event builder, and the typed events of each module's `events.proto` built
//! through it. Every attribute is indexed, so CometBFT's `tx_search`
//! and event subscriptions can find transactions by any of them.
use tendermint::abci::Event;

pub fn event<K: AsRef<str>, V: Into<String>>(kind: &str, attrs: impl IntoIterator<Item = (K, V)>) -> Event {
    Event::new(kind, attrs.into_iter().map(|(k, v)| (k.as_ref().to_string(), v.into(), true)))
}

/// The ABCI event of a typed event message (`openledger_proto::TypedEvent`): type
/// `package.EventName`, one indexed attribute per field, in field order.
pub fn typed<E: openledger_proto::TypedEvent>(e: E) -> Event {
    event(&format!("{}.{}", E::PACKAGE, E::NAME), e.attributes())
}
