//! Local key storage for the CLI (and `openledgerd dev`), following the Cosmos SDK keyring conventions.
//!
//! Keys are secp256k1, derived from a BIP39 mnemonic (empty BIP39 passphrase) at the
//! Cosmos HD path m/44'/118'/0'/0/0, so a mnemonic used with any Cosmos wallet yields
//! the same key here. Each key is one JSON file `<name>.json` in `<home>/keyring-file/`
//! (private key encrypted: scrypt + XChaCha20Poly1305) or `<home>/keyring-test/`
//! (private key in clear hex; for local testnets and tests only).

use std::fmt;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use anyhow::{anyhow, bail, Context};
use bip32::{DerivationPath, XPrv};
use bip39::{Language, Mnemonic};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use k256::ecdsa::SigningKey;
use k256::elliptic_curve::zeroize::Zeroizing;
use openledger_types::Address;
use rand::rngs::OsRng;
use rand::RngCore;
use serde::{Deserialize, Serialize};

/// The Cosmos SDK default HD path (coin type 118).
const HD_PATH: &str = "m/44'/118'/0'/0/0";
/// The only key algorithm this keyring produces.
const ALGO_SECP256K1: &str = "secp256k1";
/// Minimum passphrase length for the file backend, as in the Cosmos SDK.
const MIN_PASSPHRASE_CHARS: usize = 8;
/// scrypt cost for new keys: N = 2^17, r = 8, p = 1 (128 MiB, under a second), the
/// interactive-login cost current guidance (OWASP) gives. Keys written with the earlier
/// 2^15 keep their own parameters in their file and open as before.
const SCRYPT_LOG_N: u8 = 17;
const SCRYPT_R: u32 = 8;
const SCRYPT_P: u32 = 1;
/// Upper bounds accepted when reading a key file, so a tampered file cannot make us
/// allocate gigabytes or spin for minutes before the passphrase check fails.
const SCRYPT_MAX_LOG_N: u8 = 20;
const SCRYPT_MAX_R: u32 = 32;
const SCRYPT_MAX_P: u32 = 16;
const SALT_LEN: usize = 32;
const NONCE_LEN: usize = 24;
const MAX_NAME_LEN: usize = 64;

/// Where and how private keys are kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Backend {
    /// Private keys encrypted with a passphrase.
    File,
    /// Private keys stored unencrypted: only for throwaway test keys.
    Test,
}

impl Backend {
    pub fn as_str(&self) -> &'static str {
        match self {
            Backend::File => "file",
            Backend::Test => "test",
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A keyring backend name that is neither "file" nor "test".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownBackend(pub String);

impl fmt::Display for UnknownBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown keyring backend {:?}: expected \"file\" or \"test\"", self.0)
    }
}

impl std::error::Error for UnknownBackend {}

impl FromStr for Backend {
    type Err = UnknownBackend;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "file" => Ok(Backend::File),
            "test" => Ok(Backend::Test),
            other => Err(UnknownBackend(other.to_string())),
        }
    }
}

/// The public part of a stored key: everything `keys list` / `keys show` print.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyRecord {
    pub name: String,
    /// Always "secp256k1".
    pub algo: String,
    /// 33-byte compressed SEC1 public key.
    pub pubkey: Vec<u8>,
    pub address: Address,
}

/// On-disk form of a key (`<name>.json`).
#[derive(Serialize, Deserialize)]
struct StoredKey {
    name: String,
    algo: String,
    /// Compressed public key, hex.
    pubkey: String,
    /// bech32 `open1…` address.
    address: String,
    /// File backend: the encrypted private key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    crypto: Option<EncryptedKey>,
    /// Test backend: the private key, hex, unencrypted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    privkey: Option<String>,
}

/// The private key sealed with XChaCha20Poly1305 under a key stretched from the passphrase.
#[derive(Serialize, Deserialize)]
struct EncryptedKey {
    kdf: String,
    log_n: u8,
    r: u32,
    p: u32,
    salt: String,
    nonce: String,
    ciphertext: String,
}

/// A directory of keys for one backend.
#[derive(Clone, Debug)]
pub struct Keyring {
    dir: PathBuf,
    backend: Backend,
}

