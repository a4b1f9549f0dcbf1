//! Challenge answers are hashed one by one with argon2id at the OWASP parameters (m=19456 KiB,
//! t=2, p=1), a random salt each, and an optional server-side pepper. The work is CPU-heavy
//! (~14 ms a hash), so callers run it on the bounded admission pool, never on async threads.
//!
//! The 19 MiB each hash works in are kept and reused (a few buffers, zeroed after each use):
//! a fresh allocation per hash cost a sixth of its time in page faults and zeroing, and more
//! with two cores hashing at once.

use std::{
    fmt,
    sync::{Arc, Mutex},
};

use argon2::{
    Algorithm, Argon2, Block, Params, Version,
    password_hash::phc::{Output, ParamsString, PasswordHash, Salt},
};
use secrecy::{ExposeSecret, SecretSlice, SecretString};
use zeroize::Zeroize;

use crate::Error;

/// Buffers kept for reuse at most (one per CPU worker is enough; more are freed).
const KEPT_BUFFERS: usize = 8;

/// Hashes (and later verifies) normalised challenge answers.
#[derive(Clone)]
pub struct AnswerHasher {
    pepper: Option<Arc<SecretSlice<u8>>>,
    /// argon2's working memory, reused across hashes.
    memory: Arc<Mutex<Vec<Vec<Block>>>>,
}

impl fmt::Debug for AnswerHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pepper = if self.pepper.is_some() { "set" } else { "none" };
        f.debug_struct("AnswerHasher")
            .field("pepper", &pepper)
            .finish()
    }
}

fn internal(what: &str, e: impl fmt::Display) -> Error {
    tracing::error!(error = %e, "argon2 {what} failed");
    Error::Internal
}

impl AnswerHasher {
    /// A hasher with an optional pepper (kept outside the store, e.g. in a file).
    pub fn new(pepper: Option<SecretSlice<u8>>) -> Self {
        Self {
            pepper: pepper.map(Arc::new),
            memory: Arc::default(),
        }
    }

