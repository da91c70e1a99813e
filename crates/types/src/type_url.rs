//! Type URLs from the generated types (`prost::Name`), never from string tables.

/// The prefix of a type URL's message name, for matching without allocating:
/// `/openledger.datanet.v1.MsgCreateDatanet` is `M` when `M::PACKAGE` and `M::NAME` say so.
pub fn is_type_url<M: prost::Name>(type_url: &str) -> bool {
    type_url
        .strip_prefix('/')
        .and_then(|s| s.strip_prefix(M::PACKAGE))
        .and_then(|s| s.strip_prefix('.'))
        .is_some_and(|name| name == M::NAME)
}

/// `M`'s type URL as a `&'static str`: computed once per type (a message's type URL is
/// needed on every execution, for events and responses).
#[macro_export]
macro_rules! type_url_of {
    ($m:ty) => {{
        static URL: ::std::sync::OnceLock<String> = ::std::sync::OnceLock::new();
        URL.get_or_init(|| <$m as ::prost::Name>::type_url()).as_str()
    }};
}
