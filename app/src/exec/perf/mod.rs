//! Performance caches and parallel work of block execution and CheckTx. None of them is
//! consensus state: each file opens with why it cannot change a result.
pub mod prefetch;
pub mod replica;
pub mod sigverify;
