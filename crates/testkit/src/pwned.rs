//! A breached-password list in Have I Been Pwned's downloadable format, generated: `lines`
//! sorted `SHA1HEX:COUNT\r\n` lines spread over the whole hash space, with the SHA-1 of each
//! `planted` password among them at its sorted place. The real list is tens of GiB; the
//! search in claimd-breached works the same on ten million lines.

use std::{
    fs::File,
    io::{self, BufWriter, Write},
    path::Path,
};

use sha1::{Digest, Sha1};

const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// Writes the list to `path`; `planted` passwords are listed `planted_count` times each.
pub fn write_pwned_list(
    path: &Path,
    lines: u64,
    planted: &[&str],
    planted_count: u64,
) -> io::Result<()> {
    let mut planted: Vec<[u8; 20]> = planted
        .iter()
        .map(|p| Sha1::digest(p.as_bytes()).into())
        .collect();
    planted.sort();
    let mut planted = planted.into_iter().peekable();
    let mut out = BufWriter::with_capacity(1 << 20, File::create(path)?);
    let step = u64::MAX / lines.max(1);
    let mut noise: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut line = [0u8; 64];
    for i in 0..lines {
        // The first eight bytes climb evenly, so the lines are sorted without a sort; the
        // other twelve are noise.
        let mut hash = [0u8; 20];
        hash[..8].copy_from_slice(&(i * step).to_be_bytes());
        noise ^= noise << 13;
        noise ^= noise >> 7;
        noise ^= noise << 17;
        hash[8..16].copy_from_slice(&noise.to_be_bytes());
        hash[16..].copy_from_slice(&(noise as u32).rotate_left(7).to_be_bytes());
        while let Some(p) = planted.next_if(|p| *p < hash) {
            out.write_all(render(&mut line, &p, planted_count))?;
        }
        out.write_all(render(&mut line, &hash, 1 + i % 97))?;
    }
    for p in planted {
        out.write_all(render(&mut line, &p, planted_count))?;
    }
    out.into_inner()?.sync_all()
}

fn render<'a>(line: &'a mut [u8; 64], hash: &[u8; 20], count: u64) -> &'a [u8] {
    for (i, b) in hash.iter().enumerate() {
        line[2 * i] = HEX[usize::from(b >> 4)];
        line[2 * i + 1] = HEX[usize::from(b & 15)];
    }
    line[40] = b':';
    let count = count.to_string();
    let end = 41 + count.len();
    line[41..end].copy_from_slice(count.as_bytes());
    line[end..end + 2].copy_from_slice(b"\r\n");
    &line[..end + 2]
}