impl Keyring {
    /// Keys live in `<home>/keyring-file/` or `<home>/keyring-test/`; the directory is
    /// created (mode 0700) on the first `add`, so opening never touches the disk.
    pub fn open(home: &Path, backend: Backend) -> Keyring {
        Keyring { dir: home.join(format!("keyring-{}", backend.as_str())), backend }
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The directory holding this keyring's key files.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Create a key. `mnemonic = None` generates a fresh 24-word English mnemonic;
    /// `Some(phrase)` recovers from it. The file backend requires a passphrase of at
    /// least 8 characters; the test backend ignores it. Returns the record and the
    /// mnemonic so the caller can show it once.
    pub fn add(&self, name: &str, mnemonic: Option<&str>, passphrase: Option<&str>) -> anyhow::Result<(KeyRecord, String)> {
        validate_name(name)?;
        // Check the cheap preconditions before deriving or touching the disk.
        let passphrase = match self.backend {
            Backend::File => Some(check_new_passphrase(passphrase)?),
            Backend::Test => None,
        };
        let path = self.key_path(name);
        if path.exists() {
            bail!("key {name:?} already exists in the {}", self.describe());
        }

        let mnemonic = match mnemonic {
            Some(phrase) => parse_mnemonic(phrase)?,
            None => generate_mnemonic()?,
        };
        let signing_key = derive_signing_key(&mnemonic)?;
        let record = record_for(name, &signing_key);
        let secret = Zeroizing::new(signing_key.to_bytes());

        let (crypto, privkey) = match passphrase {
            Some(pass) => (Some(encrypt(name, pass, &secret)?), None),
            None => (None, Some(hex::encode(secret.as_slice()))),
        };
        let stored = StoredKey {
            name: name.to_string(),
            algo: record.algo.clone(),
            pubkey: hex::encode(&record.pubkey),
            address: record.address.to_string(),
            crypto,
            privkey,
        };
        // The test backend's JSON holds the private key in clear; wipe our copy.
        let json = Zeroizing::new(serde_json::to_vec_pretty(&stored)?);
        drop(stored);

        self.ensure_dir()?;
        write_atomic(&self.dir, &path, &json).with_context(|| format!("writing key file {}", path.display()))?;
        Ok((record, mnemonic.to_string()))
    }

    /// All keys, sorted by name. Needs no passphrase: public data is stored in clear.
    pub fn list(&self) -> anyhow::Result<Vec<KeyRecord>> {
        let entries = match fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => {
                return Err(e).with_context(|| format!("reading {}", self.dir.display()));
            }
        };
        let mut records = Vec::new();
        for entry in entries {
            let entry = entry.with_context(|| format!("reading {}", self.dir.display()))?;
            let file_name = entry.file_name();
            let Some(file_name) = file_name.to_str() else {
                continue;
            };
            // Skip leftovers of interrupted writes (".<name>.tmp-…") and foreign files.
            let Some(name) = file_name.strip_suffix(".json") else {
                continue;
            };
            if validate_name(name).is_err() {
                continue;
            }
            records.push(self.load(name)?.1);
        }
        records.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(records)
    }

    pub fn show(&self, name: &str) -> anyhow::Result<KeyRecord> {
        Ok(self.load(name)?.1)
    }

    pub fn delete(&self, name: &str) -> anyhow::Result<()> {
        let path = self.existing_key_path(name)?;
        fs::remove_file(&path).with_context(|| format!("deleting {}", path.display()))
    }

