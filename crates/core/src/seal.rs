//! Sealing of queued passwords. A password waits in the store only until the sync worker has
//! written it to the directory, and only sealed with XChaCha20-Poly1305 under a 256-bit key
//! kept in a file outside the store. The sealed value is bound to its job, so it cannot be
//! moved to another row.

use std::{
    fmt,
    fs::{self, OpenOptions},
    io::{self, Write},
    os::unix::fs::{OpenOptionsExt, PermissionsExt},
    path::Path,
};

use chacha20poly1305::{
    KeyInit, XChaCha20Poly1305, XNonce,
    aead::{Aead, AeadCore, OsRng, Payload},
};
use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

const VERSION: u8 = 1;
const NONCE_LEN: usize = 24;

/// Why a key could not be loaded or a value not opened. Never holds key material.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    /// The key file could not be read or created.
    #[error("seal key file {path}: {source}")]
    Io {
        /// The key file.
        path: String,
        /// The I/O error.
        source: io::Error,
    },
    /// The key file is not 64 hex digits.
    #[error("seal key file {path} must hold 64 hexadecimal digits (a 256-bit key)")]
    BadKey {
        /// The key file.
        path: String,
    },
    /// Others may read the key file.
    #[error("seal key file {path} may be read by other users; run `chmod 600 {path}`")]
    Exposed {
        /// The key file.
        path: String,
    },
    /// The sealed value was altered, belongs to another job, or was sealed with another key.
    #[error("sealed value cannot be opened with this key")]
    Tampered,
}

/// Seals and opens queued passwords; also derives the server's other keys from the same
/// secret, so a district keeps one key file.
pub struct Sealer {
    cipher: XChaCha20Poly1305,
    key: Zeroizing<[u8; 32]>,
}

impl fmt::Debug for Sealer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Sealer([redacted])")
    }
}

impl Sealer {
    /// A sealer for a raw key.
    pub fn from_key(key: &[u8; 32]) -> Self {
        Self {
            cipher: XChaCha20Poly1305::new(key.into()),
            key: Zeroizing::new(*key),
        }
    }

    /// A key for `purpose`, independent of the sealing key and of other purposes
    /// (HMAC-SHA256 of the label under the key file's secret).
    pub fn subkey(&self, purpose: &str) -> Zeroizing<[u8; 32]> {
        use hmac::{Hmac, Mac};
        let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(self.key.as_slice())
            .expect("HMAC takes any key length");
        mac.update(b"claimd subkey v1:");
        mac.update(purpose.as_bytes());
        Zeroizing::new(mac.finalize().into_bytes().into())
    }

    /// A name for the key that reveals nothing of it (a subkey's first 16 bytes, in hex): the
    /// store keeps it to tell a replica started with another key.
    pub fn fingerprint(&self) -> String {
        self.subkey("fingerprint")[..16]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// Loads the key file, or creates it (mode 0600, a fresh random key) when it does not
    /// exist. Returns whether it was created. Refuses a key file others may read.
    pub fn load_or_create(path: &Path) -> Result<(Self, bool), SealError> {
        let display = path.display().to_string();
        let io_err = |source| SealError::Io {
            path: display.clone(),
            source,
        };
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
        {
            Ok(mut file) => {
                let key = XChaCha20Poly1305::generate_key(&mut OsRng);
                let hex = Zeroizing::new(to_hex(key.as_slice()));
                file.write_all(format!("{}\n", hex.as_str()).as_bytes())
                    .map_err(io_err)?;
                file.sync_all().map_err(io_err)?;
                let raw: [u8; 32] = key.into();
                Ok((Self::from_key(&raw), true))
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                let mode = fs::metadata(path).map_err(io_err)?.permissions().mode();
                if mode & 0o077 != 0 {
                    return Err(SealError::Exposed { path: display });
                }
                let text = Zeroizing::new(fs::read_to_string(path).map_err(io_err)?);
                let key = from_hex(text.trim()).ok_or(SealError::BadKey { path: display })?;
                Ok((Self::from_key(&key), false))
            }
            Err(e) => Err(io_err(e)),
        }
    }

    /// Seals `secret` for the job `context`.
    pub fn seal(&self, secret: &SecretString, context: &[u8]) -> Vec<u8> {
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let payload = Payload {
            msg: secret.expose_secret().as_bytes(),
            aad: context,
        };
        let ciphertext = self
            .cipher
            .encrypt(&nonce, payload)
            .expect("XChaCha20-Poly1305 sealing cannot fail");
        let mut sealed = Vec::with_capacity(1 + NONCE_LEN + ciphertext.len());
        sealed.push(VERSION);
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&ciphertext);
        sealed
    }

    /// Opens a value sealed for the job `context`.
    pub fn open(&self, sealed: &[u8], context: &[u8]) -> Result<SecretString, SealError> {
        if sealed.len() < 1 + NONCE_LEN || sealed[0] != VERSION {
            return Err(SealError::Tampered);
        }
        let (nonce, ciphertext) = sealed[1..].split_at(NONCE_LEN);
        let plain = Zeroizing::new(
            self.cipher
                .decrypt(
                    XNonce::from_slice(nonce),
                    Payload {
                        msg: ciphertext,
                        aad: context,
                    },
                )
                .map_err(|_| SealError::Tampered)?,
        );
        let text = std::str::from_utf8(&plain).map_err(|_| SealError::Tampered)?;
        Ok(SecretString::from(text))
    }
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn from_hex(text: &str) -> Option<[u8; 32]> {
    if text.len() != 64 || !text.is_ascii() {
        return None;
    }
    let mut key = [0u8; 32];
    for (i, byte) in key.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_for_their_job() {
        let sealer = Sealer::from_key(&[7; 32]);
        let sealed = sealer.seal(&SecretString::from("Correct-Horse-9"), b"job-1");
        assert!(!sealed.windows(7).any(|w| w == b"Correct"));
        assert_eq!(
            sealer.open(&sealed, b"job-1").unwrap().expose_secret(),
            "Correct-Horse-9"
        );
        assert!(matches!(
            sealer.open(&sealed, b"job-2"),
            Err(SealError::Tampered)
        ));
        assert!(matches!(
            Sealer::from_key(&[8; 32]).open(&sealed, b"job-1"),
            Err(SealError::Tampered)
        ));
        let mut flipped = sealed.clone();
        *flipped.last_mut().unwrap() ^= 1;
        assert!(matches!(
            sealer.open(&flipped, b"job-1"),
            Err(SealError::Tampered)
        ));
    }

    #[test]
    fn key_file_is_created_private_and_reloaded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("seal.key");
        let (first, created) = Sealer::load_or_create(&path).unwrap();
        assert!(created);
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let (second, created) = Sealer::load_or_create(&path).unwrap();
        assert!(!created);
        let sealed = first.seal(&SecretString::from("pw-123456"), b"j");
        assert_eq!(
            second.open(&sealed, b"j").unwrap().expose_secret(),
            "pw-123456"
        );
        assert_eq!(format!("{second:?}"), "Sealer([redacted])");
    }

    #[test]
    fn exposed_or_malformed_key_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("seal.key");
        Sealer::load_or_create(&path).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(
            Sealer::load_or_create(&path),
            Err(SealError::Exposed { .. })
        ));
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        fs::write(&path, "not hex").unwrap();
        assert!(matches!(
            Sealer::load_or_create(&path),
            Err(SealError::BadKey { .. })
        ));
    }
}
