//! Content fingerprints: what makes attribution checkable on chain.
//!
//! The content is lower-cased and split on whitespace; every run of 8 consecutive
//! words, joined by single spaces, is hashed to the first 8 bytes of its SHA-256 read
//! as a big-endian u64; hashes divisible by the sampling modulus (a power of two) are
//! kept, de-duplicated and sorted. Clients compute it (`openledger tx datanet
//! contribute --file`); the chain checks its shape (`check`) and, for attribution,
//! counts overlaps in integers.
//!
//! Nothing selects among a contribution's sampled hashes: its fingerprint is all of
//! them, and content with more than the datanet's cap is refused (split it; splitting
//! never changes a contribution's weight, see the datanet module). So which hashes of
//! a contribution count is not the contributor's choice. An inference *output* longer
//! than the cap keeps the `max` hashes that rank lowest under a key derived from the
//! inference (`output_key`), which no contributor knows when their content is fixed:
//! content cannot be shaped to land in every output's sketch.
use std::collections::{BTreeSet, VecDeque};

use sha2::{Digest, Sha256};

pub const WORDS_PER_SHINGLE: usize = 8;
pub const DEFAULT_MODULUS: u64 = 16;
pub const DEFAULT_MAX_HASHES: u32 = 512;

/// Domain of the output-sketch key.
pub const OUTPUT_KEY_DOMAIN: &[u8] = b"openledger.attribution.v1.OutputSketch\0";

/// The fingerprint of a contribution's content: every sampled hash, refused when there
/// are more than `max`.
pub fn compute(content: &str, modulus: u64, max: usize) -> Result<Vec<u64>, String> {
    let mut f = Fingerprinter::new(modulus, max);
    f.push_str(content);
    f.finish()
}

/// The fingerprint of an inference's output: every sampled hash, or the `max` ranking
/// lowest under `key` when there are more.
pub fn compute_output(content: &str, modulus: u64, max: usize, key: [u8; 32]) -> Vec<u64> {
    let mut f = Fingerprinter::keyed(modulus, max, key);
    f.push_str(content);
    f.finish().unwrap_or_default()
}

/// The key that ranks an output's hashes: fixed by the chain and the inference, so it
/// is known only once the inference exists.
pub fn output_key(chain_id: &str, inference_id: u64) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(OUTPUT_KEY_DOMAIN);
    h.update(chain_id.as_bytes());
    h.update([0u8]);
    h.update(inference_id.to_be_bytes());
    h.finalize().into()
}

fn rank(key: &[u8; 32], hash: u64) -> u64 {
    let d = Sha256::new().chain_update(key).chain_update(hash.to_be_bytes()).finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&d[..8]);
    u64::from_be_bytes(first)
}

/// What happens past `max` sampled hashes.
enum Cap {
    /// A contribution: more is an error.
    Refuse,
    /// An output: keep the `max` lowest-ranked under the key.
    Keyed([u8; 32]),
}

/// The fingerprint of content read in pieces (a file in chunks): the same result as
/// `compute` on the whole text, in memory bounded by `max` hashes and one window of
/// words. Lower-casing word by word equals lower-casing the whole text, because
/// whitespace separates words and is never cased or case-ignorable.
pub struct Fingerprinter {
    modulus: u64,
    max: usize,
    cap: Cap,
    window: VecDeque<String>,
    /// The word being read; it may continue in the next piece.
    word: String,
    /// Sampled hashes so far, as (rank, hash); the rank is 0 unless keyed.
    kept: BTreeSet<(u64, u64)>,
    /// Refuse mode: more than `max` distinct hashes were seen.
    over: bool,
    /// An incomplete UTF-8 sequence at the end of the last byte piece.
    pending: Vec<u8>,
}

impl Fingerprinter {
    /// A contribution's fingerprinter: every sampled hash, at most `max`.
    pub fn new(modulus: u64, max: usize) -> Fingerprinter {
        Fingerprinter::with_cap(modulus, max, Cap::Refuse)
    }

