//! Encryption of provider API keys at rest: AES-256-GCM under a master key from the
//! environment.
//!
//! Each sealed value carries the id of the master key that sealed it, a fresh 96-bit nonce and
//! is bound to caller-supplied associated data (the row id), so a ciphertext copied onto another
//! row does not decrypt. A [`Keyring`] holds the current key (used to seal) and retired keys
//! (still accepted to open), which is how the master key is rotated.

use crate::settings::{EnvReader, Secret};
use aes_gcm::aead::{Aead, KeyInit, OsRng, Payload};
use aes_gcm::{AeadCore, Aes256Gcm, Nonce};
use base64::Engine as _;
use sha2::{Digest, Sha256};
use std::fmt;

pub const NONCE_LEN: usize = 12;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyError {
    #[error(
        "must be 32 bytes written as 64 hex characters or as base64 (got {0} characters that decode to neither)"
    )]
    Malformed(usize),
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum OpenError {
    #[error("sealed with master key {0}, which is not configured")]
    UnknownKey(String),
    #[error("the ciphertext does not authenticate (wrong key, tampered data or wrong row)")]
    Corrupt,
}

/// One 256-bit master key and its public identifier.
pub struct MasterKey {
    id: String,
    cipher: Aes256Gcm,
    /// Where keys for other purposes derive from (see [`Keyring::derive_key`]); never the
    /// encryption key itself.
    derivation_root: [u8; 32],
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MasterKey")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl MasterKey {
    /// Parses 32 bytes written as hex (64 characters) or base64 (standard or URL-safe).
    pub fn parse(text: &str) -> Result<Self, KeyError> {
        let text = text.trim();
        let bytes = if text.len() == 64 {
            hex::decode(text).ok()
        } else {
            None
        }
        .or_else(|| base64::engine::general_purpose::STANDARD.decode(text).ok())
        .or_else(|| base64::engine::general_purpose::URL_SAFE.decode(text).ok())
        .or_else(|| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(text)
                .ok()
        })
        .filter(|b| b.len() == 32)
        .ok_or(KeyError::Malformed(text.len()))?;
        Ok(Self::from_bytes(&bytes))
    }

    fn from_bytes(bytes: &[u8]) -> Self {
        // The id is a truncated hash of the key: stable, public, and useless to an attacker.
        let digest = Sha256::new()
            .chain_update(b"simrunner key id v1\0")
            .chain_update(bytes)
            .finalize();
        Self {
            id: format!("k{}", hex::encode(&digest[..6])),
            cipher: Aes256Gcm::new_from_slice(bytes).expect("32-byte key"),
            derivation_root: Sha256::new()
                .chain_update(b"simrunner derivation root v1\0")
                .chain_update(bytes)
                .finalize()
                .into(),
        }
    }

    /// A new random key written as hex, for `simrunner` to generate on a laptop.
    pub fn generate_hex() -> String {
        random_hex(32)
    }

    pub fn id(&self) -> &str {
        &self.id
    }
}

/// `bytes` random bytes from the operating system, as hex: for generated tokens.
pub fn random_hex(bytes: usize) -> String {
    use aes_gcm::aead::rand_core::RngCore as _;
    let mut buf = vec![0u8; bytes];
    OsRng.fill_bytes(&mut buf);
    hex::encode(buf)
}

/// A bearer token: `prefix` and 256 random bits in URL-safe base64 (agent API keys, session
/// tokens). Only [`token_hash`] of it is stored.
pub fn random_token(prefix: &str) -> String {
    format!(
        "{prefix}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random_256_bits())
    )
}

fn random_256_bits() -> [u8; 32] {
    use aes_gcm::aead::rand_core::RngCore as _;
    let mut buf = [0u8; 32];
    OsRng.fill_bytes(&mut buf);
    buf
}

/// A webhook endpoint's signing secret in the Standard Webhooks form: `whsec_` and 256
/// random bits in standard base64. Stored sealed; shown once.
pub fn webhook_signing_secret() -> Secret<String> {
    Secret::new(format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(random_256_bits())
    ))
}

/// What is stored of a [`random_token`]: its SHA-256. The token has 256 random bits, so a
/// fast hash is enough (nothing to brute-force), and lookups are one indexed equality.
pub fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// A value sealed by a [`Keyring`]: what is stored in the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    pub key_id: String,
    pub nonce: Vec<u8>,
    pub ciphertext: Vec<u8>,
}

/// The current master key plus retired ones that can still open old values.
#[derive(Debug)]
pub struct Keyring {
    current: MasterKey,
    retired: Vec<MasterKey>,
}

impl Keyring {
    pub fn new(current: MasterKey, retired: Vec<MasterKey>) -> Self {
        Self { current, retired }
    }

