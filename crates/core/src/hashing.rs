//! Challenge answers are hashed one by one with argon2id at the OWASP parameters (m=19456 KiB,
//! t=2, p=1), a random salt each, and an optional server-side pepper. The work is CPU-heavy
//! (~15 ms a hash), so callers run it on the bounded admission pool, never on async threads.

use std::{fmt, sync::Arc};

use argon2::{Algorithm, Argon2, Params, Version, password_hash::PasswordHasher};
use secrecy::{ExposeSecret, SecretSlice, SecretString};

use crate::Error;

/// Hashes (and later verifies) normalised challenge answers.
#[derive(Clone)]
pub struct AnswerHasher {
    pepper: Option<Arc<SecretSlice<u8>>>,
}

impl fmt::Debug for AnswerHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pepper = if self.pepper.is_some() { "set" } else { "none" };
        f.debug_struct("AnswerHasher")
            .field("pepper", &pepper)
            .finish()
    }
}

impl AnswerHasher {
    /// A hasher with an optional pepper (kept outside the store, e.g. in a file).
    pub fn new(pepper: Option<SecretSlice<u8>>) -> Self {
        Self {
            pepper: pepper.map(Arc::new),
        }
    }

    fn argon2(&self) -> Result<Argon2<'_>, argon2::Error> {
        match &self.pepper {
            Some(pepper) => Argon2::new_with_secret(
                pepper.expose_secret(),
                Algorithm::Argon2id,
                Version::V0x13,
                Params::default(),
            ),
            None => Ok(Argon2::new(
                Algorithm::Argon2id,
                Version::V0x13,
                Params::default(),
            )),
        }
    }

    /// Hashes each key to a PHC string, one after another. CPU-heavy: callers run it on the
    /// admission pool ([`crate::admission::CpuPool`]), never on an async thread.
    pub fn hash_each(&self, keys: &[SecretString]) -> Result<Vec<String>, Error> {
        keys.iter().map(|key| self.hash_one(key)).collect()
    }

    /// Checks each key against its PHC hash. Every pair costs one full argon2 run, whatever
    /// the outcome, so timing tells nothing. CPU-heavy, like [`AnswerHasher::hash_each`].
    pub fn verify_each(&self, pairs: &[(SecretString, String)]) -> Vec<bool> {
        pairs
            .iter()
            .map(|(key, hash)| self.verify_one(key, hash))
            .collect()
    }

    fn verify_one(&self, key: &SecretString, hash: &str) -> bool {
        use argon2::password_hash::PasswordVerifier;
        match self.argon2() {
            Ok(argon2) => argon2
                .verify_password(key.expose_secret().as_bytes(), hash)
                .is_ok(),
            Err(e) => {
                tracing::error!(error = %e, "argon2 setup failed");
                false
            }
        }
    }

    /// A hash of a random value at the same parameters, to verify against when the account is
    /// unknown (the work done must not depend on whether it exists).
    pub fn dummy_hash(&self) -> Result<String, Error> {
        let random: [u8; 16] = rand::random();
        let text: String = random.iter().map(|b| format!("{b:02x}")).collect();
        self.hash_one(&SecretString::from(text))
    }

    fn hash_one(&self, key: &SecretString) -> Result<String, Error> {
        let argon2 = self.argon2().map_err(|e| {
            tracing::error!(error = %e, "argon2 setup failed");
            Error::Internal
        })?;
        argon2
            .hash_password(key.expose_secret().as_bytes())
            .map(|hash| hash.to_string())
            .map_err(|e| {
                tracing::error!(error = %e, "argon2 hashing failed");
                Error::Internal
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::password_hash::PasswordVerifier;

    #[test]
    fn hashes_are_salted_argon2id_at_owasp_parameters() {
        let hasher = AnswerHasher::new(None);
        let hashes = hasher
            .hash_each(&[SecretString::from("rex"), SecretString::from("rex")])
            .unwrap();
        assert!(
            hashes[0].starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{}",
            hashes[0]
        );
        assert_ne!(hashes[0], hashes[1], "each hash has its own salt");
        assert!(!hashes[0].contains("rex"));
        let argon2 = hasher.argon2().unwrap();
        assert!(argon2.verify_password(b"rex", hashes[0].as_str()).is_ok());
        assert!(argon2.verify_password(b"rexx", hashes[0].as_str()).is_err());
        let checks = hasher.verify_each(&[
            (SecretString::from("rex"), hashes[0].clone()),
            (SecretString::from("rexx"), hashes[1].clone()),
            (SecretString::from("rex"), "not a hash".into()),
        ]);
        assert_eq!(checks, [true, false, false]);
        assert!(
            hasher
                .dummy_hash()
                .unwrap()
                .starts_with("$argon2id$v=19$m=19456,t=2,p=1$")
        );
    }

    #[test]
    fn a_peppered_hash_needs_the_pepper() {
        let peppered = AnswerHasher::new(Some(SecretSlice::from(b"pepper".to_vec())));
        let hash = peppered
            .hash_each(&[SecretString::from("rex")])
            .unwrap()
            .remove(0);
        let plain = AnswerHasher::new(None);
        assert!(
            peppered
                .argon2()
                .unwrap()
                .verify_password(b"rex", hash.as_str())
                .is_ok()
        );
        assert!(
            plain
                .argon2()
                .unwrap()
                .verify_password(b"rex", hash.as_str())
                .is_err()
        );
        assert_eq!(format!("{peppered:?}"), r#"AnswerHasher { pepper: "set" }"#);
    }
}
