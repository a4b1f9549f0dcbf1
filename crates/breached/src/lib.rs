//! The breached-password list (NIST SP 800-63B 3.1.1.2, ASVS 6.2.12): Have I Been Pwned's
//! downloadable Pwned Passwords file, or any file in its format: one `SHA1HEX:COUNT` line per
//! password, sorted by hash, `\r\n` or `\n` line ends. The full list is tens of GiB, so it is
//! never loaded: each lookup is a binary search over byte offsets with positioned reads on the
//! one open file, about 35 reads of 128 bytes for the whole list, served by the page cache
//! after the first few. claimd's memory is the same with or without it.

use std::{
    cmp::Ordering,
    fmt,
    fs::File,
    io,
    os::unix::fs::FileExt,
    path::{Path, PathBuf},
};

use claimd_core::BreachedPasswords;
use secrecy::{ExposeSecret, SecretString};
use sha1::{Digest, Sha1};

/// A SHA-1 hash, as the file's lines name it.
type Hash = [u8; 20];

/// The longest line the search reads: 40 hex digits, a colon, a count of up to 20 digits and
/// a line end. Reading twice that from just before a point always holds the next whole line.
const MAX_LINE: usize = 40 + 1 + 20 + 2;
const READ: usize = 2 * MAX_LINE + 1;

/// An open breached list and the count from which a listed password is refused.
pub struct BreachedList {
    file: File,
    len: u64,
    min_count: u64,
    path: PathBuf,
}

impl fmt::Debug for BreachedList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BreachedList")
            .field("path", &self.path)
            .field("bytes", &self.len)
            .field("min_count", &self.min_count)
            .finish()
    }
}

impl BreachedList {
    /// Opens the list and checks that its first and last lines are `SHA1HEX:COUNT` in order,
    /// so a wrong file (the NTLM list, a hash per line without counts) stops the start rather
    /// than refusing nothing. `min_count` is at least 1.
    pub fn open(path: &Path, min_count: u64) -> Result<Self, String> {
        if min_count == 0 {
            return Err("breached_min_count must be at least 1".into());
        }
        let file = File::open(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
        let len = file
            .metadata()
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?
            .len();
        let list = Self {
            file,
            len,
            min_count,
            path: path.to_owned(),
        };
        let bad = |what: &str| {
            format!(
                "{} {what}: expected sorted Pwned Passwords SHA-1 lines such as \
                 000000005AD76BD555C1D6D771DE417A4B87E4B4:10",
                path.display()
            )
        };
        let first = list
            .line_from(0)
            .map_err(|_| bad("has a malformed line"))?
            .ok_or_else(|| bad("is empty"))?;
        let last_start = list.len.saturating_sub(MAX_LINE as u64 + 1);
        let mut last = first;
        let mut at = last_start;
        while let Some(line) = list
            .line_from(at)
            .map_err(|_| bad("has a malformed line"))?
        {
            last = line;
            at = line.next;
        }
        if last.hash < first.hash {
            return Err(bad("is not sorted"));
        }
        Ok(list)
    }

    /// The file's path, for messages.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// How many times the list says the hash was seen, if it is listed.
    fn count(&self, target: &Hash) -> io::Result<Option<u64>> {
        // Invariant: every line starting before `lo` is below the target, every line starting
        // at or after `hi` above it, and `lo` is a line start.
        let (mut lo, mut hi) = (0, self.len);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match self.line_from(mid)? {
                Some(line) if line.start < hi => match line.hash.cmp(target) {
                    Ordering::Less => lo = line.next,
                    Ordering::Equal => return Ok(Some(line.count)),
                    Ordering::Greater => hi = mid,
                },
                _ => hi = mid,
            }
        }
        Ok(None)
    }

    /// The first line that starts at or after `at`, if any.
    fn line_from(&self, at: u64) -> io::Result<Option<Line>> {
        if at >= self.len {
            return Ok(None);
        }
        // Read from the byte before `at`: a line end there means a line starts at `at`.
        let from = at.saturating_sub(1);
        let mut buf = [0u8; READ];
        let want = READ.min((self.len - from) as usize);
        self.file.read_exact_at(&mut buf[..want], from)?;
        let buf = &buf[..want];
        let skip = if at == 0 {
            0
        } else {
            match buf.iter().position(|&b| b == b'\n') {
                Some(nl) => nl + 1,
                // Inside the last line, which has no line end: no line starts after it.
                None if from + want as u64 == self.len => return Ok(None),
                None => return Err(malformed()),
            }
        };
        let start = from + skip as u64;
        if start >= self.len {
            return Ok(None);
        }
        let rest = &buf[skip..];
        let (text, next) = match rest.iter().position(|&b| b == b'\n') {
            Some(nl) => (&rest[..nl], start + nl as u64 + 1),
            None if start + rest.len() as u64 == self.len => (rest, self.len),
            None => return Err(malformed()),
        };
        Line::parse(text, start, next)
            .map(Some)
            .ok_or_else(malformed)
    }
}

impl BreachedPasswords for BreachedList {
    /// Whether the password is listed at least `min_count` times.
    fn holds(&self, password: &SecretString) -> io::Result<bool> {
        let hash: Hash = Sha1::digest(password.expose_secret().as_bytes()).into();
        Ok(self.count(&hash)?.is_some_and(|n| n >= self.min_count))
    }
}