    /// `SIMRUNNER_KEY_ENCRYPTION_KEY` (required when `required`) and the retired keys in
    /// `SIMRUNNER_KEY_ENCRYPTION_KEYS_RETIRED` (comma-separated); problems are reported to
    /// `env` without echoing a key.
    pub fn from_env(env: &mut EnvReader<'_>, required: bool) -> Option<Self> {
        const CURRENT: &str = "SIMRUNNER_KEY_ENCRYPTION_KEY";
        const RETIRED: &str = "SIMRUNNER_KEY_ENCRYPTION_KEYS_RETIRED";
        let parse = |env: &mut EnvReader<'_>, name: &str, text: &str| {
            MasterKey::parse(text)
                .map_err(|e| env.problem(name, e.to_string()))
                .ok()
        };
        let current = env.secret(CURRENT);
        if required {
            env.require(
                CURRENT,
                current.as_ref(),
                "32 random bytes as hex or base64 (openssl rand -hex 32)",
            );
        }
        let current = current.and_then(|k| parse(env, CURRENT, k.expose()));
        let retired = env.secret(RETIRED);
        let retired: Vec<MasterKey> = retired
            .iter()
            .flat_map(|list| list.expose().split(','))
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .filter_map(|k| parse(env, RETIRED, k))
            .collect();
        current.map(|current| Self::new(current, retired))
    }

    pub fn current_key_id(&self) -> &str {
        self.current.id()
    }

    /// A 256-bit key for `purpose` (e.g. signing console sessions), derived from the current
    /// master key: the same on every instance that shares the master key, unrelated to it
    /// and to other purposes' keys.
    pub fn derive_key(&self, purpose: &str) -> [u8; 32] {
        Sha256::new()
            .chain_update(self.current.derivation_root)
            .chain_update(purpose.as_bytes())
            .finalize()
            .into()
    }

    /// Encrypts `plaintext` under the current key with a fresh nonce, bound to `aad`.
    pub fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Sealed {
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let ciphertext = self
            .current
            .cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext,
                    aad,
                },
            )
            .expect("AES-GCM encryption of an in-memory buffer cannot fail");
        Sealed {
            key_id: self.current.id.clone(),
            nonce: nonce.to_vec(),
            ciphertext,
        }
    }

    /// Decrypts a value sealed by this keyring's current or a retired key.
    pub fn open(&self, aad: &[u8], sealed: &Sealed) -> Result<Vec<u8>, OpenError> {
        let key = std::iter::once(&self.current)
            .chain(&self.retired)
            .find(|k| k.id == sealed.key_id)
            .ok_or_else(|| OpenError::UnknownKey(sealed.key_id.clone()))?;
        if sealed.nonce.len() != NONCE_LEN {
            return Err(OpenError::Corrupt);
        }
        key.cipher
            .decrypt(
                Nonce::from_slice(&sealed.nonce),
                Payload {
                    msg: &sealed.ciphertext,
                    aad,
                },
            )
            .map_err(|_| OpenError::Corrupt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> MasterKey {
        MasterKey::parse(&MasterKey::generate_hex()).unwrap()
    }

    #[test]
    fn sealed_values_open_only_with_the_same_row_binding() {
        let ring = Keyring::new(key(), vec![]);
        let sealed = ring.seal(b"key_1", b"sk-live-123456");
        assert_eq!(ring.open(b"key_1", &sealed).unwrap(), b"sk-live-123456");
        assert_eq!(ring.open(b"key_2", &sealed), Err(OpenError::Corrupt));
        assert!(
            !sealed
                .ciphertext
                .windows(b"sk-live".len())
                .any(|w| w == b"sk-live")
        );
    }

    #[test]
    fn derived_keys_are_stable_per_master_key_and_differ_by_purpose() {
        let hex = MasterKey::generate_hex();
        let one = Keyring::new(MasterKey::parse(&hex).unwrap(), vec![]);
        let same = Keyring::new(MasterKey::parse(&hex).unwrap(), vec![]);
        assert_eq!(one.derive_key("sessions"), same.derive_key("sessions"));
        assert_ne!(one.derive_key("sessions"), one.derive_key("other"));
        assert_ne!(
            one.derive_key("sessions"),
            Keyring::new(key(), vec![]).derive_key("sessions")
        );
        assert_ne!(
            one.derive_key("sessions").to_vec(),
            hex::decode(&hex).unwrap()
        );
    }

    #[test]
    fn every_seal_uses_a_fresh_nonce() {
        let ring = Keyring::new(key(), vec![]);
        let a = ring.seal(b"id", b"same");
        let b = ring.seal(b"id", b"same");
        assert_ne!(a.nonce, b.nonce);
        assert_ne!(a.ciphertext, b.ciphertext);
    }

    #[test]
    fn retired_keys_still_open_old_values_after_rotation() {
        let old_hex = MasterKey::generate_hex();
        let old = Keyring::new(MasterKey::parse(&old_hex).unwrap(), vec![]);
        let sealed = old.seal(b"id", b"secret");
        let rotated = Keyring::new(key(), vec![MasterKey::parse(&old_hex).unwrap()]);
        assert_eq!(rotated.open(b"id", &sealed).unwrap(), b"secret");
        let forgotten = Keyring::new(key(), vec![]);
        assert!(matches!(
            forgotten.open(b"id", &sealed),
            Err(OpenError::UnknownKey(_))
        ));
    }

    #[test]
    fn master_keys_parse_from_hex_and_base64_and_reject_wrong_lengths() {
        let bytes = [7u8; 32];
        let hex_key = MasterKey::parse(&hex::encode(bytes)).unwrap();
        let b64 = base64::engine::general_purpose::STANDARD.encode(bytes);
        let b64_key = MasterKey::parse(&b64).unwrap();
        assert_eq!(hex_key.id(), b64_key.id());
        assert_eq!(
            MasterKey::parse("abcd").unwrap_err(),
            KeyError::Malformed(4)
        );
        let short = base64::engine::general_purpose::STANDARD.encode([1u8; 16]);
        assert!(MasterKey::parse(&short).is_err());
    }

    #[test]
    fn debug_output_shows_the_key_id_only() {
        let k = key();
        let shown = format!("{k:?}");
        assert!(shown.contains(k.id()));
        assert!(!shown.contains("cipher"));
    }
}
