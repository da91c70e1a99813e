//! Unit tests of the pure parts; the module's behaviour through the app is tested in
//! `app/tests/attribution.rs`.
use crate::msg::settled_weights;
use crate::state_ext::Books;

#[test]
fn verifiable_weights_follow_scores_within_the_fingerprinted_share() {
    // Not verifiable: the operator's weights.
    assert_eq!(settled_weights(&[6000, 4000], &[true, true], &[], false), vec![6000, 4000]);
    // Verifiable: entries 0 and 1 have fingerprints (combined 8000 bps), scored 3 and 1;
    // entry 2 has none and keeps its 2000.
    assert_eq!(settled_weights(&[5000, 3000, 2000], &[true, true, false], &[3, 1, 0], true), vec![6000, 2000, 2000]);
    // Rounding leaves bps to the pools: 10000 × 1/3 → 3333 each.
    assert_eq!(settled_weights(&[5000, 5000, 0], &[true, true, true], &[1, 1, 1], true), vec![3333, 3333, 3333]);
    // Nothing overlaps: the fingerprinted share is uncovered.
    assert_eq!(settled_weights(&[7000, 3000], &[true, false], &[0, 0], true), vec![0, 3000]);
}

#[test]
fn books_balance_only_when_every_uopen_is_somewhere() {
    let b = Books { paid_in: 100, paid_out: 40, escrowed: 30, credits: 20, pools: 10 };
    assert!(b.balanced());
    assert!(!Books { pools: 11, ..b }.balanced());
    assert!(!Books { paid_in: u128::MAX, paid_out: u128::MAX, escrowed: 1, ..Default::default() }.balanced());
    assert_eq!(Books::from_proto(&b.to_proto()).unwrap(), b);
}