    /// The private key of `name`. The file backend needs the passphrase the key was
    /// added with; the test backend ignores it.
    pub fn signing_key(&self, name: &str, passphrase: Option<&str>) -> anyhow::Result<SigningKey> {
        let (stored, record) = self.load(name)?;
        let secret: Zeroizing<Vec<u8>> = match self.backend {
            Backend::File => {
                let crypto = stored
                    .crypto
                    .as_ref()
                    .ok_or_else(|| anyhow!("key {name:?} in the {} has no encrypted private key", self.describe()))?;
                let pass = passphrase.ok_or_else(|| anyhow!("a passphrase is required to use key {name:?} in the {}", self.describe()))?;
                decrypt(name, pass, crypto)?
            }
            Backend::Test => {
                let hex_key =
                    stored.privkey.as_deref().ok_or_else(|| anyhow!("key {name:?} in the {} has no private key", self.describe()))?;
                Zeroizing::new(hex::decode(hex_key).map_err(|_| anyhow!("key {name:?}: private key is not valid hex"))?)
            }
        };
        let key = SigningKey::from_slice(&secret).map_err(|_| anyhow!("key {name:?}: stored private key is not a valid secp256k1 key"))?;
        // Guard against a key file whose public half was edited or mixed up.
        if compressed_pubkey(&key) != record.pubkey {
            bail!("key {name:?}: private key does not match the stored public key");
        }
        Ok(key)
    }

    /// Look a key up by name or by its bech32 address (a FROM argument may be either).
    /// A name takes precedence, since a valid name can look like an address.
    pub fn resolve(&self, name_or_address: &str) -> anyhow::Result<KeyRecord> {
        if validate_name(name_or_address).is_ok() && self.key_path(name_or_address).exists() {
            return self.show(name_or_address);
        }
        match Address::parse(name_or_address) {
            Ok(address) => self
                .list()?
                .into_iter()
                .find(|r| r.address == address)
                .ok_or_else(|| anyhow!("no key with address {address} in the {}", self.describe())),
            Err(_) => Err(self.not_found(name_or_address)),
        }
    }

    fn key_path(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.json"))
    }

    /// The path of an existing key, or a one-line "not found" error.
    fn existing_key_path(&self, name: &str) -> anyhow::Result<PathBuf> {
        // An invalid name cannot exist; reporting "not found" also keeps names like
        // "../x" from reaching the filesystem.
        if validate_name(name).is_err() {
            return Err(self.not_found(name));
        }
        let path = self.key_path(name);
        if !path.is_file() {
            return Err(self.not_found(name));
        }
        Ok(path)
    }

    /// Read and check a key file, returning it with its public record.
    fn load(&self, name: &str) -> anyhow::Result<(StoredKey, KeyRecord)> {
        let path = self.existing_key_path(name)?;
        let bytes = Zeroizing::new(fs::read(&path).with_context(|| format!("reading key file {}", path.display()))?);
        let stored: StoredKey = serde_json::from_slice(&bytes).with_context(|| format!("key file {} is not valid", path.display()))?;
        let bad = |what: &str| anyhow!("key file {} is corrupt: {what}", path.display());
        if stored.name != name {
            return Err(bad("its name does not match the file name"));
        }
        if stored.algo != ALGO_SECP256K1 {
            return Err(bad("unsupported key algorithm"));
        }
        let pubkey = hex::decode(&stored.pubkey).map_err(|_| bad("public key is not hex"))?;
        if k256::PublicKey::from_sec1_bytes(&pubkey).is_err() || pubkey.len() != 33 {
            return Err(bad("public key is not a compressed secp256k1 key"));
        }
        let address = Address::from_secp256k1_pubkey(&pubkey);
        if Address::parse(&stored.address).ok() != Some(address) {
            return Err(bad("address does not match the public key"));
        }
        let record = KeyRecord { name: stored.name.clone(), algo: stored.algo.clone(), pubkey, address };
        Ok((stored, record))
    }

    fn ensure_dir(&self) -> anyhow::Result<()> {
        if self.dir.is_dir() {
            return Ok(());
        }
        if let Some(parent) = self.dir.parent() {
            fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
        }
        let mut builder = fs::DirBuilder::new();
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            // Only the owner may list which keys exist.
            builder.mode(0o700);
        }
        match builder.create(&self.dir) {
            Ok(()) => Ok(()),
            // Lost a race with another process creating it: fine.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
            Err(e) => Err(e).with_context(|| format!("creating {}", self.dir.display())),
        }
    }

    fn describe(&self) -> String {
        format!("{} keyring ({})", self.backend, self.dir.display())
    }

    fn not_found(&self, name: &str) -> anyhow::Error {
        anyhow!("key {name:?} not found in the {}", self.describe())
    }
}