    /// An output's fingerprinter: the `max` lowest-ranked under `key`.
    pub fn keyed(modulus: u64, max: usize, key: [u8; 32]) -> Fingerprinter {
        Fingerprinter::with_cap(modulus, max, Cap::Keyed(key))
    }

    fn with_cap(modulus: u64, max: usize, cap: Cap) -> Fingerprinter {
        Fingerprinter {
            modulus,
            max,
            cap,
            window: VecDeque::with_capacity(WORDS_PER_SHINGLE + 1),
            word: String::new(),
            kept: BTreeSet::new(),
            over: false,
            pending: Vec::new(),
        }
    }
    /// Text, continuing the text pushed before.
    pub fn push_str(&mut self, text: &str) {
        for c in text.chars() {
            if c.is_whitespace() {
                self.end_word();
            } else {
                self.word.push(c);
            }
        }
    }

    /// Bytes of UTF-8 text, cut anywhere (a character may straddle two pieces). Refuses
    /// bytes that are not UTF-8.
    pub fn push_bytes(&mut self, bytes: &[u8]) -> Result<(), String> {
        let joined;
        let bytes = if self.pending.is_empty() {
            bytes
        } else {
            joined = [std::mem::take(&mut self.pending).as_slice(), bytes].concat();
            joined.as_slice()
        };
        match std::str::from_utf8(bytes) {
            Ok(text) => self.push_str(text),
            Err(e) if e.error_len().is_none() => {
                // Valid up to an incomplete character at the end: keep it for the next piece.
                let (valid, rest) = bytes.split_at(e.valid_up_to());
                self.push_str(std::str::from_utf8(valid).map_err(|e| e.to_string())?);
                self.pending = rest.to_vec();
            }
            Err(e) => return Err(format!("not UTF-8 text: {e}")),
        }
        Ok(())
    }