    fn argon2(&self, params: Params) -> Result<Argon2<'_>, argon2::Error> {
        match &self.pepper {
            Some(pepper) => Argon2::new_with_secret(
                pepper.expose_secret(),
                Algorithm::Argon2id,
                Version::V0x13,
                params,
            ),
            None => Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params)),
        }
    }

    /// Runs argon2 for `key` and `salt` into `out`, in a reused buffer.
    fn run(&self, params: Params, key: &[u8], salt: &[u8], out: &mut [u8]) -> Result<(), Error> {
        let blocks = params.block_count();
        let argon2 = self.argon2(params).map_err(|e| internal("setup", e))?;
        let mut memory = self
            .memory
            .lock()
            .ok()
            .and_then(|mut kept| kept.pop())
            .filter(|m| m.len() == blocks)
            .unwrap_or_else(|| vec![Block::default(); blocks]);
        let result = argon2.hash_password_into_with_memory(key, salt, out, &mut memory[..]);
        // The blocks are derived from the answer: nothing of them outlives the hash. A plain
        // fill (the buffer is kept and read again, so the writes cannot be dropped) runs at
        // memset speed; zeroize's volatile word writes took 3 % of a claim.
        memory.fill(Block::default());
        if let Ok(mut kept) = self.memory.lock()
            && kept.len() < KEPT_BUFFERS
        {
            kept.push(memory);
        }
        result.map_err(|e| internal("hashing", e))
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

    /// Re-hashes `key` with the stored hash's salt and parameters and compares (in constant
    /// time, [`Output`]'s equality). A hash that does not parse fails (after a full run at the
    /// default parameters, so it costs what a real check costs).
    fn verify_one(&self, key: &SecretString, hash: &str) -> bool {
        let parsed = PasswordHash::new(hash).ok().and_then(|parsed| {
            let argon2id = parsed.algorithm.as_str() == "argon2id";
            let params = Params::try_from(&parsed).ok()?;
            Some((argon2id, params, parsed.salt?, parsed.hash?))
        });
        let (valid, params, salt, expected) = match parsed {
            Some((argon2id, params, salt, expected)) => (argon2id, params, salt, expected),
            None => {
                let _ = self.hash_one(key);
                return false;
            }
        };
        let mut out = vec![0u8; expected.len()];
        if self
            .run(params, key.expose_secret().as_bytes(), &salt, &mut out)
            .is_err()
        {
            return false;
        }
        let matches = Output::new(&out).is_ok_and(|computed| computed == expected);
        out.zeroize();
        valid && matches
    }

    /// A hash of a random value at the same parameters, to verify against when the account is
    /// unknown (the work done must not depend on whether it exists).
    pub fn dummy_hash(&self) -> Result<String, Error> {
        let random: [u8; 16] = rand::random();
        let text: String = random.iter().map(|b| format!("{b:02x}")).collect();
        self.hash_one(&SecretString::from(text))
    }

    fn hash_one(&self, key: &SecretString) -> Result<String, Error> {
        let params = Params::default();
        let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
        let salt: [u8; 16] = rand::random();
        self.run(
            params.clone(),
            key.expose_secret().as_bytes(),
            &salt,
            &mut out,
        )?;
        let hash = PasswordHash {
            algorithm: Algorithm::Argon2id.ident(),
            version: Some(Version::V0x13.into()),
            params: ParamsString::try_from(&params).map_err(|e| internal("encoding", e))?,
            salt: Some(Salt::new(&salt).map_err(|e| internal("encoding", e))?),
            hash: Some(Output::new(&out).map_err(|e| internal("encoding", e))?),
        };
        out.zeroize();
        Ok(hash.to_string())
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
        // The argon2 crate's own verifier agrees (the PHC string is the standard one).
        let argon2 = hasher.argon2(Params::default()).unwrap();
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
                .argon2(Params::default())
                .unwrap()
                .verify_password(b"rex", hash.as_str())
                .is_ok()
        );
        assert!(
            peppered.verify_each(&[(SecretString::from("rex"), hash.clone())]) == [true]
                && plain.verify_each(&[(SecretString::from("rex"), hash.clone())]) == [false]
        );
        assert!(
            plain
                .argon2(Params::default())
                .unwrap()
                .verify_password(b"rex", hash.as_str())
                .is_err()
        );
        assert_eq!(format!("{peppered:?}"), r#"AnswerHasher { pepper: "set" }"#);
    }

    /// Hashes made before the working memory was reused (by the argon2 crate's own hasher,
    /// as stored in existing databases) still verify, and the reused buffers change nothing.
    #[test]
    fn hashes_from_the_argon2_crate_verify_and_buffers_are_reused_cleanly() {
        use argon2::password_hash::PasswordHasher;
        let hasher = AnswerHasher::new(None);
        let stored = hasher
            .argon2(Params::default())
            .unwrap()
            .hash_password(b"ford focus")
            .unwrap()
            .to_string();
        for _ in 0..3 {
            assert_eq!(
                hasher.verify_each(&[
                    (SecretString::from("ford focus"), stored.clone()),
                    (SecretString::from("ford fiesta"), stored.clone()),
                ]),
                [true, false]
            );
        }
        assert!(hasher.memory.lock().unwrap().len() <= KEPT_BUFFERS);
        assert!(
            hasher.memory.lock().unwrap()[0]
                .iter()
                .all(|block| block.as_ref().iter().all(|w| *w == 0)),
            "a kept buffer is zeroed"
        );
        // Another algorithm's string is refused.
        let argon2i = stored.replacen("$argon2id$", "$argon2i$", 1);
        assert_eq!(
            hasher.verify_each(&[(SecretString::from("ford focus"), argon2i)]),
            [false]
        );
    }
}