/// Names become file names, so allow only a safe, portable character set.
fn validate_name(name: &str) -> anyhow::Result<()> {
    let ok_chars = name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    // "." and ".." are within the character set but are directory entries, and a
    // leading dot is reserved for our temporary files.
    if name.is_empty() || name.len() > MAX_NAME_LEN || !ok_chars || name.starts_with('.') {
        bail!(
            "invalid key name {name:?}: use 1 to {MAX_NAME_LEN} characters from A-Z a-z 0-9 _ . - \
             (not starting with a dot)"
        );
    }
    Ok(())
}

fn check_new_passphrase(passphrase: Option<&str>) -> anyhow::Result<&str> {
    let pass = passphrase.ok_or_else(|| anyhow!("the file keyring requires a passphrase to encrypt the key"))?;
    if pass.chars().count() < MIN_PASSPHRASE_CHARS {
        bail!("passphrase must be at least {MIN_PASSPHRASE_CHARS} characters");
    }
    Ok(pass)
}

/// Parse a user-typed mnemonic, tolerating extra whitespace and capitals (the BIP39
/// English word list is lower-case ASCII, so this is its full normalisation).
fn parse_mnemonic(phrase: &str) -> anyhow::Result<Mnemonic> {
    let words: Vec<&str> = phrase.split_whitespace().collect();
    let normalized = Zeroizing::new(words.join(" ").to_lowercase());
    Mnemonic::parse_in_normalized(Language::English, &normalized).map_err(|e| match e {
        bip39::Error::BadWordCount(n) => {
            anyhow!("invalid mnemonic: expected 12, 15, 18, 21 or 24 words, got {n}")
        }
        bip39::Error::UnknownWord(i) => anyhow!(
            "invalid mnemonic: word {} ({:?}) is not in the BIP39 English word list",
            i + 1,
            words.get(i).copied().unwrap_or_default()
        ),
        bip39::Error::InvalidChecksum => {
            anyhow!("invalid mnemonic: checksum mismatch (a word is wrong or out of order)")
        }
        other => anyhow!("invalid mnemonic: {other}"),
    })
}

/// A fresh 24-word mnemonic (256 bits of entropy from the OS).
fn generate_mnemonic() -> anyhow::Result<Mnemonic> {
    let mut entropy = Zeroizing::new([0u8; 32]);
    OsRng.fill_bytes(entropy.as_mut_slice());
    Mnemonic::from_entropy_in(Language::English, entropy.as_slice()).map_err(|e| anyhow!("generating mnemonic: {e}"))
}

fn derive_signing_key(mnemonic: &Mnemonic) -> anyhow::Result<SigningKey> {
    // Empty BIP39 passphrase, as the Cosmos SDK uses by default.
    let seed = Zeroizing::new(mnemonic.to_seed_normalized(""));
    let path: DerivationPath = HD_PATH.parse().map_err(|e| anyhow!("HD path {HD_PATH}: {e}"))?;
    let xprv = XPrv::derive_from_path(seed.as_slice(), &path).map_err(|e| anyhow!("deriving key at {HD_PATH}: {e}"))?;
    Ok(xprv.private_key().clone())
}

fn compressed_pubkey(key: &SigningKey) -> Vec<u8> {
    key.verifying_key().to_encoded_point(true).as_bytes().to_vec()
}

fn record_for(name: &str, key: &SigningKey) -> KeyRecord {
    let pubkey = compressed_pubkey(key);
    let address = Address::from_secp256k1_pubkey(&pubkey);
    KeyRecord { name: name.to_string(), algo: ALGO_SECP256K1.to_string(), pubkey, address }
}

fn stretch(passphrase: &str, salt: &[u8], log_n: u8, r: u32, p: u32) -> anyhow::Result<Zeroizing<[u8; 32]>> {
    let params = scrypt::Params::new(log_n, r, p, 32).map_err(|e| anyhow!("invalid scrypt parameters: {e}"))?;
    let mut key = Zeroizing::new([0u8; 32]);
    scrypt::scrypt(passphrase.as_bytes(), salt, &params, key.as_mut_slice()).map_err(|e| anyhow!("scrypt: {e}"))?;
    Ok(key)
}