    fn end_word(&mut self) {
        if self.word.is_empty() {
            return;
        }
        let word = std::mem::take(&mut self.word).to_lowercase();
        self.window.push_back(word);
        if self.window.len() > WORDS_PER_SHINGLE {
            self.window.pop_front();
        }
        if self.window.len() < WORDS_PER_SHINGLE || self.modulus == 0 || self.over {
            return;
        }
        let mut hasher = Sha256::new();
        for (i, w) in self.window.iter().enumerate() {
            if i > 0 {
                hasher.update(b" ");
            }
            hasher.update(w.as_bytes());
        }
        let digest = hasher.finalize();
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest[..8]);
        let h = u64::from_be_bytes(first);
        if h % self.modulus != 0 {
            return;
        }
        let r = match &self.cap {
            Cap::Refuse => 0,
            Cap::Keyed(key) => rank(key, h),
        };
        if self.kept.insert((r, h)) && self.kept.len() > self.max {
            match self.cap {
                Cap::Refuse => {
                    self.over = true;
                    self.kept.clear();
                }
                Cap::Keyed(_) => {
                    self.kept.pop_last();
                }
            }
        }
    }

    /// The fingerprint: sorted, unique, at most `max` hashes; for a contribution, an
    /// error when its content has more. For content pushed as bytes use
    /// `finish_bytes`, which also refuses a truncated last character.
    pub fn finish(mut self) -> Result<Vec<u64>, String> {
        self.end_word();
        if self.over {
            return Err(format!(
                "the content has more than {} sampled fingerprint hashes, the datanet's cap: split it into smaller \
                 contributions (splitting does not change its weight)",
                self.max
            ));
        }
        let mut hashes: Vec<u64> = self.kept.into_iter().map(|(_, h)| h).collect();
        hashes.sort_unstable();
        Ok(hashes)
    }

    /// As `finish`, for content pushed as bytes: refuses a truncated last character.
    pub fn finish_bytes(self) -> Result<Vec<u64>, String> {
        if !self.pending.is_empty() {
            return Err("not UTF-8 text: the content ends inside a character".into());
        }
        self.finish()
    }
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
        let all = compute(text, 1, 10_000).unwrap();
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
        assert_eq!(compute("THE quick\tbrown  fox\njumps over the lazy dog and keeps on running far away", 1, 10_000).unwrap(), all);
        // Sampling keeps exactly the hashes divisible by the modulus.
        let sampled = compute(text, 4, 10_000).unwrap();
        assert_eq!(sampled, all.iter().copied().filter(|h| h % 4 == 0).collect::<Vec<_>>());
        // A contribution over the cap is refused, never cut down to a chosen few.
        assert_eq!(compute(text, 1, 8).unwrap(), all);
        assert!(compute(text, 1, 7).unwrap_err().contains("split it"));
        // Fewer than 8 words: nothing.
        assert!(compute("too short to shingle", 1, 10).unwrap().is_empty());
        assert_eq!(check(&all, 1, 8), Ok(()));
    }

    #[test]
    fn pieces_give_the_fingerprint_of_the_whole() {
        // Multi-byte characters, mixed whitespace, a Greek final sigma, words cut by the
        // piece boundaries at every offset.
        let text = "Ο ΔΡΌΜΟΣ είναι μακρύς και ΟΔΟΣ στενή\u{2003}naïve café RÉSUMÉ über straße 日本語 テキスト and\tsome more words here to fill the window again";
        let whole = compute(text, 1, 10_000).unwrap();
        assert!(whole.len() > 10);
        let bytes = text.as_bytes();
        for cut in 1..bytes.len() {
            let mut f = Fingerprinter::new(1, 10_000);
            f.push_bytes(&bytes[..cut]).unwrap();
            f.push_bytes(&bytes[cut..]).unwrap();
            assert_eq!(f.finish_bytes().unwrap(), whole, "cut at byte {cut}");
        }
        // One byte at a time, with sampling and a keyed cap.
        let key = output_key("c", 1);
        let mut f = Fingerprinter::keyed(4, 3, key);
        for b in bytes {
            f.push_bytes(std::slice::from_ref(b)).unwrap();
        }
        assert_eq!(f.finish_bytes().unwrap(), compute_output(text, 4, 3, key));
        // Lower-casing the whole text first and splitting gives the same words.
        let words: Vec<String> = text.to_lowercase().split_whitespace().map(String::from).collect();
        let by_hand: BTreeSet<u64> =
            words.windows(8).map(|w| u64::from_be_bytes(Sha256::digest(w.join(" ").as_bytes())[..8].try_into().unwrap())).collect();
        assert_eq!(whole, by_hand.into_iter().collect::<Vec<_>>());
        // Not UTF-8, or cut inside the last character: refused.
        assert!(Fingerprinter::new(16, 512).push_bytes(&[0x61, 0xff, 0x62]).is_err());
        assert_eq!(compute(text, 1, 10_000).unwrap(), whole);
        let mut f = Fingerprinter::new(16, 512);
        f.push_bytes(&"é".as_bytes()[..1]).unwrap();
        assert!(f.finish_bytes().is_err());
    }

    #[test]
    fn an_outputs_sketch_is_chosen_by_the_inference_not_by_hash_size() {
        let text: String = (0..400).map(|i| format!("w{} ", i * 7919 % 10_007)).collect();
        let all = compute(&text, 1, 10_000).unwrap();
        assert_eq!(all.len(), 393);
        // Under the cap: every hash, whatever the key.
        assert_eq!(compute_output(&text, 1, 10_000, output_key("c", 1)), all);
        // Over it: `max` of them, sorted, and a different few for another inference.
        let a = compute_output(&text, 1, 64, output_key("c", 1));
        let b = compute_output(&text, 1, 64, output_key("c", 2));
        assert_eq!((a.len(), b.len()), (64, 64));
        assert!(a.windows(2).all(|w| w[0] < w[1]) && a.iter().all(|h| all.contains(h)));
        assert_ne!(a, b);
        // Not the smallest hashes: content with small hashes gains no place in sketches.
        assert_ne!(a, all[..64].to_vec());
        let in_both = overlap(&a, &b);
        assert!(in_both < 32, "two keys pick mostly different hashes ({in_both} of 64 shared)");
        assert_ne!(output_key("c", 1), output_key("d", 1));
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
