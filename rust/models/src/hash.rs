//! SHA-256 helpers: hex formatting, validation, and hashing a file prefix
//! (to resume a download's running hash without keeping hasher state on disk).

use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{Read, Write};
use std::path::Path;

use crate::error::{ModelError, Result};

pub fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

pub fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// A hasher fed with the first `len` bytes of `path` (all of it when `None`).
pub fn hash_prefix(path: &Path, len: Option<u64>) -> Result<(Sha256, u64)> {
    let f = File::open(path).map_err(|e| ModelError::io(path, e))?;
    let mut r = f.take(len.unwrap_or(u64::MAX));
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut n_total = 0u64;
    loop {
        let n = r.read(&mut buf).map_err(|e| ModelError::io(path, e))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
        n_total += n as u64;
    }
    Ok((h, n_total))
}

/// SHA-256 of a whole file, in hex.
pub fn file_sha256(path: &Path) -> Result<String> {
    let (h, _) = hash_prefix(path, None)?;
    Ok(hex(&h.finalize()))
}

/// Writes through to `inner` and hashes exactly the bytes it accepted.
pub struct HashingWriter<'a, W: Write> {
    pub inner: &'a mut W,
    pub hasher: &'a mut Sha256,
}

impl<W: Write> Write for HashingWriter<'_, W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}