/// Seal the private key; the key name is associated data so a ciphertext copied into
/// another key's file fails to decrypt instead of silently signing as the wrong key.
fn encrypt(name: &str, passphrase: &str, secret: &[u8]) -> anyhow::Result<EncryptedKey> {
    encrypt_at(name, passphrase, secret, SCRYPT_LOG_N)
}

fn encrypt_at(name: &str, passphrase: &str, secret: &[u8], log_n: u8) -> anyhow::Result<EncryptedKey> {
    let mut salt = [0u8; SALT_LEN];
    let mut nonce = [0u8; NONCE_LEN];
    OsRng.fill_bytes(&mut salt);
    OsRng.fill_bytes(&mut nonce);
    let key = stretch(passphrase, &salt, log_n, SCRYPT_R, SCRYPT_P)?;
    let cipher = XChaCha20Poly1305::new(key.as_slice().into());
    let ciphertext = cipher
        .encrypt(XNonce::from_slice(&nonce), Payload { msg: secret, aad: name.as_bytes() })
        .map_err(|_| anyhow!("encrypting key {name:?} failed"))?;
    Ok(EncryptedKey {
        kdf: "scrypt".to_string(),
        log_n,
        r: SCRYPT_R,
        p: SCRYPT_P,
        salt: hex::encode(salt),
        nonce: hex::encode(nonce),
        ciphertext: hex::encode(ciphertext),
    })
}

fn decrypt(name: &str, passphrase: &str, crypto: &EncryptedKey) -> anyhow::Result<Zeroizing<Vec<u8>>> {
    let corrupt = |what: &str| anyhow!("key {name:?}: encrypted private key is corrupt: {what}");
    if crypto.kdf != "scrypt" {
        return Err(corrupt("unsupported key derivation function"));
    }
    if crypto.log_n > SCRYPT_MAX_LOG_N || crypto.r > SCRYPT_MAX_R || crypto.p > SCRYPT_MAX_P {
        return Err(corrupt("scrypt parameters out of range"));
    }
    let salt = hex::decode(&crypto.salt).map_err(|_| corrupt("salt is not hex"))?;
    let nonce = hex::decode(&crypto.nonce).map_err(|_| corrupt("nonce is not hex"))?;
    if nonce.len() != NONCE_LEN {
        return Err(corrupt("nonce has the wrong length"));
    }
    let ciphertext = hex::decode(&crypto.ciphertext).map_err(|_| corrupt("ciphertext is not hex"))?;
    let key = stretch(passphrase, &salt, crypto.log_n, crypto.r, crypto.p)?;
    let cipher = XChaCha20Poly1305::new(key.as_slice().into());
    // AEAD cannot tell a wrong passphrase from tampering; the former is by far likelier.
    let plain = cipher
        .decrypt(XNonce::from_slice(&nonce), Payload { msg: &ciphertext, aad: name.as_bytes() })
        .map_err(|_| anyhow!("incorrect passphrase for key {name}"))?;
    Ok(Zeroizing::new(plain))
}

