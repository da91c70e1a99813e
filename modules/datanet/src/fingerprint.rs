//! Content fingerprints: what makes attribution checkable on chain.
//!
//! The content is lower-cased and split on whitespace; every run of 8 consecutive
//! words, joined by single spaces, is hashed to the first 8 bytes of its SHA-256 read
//! as a big-endian u64; hashes divisible by the sampling modulus (a power of two) are
//! kept, de-duplicated, sorted, and capped at the `max` smallest. Clients compute it
//! (`openledger tx datanet contribute --file`); the chain checks its shape
//! (`check`) and, for attribution, counts overlaps (`overlap`) in integers.
use sha2::{Digest, Sha256};

pub const WORDS_PER_SHINGLE: usize = 8;
pub const DEFAULT_MODULUS: u64 = 16;
pub const DEFAULT_MAX_HASHES: u32 = 512;

pub fn compute(content: &str, modulus: u64, max: usize) -> Vec<u64> {
    let lower = content.to_lowercase();
    let words: Vec<&str> = lower.split_whitespace().collect();
    let mut out: Vec<u64> = Vec::new();
    if words.len() >= WORDS_PER_SHINGLE && modulus > 0 {
        for w in words.windows(WORDS_PER_SHINGLE) {
            let digest = Sha256::digest(w.join(" ").as_bytes());
            let mut first = [0u8; 8];
            first.copy_from_slice(&digest[..8]);
            let h = u64::from_be_bytes(first);
            if h % modulus == 0 {
                out.push(h);
            }
        }
    }
    out.sort_unstable();
    out.dedup();
    out.truncate(max);
    out
}

/// Why a fingerprint is malformed for a datanet with these parameters, if it is.
pub fn check(hashes: &[u64], modulus: u64, max: u32) -> Result<(), String> {
    if hashes.len() > max as usize {
        return Err(format!("fingerprint has {} hashes, the datanet's cap is {max}", hashes.len()));
    }
    if let Some(h) = hashes.iter().find(|h| modulus == 0 || *h % modulus != 0) {
        return Err(format!("fingerprint hash {h} is not divisible by the sampling modulus {modulus}"));
    }
    if let Some(w) = hashes.windows(2).find(|w| w[0] >= w[1]) {
        return Err(format!("fingerprint hashes must be sorted and unique ({} before {})", w[0], w[1]));
    }
    Ok(())
}

/// Number of hashes two sorted, unique fingerprints share (a merge, O(a + b)).
pub fn overlap(a: &[u64], b: &[u64]) -> u64 {
    let (mut i, mut j, mut n) = (0, 0, 0u64);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                n += 1;
                i += 1;
                j += 1;
            }
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_follows_the_specification() {
        let text = "The quick brown fox jumps over the lazy dog and keeps on running far away";
        let all = compute(text, 1, 10_000);
        // 15 words → 8 shingles, each hashed by hand here.
        let words: Vec<String> = text.to_lowercase().split_whitespace().map(String::from).collect();
        let mut expected: Vec<u64> = words
            .windows(8)
            .map(|w| {
                let d = Sha256::digest(w.join(" ").as_bytes());
                u64::from_be_bytes(d[..8].try_into().unwrap())
            })
            .collect();
        expected.sort_unstable();
        expected.dedup();
        assert_eq!(all, expected);
        assert_eq!(all.len(), 8);
        // Case and spacing do not matter.
        assert_eq!(compute("THE quick\tbrown  fox\njumps over the lazy dog and keeps on running far away", 1, 10_000), all);
        // Sampling keeps exactly the hashes divisible by the modulus; the cap keeps the smallest.
        let sampled = compute(text, 4, 10_000);
        assert_eq!(sampled, all.iter().copied().filter(|h| h % 4 == 0).collect::<Vec<_>>());
        assert_eq!(compute(text, 1, 3), all[..3].to_vec());
        // Fewer than 8 words: nothing.
        assert!(compute("too short to shingle", 1, 10).is_empty());
        assert_eq!(check(&all, 1, 8), Ok(()));
    }

    #[test]
    fn check_refuses_unsorted_duplicate_unsampled_and_oversized_sets() {
        assert!(check(&[32, 16], 16, 10).is_err());
        assert!(check(&[16, 16], 16, 10).is_err());
        assert!(check(&[16, 17], 16, 10).is_err());
        assert!(check(&[16, 32, 48], 16, 2).is_err());
        assert_eq!(check(&[], 16, 0), Ok(()));
        assert_eq!(overlap(&[1, 3, 5, 7], &[3, 4, 5, 8]), 2);
    }
}
