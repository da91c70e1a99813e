//! What `tx datanet contribute --file` computes locally: the SHA-256 of the file, its
//! size and its fingerprint, in one streaming pass (memory stays small on any size),
//! with a progress bar on stderr for large files.
use std::io::{IsTerminal, Read, Write};
use std::path::Path;

use anyhow::{Context, Result};
use openledger_types::fingerprint::Fingerprinter;
use sha2::{Digest, Sha256};

/// Files at least this large show progress.
pub const PROGRESS_FROM_BYTES: u64 = 8 << 20;
const CHUNK: usize = 1 << 20;

pub struct FileDigest {
    pub sha256: [u8; 32],
    pub size: u64,
    /// `None` when no fingerprint was asked for, or the file is not UTF-8 text.
    pub fingerprint: Option<Vec<u64>>,
    /// Why a fingerprint asked for was not computed.
    pub fingerprint_skipped: Option<String>,
}

/// Progress on stderr: a bar redrawn in place on a terminal, otherwise one line per
/// 10% (so logs stay readable).
struct Progress {
    total: u64,
    tty: bool,
    shown: u64,
}

impl Progress {
    fn new(total: u64) -> Option<Progress> {
        (total >= PROGRESS_FROM_BYTES).then(|| Progress { total, tty: std::io::stderr().is_terminal(), shown: u64::MAX })
    }

    fn update(&mut self, done: u64) {
        let pct = done.saturating_mul(100) / self.total.max(1);
        let step = if self.tty { pct } else { pct / 10 * 10 };
        if step == self.shown {
            return;
        }
        self.shown = step;
        let width = 30u64;
        let filled = (pct.min(100) * width / 100) as usize;
        let bar = format!(
            "[{}{}] {:>3}% {}/{} MiB",
            "#".repeat(filled),
            "-".repeat(width as usize - filled),
            pct.min(100),
            done >> 20,
            self.total >> 20
        );
        let mut err = std::io::stderr();
        if self.tty {
            let _ = write!(err, "\rhashing {bar}");
            if pct >= 100 {
                let _ = writeln!(err);
            }
        } else {
            let _ = writeln!(err, "hashing {bar}");
        }
        let _ = err.flush();
    }
}

/// Hash (and fingerprint, with a fingerprinter) a file.
pub fn digest_file(path: &Path, fingerprint: Option<Fingerprinter>) -> Result<FileDigest> {
    let mut file = std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let total = file.metadata().with_context(|| format!("cannot stat {}", path.display()))?.len();
    let mut progress = Progress::new(total);
    let mut hasher = Sha256::new();
    let mut fp = fingerprint;
    let mut skipped = None;
    let mut buf = vec![0u8; CHUNK];
    let mut size = 0u64;
    loop {
        let n = file.read(&mut buf).with_context(|| format!("reading {}", path.display()))?;
        if n == 0 {
            break;
        }
        let chunk = &buf[..n];
        hasher.update(chunk);
        size += n as u64;
        if let Some(f) = fp.as_mut() {
            if let Err(e) = f.push_bytes(chunk) {
                skipped = Some(format!("{} is {e}", path.display()));
                fp = None;
            }
        }
        if let Some(p) = progress.as_mut() {
            p.update(size);
        }
    }
    let fingerprint = match fp.map(Fingerprinter::finish_bytes) {
        Some(Ok(hashes)) => Some(hashes),
        Some(Err(e)) => {
            skipped = Some(format!("{} is {e}", path.display()));
            None
        }
        None => None,
    };
    Ok(FileDigest { sha256: hasher.finalize().into(), size, fingerprint, fingerprint_skipped: skipped })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_digest_matches_the_in_memory_computation() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data.txt");
        // Over two read chunks, so words and characters straddle a chunk boundary.
        let mut text = String::new();
        let mut i = 0u64;
        while text.len() < CHUNK + CHUNK / 2 {
            text.push_str(&format!("Wört{} ist ünd {} ", i % 97, i * 7919 % 1009));
            i += 1;
        }
        std::fs::write(&path, &text).unwrap();
        let d = digest_file(&path, Some(Fingerprinter::new(16, 1 << 20))).unwrap();
        assert_eq!(d.size, text.len() as u64);
        assert_eq!(d.sha256, <[u8; 32]>::from(Sha256::digest(text.as_bytes())));
        let expected = openledger_types::fingerprint::compute(&text, 16, 1 << 20).unwrap();
        assert!(!expected.is_empty());
        assert_eq!(d.fingerprint, Some(expected));
        // Over a contribution's cap: no fingerprint, and the reason says to split.
        let d = digest_file(&path, Some(Fingerprinter::new(16, 512))).unwrap();
        assert!(d.fingerprint.is_none() && d.fingerprint_skipped.unwrap().contains("split it"));

        // Binary data: hashed, not fingerprinted, and the reason is given.
        std::fs::write(&path, [0u8, 0xff, 0xfe, 0x41]).unwrap();
        let d = digest_file(&path, Some(Fingerprinter::new(16, 512))).unwrap();
        assert_eq!((d.size, d.fingerprint.is_none()), (4, true));
        assert!(d.fingerprint_skipped.unwrap().contains("not UTF-8"));
        assert!(digest_file(&dir.path().join("missing"), None).is_err());
    }
}