/// Write `data` to `path` so readers see either the old file or the whole new one:
/// write a private temporary file in the same directory, sync it, then rename.
fn write_atomic(dir: &Path, path: &Path, data: &[u8]) -> io::Result<()> {
    let file_name = path.file_name().and_then(|n| n.to_str()).unwrap_or("key");
    let tmp = dir.join(format!(".{file_name}.tmp-{:016x}", OsRng.next_u64()));
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // Created with 0600 from the start, so the key is never briefly world-readable.
        options.mode(0o600);
    }
    let result = (|| {
        let mut file = options.open(&tmp)?;
        file.write_all(data)?;
        file.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use bech32::Hrp;

    const ABANDON: &str = "abandon abandon abandon abandon abandon abandon abandon abandon \
                           abandon abandon abandon about";
    const PASS: &str = "correct horse battery";

    fn test_keyring() -> (tempfile::TempDir, Keyring) {
        let home = tempfile::tempdir().unwrap();
        let kr = Keyring::open(home.path(), Backend::Test);
        (home, kr)
    }

    fn file_keyring() -> (tempfile::TempDir, Keyring) {
        let home = tempfile::tempdir().unwrap();
        let kr = Keyring::open(home.path(), Backend::File);
        (home, kr)
    }

    #[test]
    fn backend_parses_file_and_test_and_rejects_others() {
        assert_eq!("file".parse::<Backend>().unwrap(), Backend::File);
        assert_eq!("test".parse::<Backend>().unwrap(), Backend::Test);
        let err = "os".parse::<Backend>().unwrap_err().to_string();
        assert!(err.contains("\"os\"") && err.contains("file") && err.contains("test"), "{err}");
    }

    #[test]
    fn abandon_mnemonic_derives_the_known_cosmos_address() {
        let (_home, kr) = test_keyring();
        let (record, mnemonic) = kr.add("alice", Some(ABANDON), None).unwrap();
        assert_eq!(mnemonic, ABANDON.split_whitespace().collect::<Vec<_>>().join(" "));
        let (hrp, bytes) = bech32::decode("cosmos19rl4cm2hmr8afy4kldpxz3fka4jguq0auqdal4").unwrap();
        assert_eq!(hrp, Hrp::parse("cosmos").unwrap());
        assert_eq!(record.address.as_bytes().as_slice(), bytes.as_slice());
        assert!(record.address.to_string().starts_with("open1"));
        assert_eq!(record.algo, "secp256k1");
        assert_eq!(record.pubkey.len(), 33);
    }

    #[test]
    fn generated_mnemonic_has_24_words_and_recovers_the_same_key() {
        let (_home, kr) = test_keyring();
        let (record, mnemonic) = kr.add("fresh", None, None).unwrap();
        assert_eq!(mnemonic.split(' ').count(), 24);
        let (recovered, _) = kr.add("recovered", Some(&mnemonic), None).unwrap();
        assert_eq!(recovered.pubkey, record.pubkey);
        assert_eq!(recovered.address, record.address);
        let a = kr.signing_key("fresh", None).unwrap();
        let b = kr.signing_key("recovered", None).unwrap();
        assert_eq!(a.to_bytes(), b.to_bytes());
    }

    #[test]
    fn recovery_tolerates_extra_whitespace_and_capitals() {
        let (_home, kr) = test_keyring();
        let (a, _) = kr.add("a", Some(ABANDON), None).unwrap();
        let messy = format!("  {}\n", ABANDON.to_uppercase().replace(' ', "   "));
        let (b, _) = kr.add("b", Some(&messy), None).unwrap();
        assert_eq!(a.address, b.address);
    }

    #[test]
    fn bad_mnemonics_are_rejected_with_a_clear_error() {
        let (_home, kr) = test_keyring();
        let bad_checksum = ABANDON.replace("about", "abandon");
        let err = kr.add("x", Some(&bad_checksum), None).unwrap_err().to_string();
        assert!(err.contains("invalid mnemonic"), "{err}");
        let err = kr.add("x", Some("abandon notaword"), None).unwrap_err().to_string();
        assert!(err.contains("invalid mnemonic"), "{err}");
        let unknown_word = ABANDON.replace("about", "zzzz");
        let err = kr.add("x", Some(&unknown_word), None).unwrap_err().to_string();
        assert!(err.contains("invalid mnemonic"), "{err}");
        assert!(kr.list().unwrap().is_empty());
    }

    #[test]
    fn file_backend_round_trips_with_the_right_passphrase() {
        let (_home, kr) = file_keyring();
        let (record, mnemonic) = kr.add("alice", None, Some(PASS)).unwrap();
        let key = kr.signing_key("alice", Some(PASS)).unwrap();
        assert_eq!(compressed_pubkey(&key), record.pubkey);
        // The same mnemonic in the test backend yields the same private key.
        let test_kr = Keyring::open(_home.path(), Backend::Test);
        test_kr.add("alice", Some(&mnemonic), None).unwrap();
        assert_eq!(test_kr.signing_key("alice", None).unwrap().to_bytes(), key.to_bytes());
        assert_eq!(kr.show("alice").unwrap(), record);
    }

    #[test]
    fn file_backend_wrong_passphrase_gives_a_clear_error() {
        let (_home, kr) = file_keyring();
        kr.add("alice", Some(ABANDON), Some(PASS)).unwrap();
        let err = kr.signing_key("alice", Some("wrong passphrase")).unwrap_err().to_string();
        assert_eq!(err, "incorrect passphrase for key alice");
        let err = kr.signing_key("alice", None).unwrap_err().to_string();
        assert!(err.contains("passphrase is required"), "{err}");
    }

    #[test]
    fn file_backend_rejects_short_or_missing_passphrase() {
        let (_home, kr) = file_keyring();
        let err = kr.add("alice", None, Some("1234567")).unwrap_err().to_string();
        assert!(err.contains("at least 8"), "{err}");
        let err = kr.add("alice", None, None).unwrap_err().to_string();
        assert!(err.contains("requires a passphrase"), "{err}");
        assert!(kr.list().unwrap().is_empty());
        kr.add("alice", None, Some("12345678")).unwrap();
    }

    #[test]
    fn file_backend_file_does_not_contain_the_private_key() {
        let (home, kr) = file_keyring();
        kr.add("alice", Some(ABANDON), Some(PASS)).unwrap();
        let secret = hex::encode(kr.signing_key("alice", Some(PASS)).unwrap().to_bytes());
        let path = home.path().join("keyring-file").join("alice.json");
        let text = fs::read_to_string(&path).unwrap();
        assert!(!text.contains(&secret));
        assert!(!text.contains("privkey"));
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(json["crypto"]["kdf"], "scrypt");
        assert_eq!(json["crypto"]["log_n"], 17, "new keys at scrypt N = 2^17");
        assert_eq!(json["address"], kr.show("alice").unwrap().address.to_string());
    }

    #[test]
    fn a_key_written_at_the_old_scrypt_cost_still_opens() {
        let (home, kr) = file_keyring();
        kr.add("alice", Some(ABANDON), Some(PASS)).unwrap();
        let want = kr.signing_key("alice", Some(PASS)).unwrap().to_bytes();
        // Rewrite the file as the keyring wrote it before: the same key sealed at 2^15.
        let path = home.path().join("keyring-file").join("alice.json");
        let mut json: serde_json::Value = serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
        let old = encrypt_at("alice", PASS, want.as_slice(), 15).unwrap();
        json["crypto"] = serde_json::to_value(&old).unwrap();
        fs::write(&path, serde_json::to_string(&json).unwrap()).unwrap();
        assert_eq!(json["crypto"]["log_n"], 15);
        assert_eq!(kr.signing_key("alice", Some(PASS)).unwrap().to_bytes(), want);
        assert!(kr.signing_key("alice", Some("wrong passphrase")).is_err());
    }

    #[test]
    fn ciphertext_moved_to_another_name_does_not_decrypt() {
        let (home, kr) = file_keyring();
        kr.add("alice", Some(ABANDON), Some(PASS)).unwrap();
        let dir = home.path().join("keyring-file");
        let text = fs::read_to_string(dir.join("alice.json")).unwrap();
        fs::write(dir.join("bob.json"), text.replace("\"alice\"", "\"bob\"")).unwrap();
        let err = kr.signing_key("bob", Some(PASS)).unwrap_err().to_string();
        assert_eq!(err, "incorrect passphrase for key bob");
    }

    #[test]
    fn test_backend_stores_the_private_key_in_clear() {
        let (home, kr) = test_keyring();
        kr.add("alice", Some(ABANDON), Some("ignored")).unwrap();
        let secret = hex::encode(kr.signing_key("alice", Some("anything")).unwrap().to_bytes());
        let text = fs::read_to_string(home.path().join("keyring-test/alice.json")).unwrap();
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(json["privkey"], secret);
        assert!(json.get("crypto").is_none());
    }

    #[cfg(unix)]
    #[test]
    fn key_files_are_0600_and_the_directory_0700() {
        use std::os::unix::fs::PermissionsExt;
        let (home, kr) = test_keyring();
        kr.add("alice", None, None).unwrap();
        let dir = home.path().join("keyring-test");
        assert_eq!(fs::metadata(&dir).unwrap().permissions().mode() & 0o777, 0o700);
        let file = dir.join("alice.json");
        assert_eq!(fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
        // No temporary files are left behind.
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 1);
    }

    #[test]
    fn duplicate_name_is_rejected_and_keeps_the_original() {
        let (_home, kr) = test_keyring();
        let (first, _) = kr.add("alice", Some(ABANDON), None).unwrap();
        let err = kr.add("alice", None, None).unwrap_err().to_string();
        assert!(err.contains("already exists"), "{err}");
        assert_eq!(kr.show("alice").unwrap(), first);
    }

    #[test]
    fn invalid_names_are_rejected() {
        let (_home, kr) = test_keyring();
        let long = "a".repeat(65);
        for name in ["", "a b", "../x", "a/b", "é", ".hidden", "..", long.as_str()] {
            let err = kr.add(name, None, None).unwrap_err().to_string();
            assert!(err.contains("invalid key name"), "{name:?}: {err}");
        }
        kr.add(&"a".repeat(64), None, None).unwrap();
        kr.add("Valid_name-1.0", None, None).unwrap();
    }

    #[test]
    fn unknown_name_errors_on_show_delete_and_signing_key() {
        let (home, kr) = test_keyring();
        let err = kr.show("ghost").unwrap_err().to_string();
        let dir = home.path().join("keyring-test");
        assert_eq!(err, format!("key \"ghost\" not found in the test keyring ({})", dir.display()));
        assert!(kr.delete("ghost").unwrap_err().to_string().contains("not found"));
        assert!(kr.signing_key("ghost", None).unwrap_err().to_string().contains("not found"));
        assert!(kr.show("../etc/passwd").unwrap_err().to_string().contains("not found"));
        assert!(kr.resolve("ghost").unwrap_err().to_string().contains("not found"));
    }

    #[test]
    fn list_is_sorted_by_name_and_empty_without_a_directory() {
        let (_home, kr) = test_keyring();
        assert!(kr.list().unwrap().is_empty());
        for name in ["carol", "alice", "bob"] {
            kr.add(name, None, None).unwrap();
        }
        let names: Vec<String> = kr.list().unwrap().into_iter().map(|r| r.name).collect();
        assert_eq!(names, ["alice", "bob", "carol"]);
    }

    #[test]
    fn delete_removes_the_key() {
        let (_home, kr) = test_keyring();
        kr.add("alice", None, None).unwrap();
        kr.add("bob", None, None).unwrap();
        kr.delete("alice").unwrap();
        assert!(kr.show("alice").is_err());
        let names: Vec<String> = kr.list().unwrap().into_iter().map(|r| r.name).collect();
        assert_eq!(names, ["bob"]);
        // The name is free again.
        kr.add("alice", None, None).unwrap();
    }

    #[test]
    fn resolve_finds_keys_by_name_or_address() {
        let (_home, kr) = test_keyring();
        let (alice, _) = kr.add("alice", None, None).unwrap();
        let (bob, _) = kr.add("bob", None, None).unwrap();
        assert_eq!(kr.resolve("alice").unwrap(), alice);
        assert_eq!(kr.resolve(&bob.address.to_string()).unwrap(), bob);
        let stranger = Address([9u8; 20]).to_string();
        let err = kr.resolve(&stranger).unwrap_err().to_string();
        assert!(err.contains("no key with address"), "{err}");
    }

    #[test]
    fn tampered_public_key_is_detected() {
        let (home, kr) = test_keyring();
        let (alice, _) = kr.add("alice", None, None).unwrap();
        let (bob, _) = kr.add("bob", None, None).unwrap();
        let path = home.path().join("keyring-test/alice.json");
        let text = fs::read_to_string(&path).unwrap();
        let swapped = text
            .replace(&hex::encode(&alice.pubkey), &hex::encode(&bob.pubkey))
            .replace(&alice.address.to_string(), &bob.address.to_string());
        fs::write(&path, swapped).unwrap();
        let err = kr.signing_key("alice", None).unwrap_err().to_string();
        assert!(err.contains("does not match"), "{err}");
    }
}