fn malformed() -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, "a line is not SHA1HEX:COUNT")
}

#[derive(Clone, Copy, Debug)]
struct Line {
    start: u64,
    next: u64,
    hash: Hash,
    count: u64,
}

impl Line {
    fn parse(text: &[u8], start: u64, next: u64) -> Option<Self> {
        let text = text.strip_suffix(b"\r").unwrap_or(text);
        let (hex, count) = (text.get(..40)?, text.get(40..)?.strip_prefix(b":")?);
        let mut hash = [0u8; 20];
        for (byte, pair) in hash.iter_mut().zip(hex.chunks_exact(2)) {
            *byte = (nibble(pair[0])? << 4) | nibble(pair[1])?;
        }
        let count = std::str::from_utf8(count).ok()?.parse().ok()?;
        Some(Self {
            start,
            next,
            hash,
            count,
        })
    }
}

fn nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'A'..=b'F' => Some(c - b'A' + 10),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn sha1_hex(password: &str) -> String {
        Sha1::digest(password.as_bytes())
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect()
    }

    fn list(
        lines: &[(String, u64)],
        ending: &str,
        min_count: u64,
    ) -> (tempfile::TempDir, BreachedList) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pwned.txt");
        let mut sorted = lines.to_vec();
        sorted.sort();
        let mut file = File::create(&path).unwrap();
        let body: Vec<String> = sorted.iter().map(|(h, n)| format!("{h}:{n}")).collect();
        file.write_all(body.join(ending).as_bytes()).unwrap();
        let list = BreachedList::open(&path, min_count).unwrap();
        (dir, list)
    }

    fn holds(list: &BreachedList, password: &str) -> bool {
        list.holds(&SecretString::from(password)).unwrap()
    }

    #[test]
    fn listed_passwords_are_found_at_every_position() {
        let words: Vec<String> = (0..500).map(|i| format!("password-{i}")).collect();
        let lines: Vec<_> = words
            .iter()
            .map(|w| (sha1_hex(w), 1 + w.len() as u64))
            .collect();
        for ending in ["\r\n", "\n"] {
            let (_dir, list) = list(&lines, ending, 1);
            for word in &words {
                assert!(holds(&list, word), "{word} with {ending:?}");
            }
            for other in (0..500).map(|i| format!("not-listed-{i}")) {
                assert!(!holds(&list, &other), "{other}");
            }
        }
    }

    #[test]
    fn a_one_line_list_and_lower_case_hashes_work() {
        let (_dir, one) = list(&[(sha1_hex("hunter2"), 7)], "\n", 1);
        assert!(holds(&one, "hunter2"));
        assert!(!holds(&one, "hunter3"));
        let (_dir, lower) = list(&[(sha1_hex("hunter2").to_lowercase(), 7)], "\n", 1);
        assert!(holds(&lower, "hunter2"));
    }

    #[test]
    fn the_minimum_count_decides() {
        let lines = [(sha1_hex("seen-once"), 1), (sha1_hex("seen-often"), 900)];
        let (_dir, list) = list(&lines, "\r\n", 10);
        assert!(!holds(&list, "seen-once"));
        assert!(holds(&list, "seen-often"));
    }

    #[test]
    fn wrong_files_are_refused_when_opened() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("list.txt");
        for (body, says) in [
            ("", "is empty"),
            ("8846F7EAEE8FB117AD06BDD830B7586C:3\n", "malformed"), // the NTLM list
            ("5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8\n", "malformed"), // no counts
            (
                "FFFFF7EAEE8FB117AD06BDD830B7586C00000000:3\n00000000000000000000000000000000000000AA:1\n",
                "not sorted",
            ),
        ] {
            std::fs::write(&path, body).unwrap();
            let err = BreachedList::open(&path, 1).unwrap_err();
            assert!(err.contains(says), "{body:?}: {err}");
        }
        assert!(
            BreachedList::open(&dir.path().join("missing"), 1)
                .unwrap_err()
                .contains("cannot open")
        );
        std::fs::write(&path, format!("{}:1\n", sha1_hex("x"))).unwrap();
        assert!(BreachedList::open(&path, 0).is_err());
    }

    #[test]
    fn debug_names_the_file_and_no_hash() {
        let (_dir, list) = list(&[(sha1_hex("hunter2"), 7)], "\n", 1);
        let debug = format!("{list:?}");
        assert!(debug.contains("pwned.txt") && !debug.contains(&sha1_hex("hunter2")));
    }

    proptest::proptest! {
        #[test]
        fn lookups_agree_with_a_set(
            listed in proptest::collection::btree_set("[a-z0-9]{1,12}", 1..80),
            asked in proptest::collection::vec("[a-z0-9]{1,12}", 1..40),
        ) {
            let lines: Vec<_> = listed.iter().map(|w| (sha1_hex(w), 3)).collect();
            let (_dir, list) = list(&lines, "\r\n", 1);
            for word in listed.iter().chain(&asked) {
                proptest::prop_assert_eq!(holds(&list, word), listed.contains(word));
            }
        }
    }
}
