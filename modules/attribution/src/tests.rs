//! Unit tests of the pure parts; the module's behaviour through the app is tested in
//! `app/tests/attribution.rs`.
use crate::state_ext::Books;

#[test]
fn books_balance_only_when_every_uopen_is_somewhere() {
    let b = Books { paid_in: 100, paid_out: 40, escrowed: 30, credits: 20, pools: 10 };
    assert!(b.balanced());
    assert!(!Books { pools: 11, ..b }.balanced());
    assert!(!Books { paid_in: u128::MAX, paid_out: u128::MAX, escrowed: 1, ..Default::default() }.balanced());
    assert_eq!(Books::from_proto(&b.to_proto()).unwrap(), b);
}
