//! Session snapshots: the conversation, its tokens and its KV cache in one
//! file, so a session continues without re-prefilling, in this process after
//! a release or in a new one after the app was killed.
//!
//! Layout (version 2): magic, version, header length, JSON header, the
//! header's BLAKE3 hash, then the KV cache as little-endian f32. The header
//! carries the KV data's hash and the model's content hash, so a torn,
//! bit-flipped or foreign file is refused with [`Error::InvalidSnapshot`]
//! instead of feeding garbage keys to attention.
//!
//! Writes go to a temporary file that is synced and renamed over the old
//! snapshot, so a full disk or a crash mid-write never leaves a torn snapshot
//! and never touches the session in memory. Files are created owner-only
//! (0600): they hold the conversation in plain text. Platform protection
//! (iOS data protection, Android app-private storage) comes from the
//! directory the wrappers choose.

use std::fs;
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::template::ChatMessage;

const MAGIC: &[u8; 8] = b"MOTESNAP";
pub const VERSION: u32 = 2;
/// A header this large is not ours.
const MAX_HEADER: u64 = 64 << 20;
const FIXED: u64 = 8 + 4 + 8;
const HASH: u64 = 32;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnapshotHeader {
    /// BLAKE3 of the model's tensor data (see `memory::model_hash`): two
    /// fine-tunes of one base model never share it.
    pub model_hash: String,
    pub system_prompt: Option<String>,
    pub history: Vec<ChatMessage>,
    /// The first history message the model sees (older ones were dropped
    /// under the session's context policy).
    #[serde(default)]
    pub window_start: usize,
    /// The tokens whose keys and values follow.
    pub tokens: Vec<u32>,
    pub kv_floats: usize,
    /// BLAKE3 of the KV bytes, hex.
    pub kv_hash: String,
}

pub fn write(path: &Path, header: &SnapshotHeader, kv: &[f32]) -> Result<()> {
    let storage = |e: std::io::Error| Error::Storage(format!("write snapshot {}: {e}", path.display()));
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(storage)?;
    let tmp = temp_path(path);
    remove_dead_writers_temp_files(path);
    let result = (|| {
        let mut w = BufWriter::new(create_private(&tmp)?);
        write_to(&mut w, header, kv)?;
        let f = w.into_inner().map_err(|e| e.into_error())?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(storage(e));
    }
    Ok(())
}

/// A temporary name next to `path` that no other writer uses.
fn temp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".{}.tmp", std::process::id()));
    path.with_file_name(name)
}

/// Temporary files that writers killed mid-write left next to `path`
/// (`<name>.<pid>.tmp` of a process that no longer exists). Best effort.
fn remove_dead_writers_temp_files(path: &Path) {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name().and_then(|n| n.to_str())) else { return };
    let Ok(entries) = fs::read_dir(if dir.as_os_str().is_empty() { Path::new(".") } else { dir }) else { return };
    for entry in entries.flatten() {
        let file = entry.file_name();
        let Some(pid) = file
            .to_str()
            .and_then(|f| f.strip_prefix(name)?.strip_prefix('.')?.strip_suffix(".tmp")?.parse::<i32>().ok())
        else {
            continue;
        };
        if pid != std::process::id() as i32 && !process_exists(pid) {
            let _ = fs::remove_file(entry.path());
        }
    }
}

#[cfg(unix)]
fn process_exists(pid: i32) -> bool {
    // SAFETY: signal 0 only checks that the process exists; nothing is sent.
    unsafe { libc::kill(pid, 0) == 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH) }
}

#[cfg(not(unix))]
fn process_exists(_pid: i32) -> bool {
    true
}

fn create_private(path: &Path) -> std::io::Result<fs::File> {
    let mut o = fs::OpenOptions::new();
    o.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    o.open(path)
}

/// The hex BLAKE3 of `kv` as the file stores it.
pub fn kv_hash(kv: &[f32]) -> String {
    let mut h = blake3::Hasher::new();
    for chunk in kv.chunks(16 * 1024) {
        h.update(&le_bytes(chunk));
    }
    h.finalize().to_hex().to_string()
}

fn le_bytes(chunk: &[f32]) -> Vec<u8> {
    chunk.iter().flat_map(|f| f.to_le_bytes()).collect()
}

fn write_to(w: &mut impl Write, header: &SnapshotHeader, kv: &[f32]) -> std::io::Result<()> {
    let json = serde_json::to_vec(header).expect("plain struct");
    w.write_all(MAGIC)?;
    w.write_all(&VERSION.to_le_bytes())?;
    w.write_all(&(json.len() as u64).to_le_bytes())?;
    w.write_all(&json)?;
    w.write_all(blake3::hash(&json).as_bytes())?;
    for chunk in kv.chunks(16 * 1024) {
        w.write_all(&le_bytes(chunk))?;
    }
    w.flush()
}

fn invalid(path: &Path, m: impl std::fmt::Display) -> Error {
    Error::InvalidSnapshot(format!("{}: {m}", path.display()))
}

/// Reads and verifies the header only (cheap: the KV data is not read).
pub fn read_header(path: &Path) -> Result<SnapshotHeader> {
    let f = fs::File::open(path).map_err(|e| invalid(path, e))?;
    read_header_from(path, &mut BufReader::new(f)).map(|(h, _)| h)
}

fn read_header_from(path: &Path, r: &mut BufReader<fs::File>) -> Result<(SnapshotHeader, u64)> {
    let len = r.get_ref().metadata().map_err(|e| invalid(path, e))?.len();
    let mut fixed = [0u8; FIXED as usize];
    r.read_exact(&mut fixed).map_err(|_| invalid(path, "truncated"))?;
    if &fixed[..8] != MAGIC {
        return Err(invalid(path, "not a Mote snapshot"));
    }
    let version = u32::from_le_bytes(fixed[8..12].try_into().expect("4 bytes"));
    if version != VERSION {
        return Err(invalid(path, format!("format version {version} is not supported (this build reads {VERSION})")));
    }
    let hlen = u64::from_le_bytes(fixed[12..20].try_into().expect("8 bytes"));
    if hlen > MAX_HEADER || FIXED + hlen + HASH > len {
        return Err(invalid(path, "corrupt or truncated header"));
    }
    let mut json = vec![0u8; hlen as usize];
    let mut sum = [0u8; HASH as usize];
    r.read_exact(&mut json).and_then(|_| r.read_exact(&mut sum)).map_err(|_| invalid(path, "truncated"))?;
    if blake3::hash(&json).as_bytes() != &sum {
        return Err(invalid(path, "header checksum mismatch"));
    }
    let header: SnapshotHeader = serde_json::from_slice(&json).map_err(|e| invalid(path, format!("corrupt header: {e}")))?;
    let data_at = FIXED + hlen + HASH;
    if Some(len - data_at) != (header.kv_floats as u64).checked_mul(4) {
        return Err(invalid(path, "KV data is truncated or has trailing bytes"));
    }
    Ok((header, data_at))
}

/// Reads the whole snapshot, verifying both checksums.
pub fn read(path: &Path) -> Result<(SnapshotHeader, Vec<f32>)> {
    let f = fs::File::open(path).map_err(|e| invalid(path, e))?;
    let mut r = BufReader::new(f);
    let (header, data_at) = read_header_from(path, &mut r)?;
    r.seek(SeekFrom::Start(data_at)).map_err(|e| invalid(path, e))?;
    let mut bytes = vec![0u8; header.kv_floats * 4];
    r.read_exact(&mut bytes).map_err(|_| invalid(path, "truncated"))?;
    if blake3::hash(&bytes).to_hex().as_str() != header.kv_hash {
        return Err(invalid(path, "KV data checksum mismatch"));
    }
    let kv = bytes.chunks_exact(4).map(|b| f32::from_le_bytes(b.try_into().expect("4 bytes"))).collect();
    Ok((header, kv))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::Role;

    fn header(kv: &[f32]) -> SnapshotHeader {
        SnapshotHeader {
            model_hash: "m".into(),
            system_prompt: None,
            history: vec![ChatMessage::new(Role::User, "hi")],
            window_start: 0,
            tokens: vec![1, 2, 3],
            kv_floats: kv.len(),
            kv_hash: kv_hash(kv),
        }
    }

    /// Every way a file on disk can go bad is refused with `InvalidSnapshot`.
    #[test]
    fn damaged_files_are_refused_with_a_typed_error() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.motesnap");
        let kv: Vec<f32> = (0..12).map(|i| i as f32 * 0.5).collect();
        write(&p, &header(&kv), &kv).unwrap();
        assert_eq!(read(&p).unwrap(), (header(&kv), kv.clone()));
        let good = fs::read(&p).unwrap();
        let header_len = u64::from_le_bytes(good[12..20].try_into().unwrap()) as usize;
        let mut cases: Vec<(String, Vec<u8>)> = Vec::new();
        for cut in [0, 7, 19, 20, 30, good.len() - 4, good.len() - 1] {
            cases.push((format!("truncated to {cut}"), good[..cut].to_vec()));
        }
        for (what, at) in [("magic", 0), ("version", 8), ("header length", 15), ("header", 30), ("header hash", 20 + header_len + 3), ("KV data", good.len() - 5)] {
            let mut b = good.clone();
            b[at] ^= 0x10;
            cases.push((format!("bit flip in the {what}"), b));
        }
        let mut trailing = good.clone();
        trailing.extend_from_slice(&[0; 4]);
        cases.push(("trailing bytes".into(), trailing));
        cases.push(("random bytes".into(), (0..400u32).map(|i| (i * 7919 % 251) as u8).collect()));
        let mut v1 = good.clone();
        v1[8..12].copy_from_slice(&1u32.to_le_bytes());
        cases.push(("the version-1 format".into(), v1));
        for (what, bytes) in &cases {
            fs::write(&p, bytes).unwrap();
            match read(&p) {
                Err(Error::InvalidSnapshot(_)) => {}
                other => panic!("{what}: {other:?}"),
            }
        }
        assert!(matches!(read(&dir.path().join("missing")), Err(Error::InvalidSnapshot(_))));
    }

    #[test]
    fn a_damaged_kv_leaves_the_header_readable() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.motesnap");
        let kv = vec![1.5f32; 8];
        write(&p, &header(&kv), &kv).unwrap();
        let mut b = fs::read(&p).unwrap();
        let n = b.len();
        b[n - 2] ^= 1;
        fs::write(&p, &b).unwrap();
        assert_eq!(read_header(&p).unwrap().history, header(&kv).history);
        assert!(matches!(read(&p), Err(Error::InvalidSnapshot(_))));
    }

    #[cfg(unix)]
    #[test]
    fn files_are_private_to_the_app() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.motesnap");
        write(&p, &header(&[]), &[]).unwrap();
        assert_eq!(fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o600);
    }

    #[test]
    fn a_failed_write_keeps_the_old_snapshot() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.snap");
        write(&p, &header(&[1.0; 4]), &[1.0; 4]).unwrap();
        // A disk that fills up part-way through the write.
        struct Full(usize);
        impl Write for Full {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                if self.0 < b.len() {
                    return Err(std::io::Error::from_raw_os_error(28)); // ENOSPC
                }
                self.0 -= b.len();
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        assert!(write_to(&mut Full(40), &header(&[2.0; 4]), &[2.0; 4]).is_err());
        // A directory where the temporary file should go also fails, and the old snapshot survives.
        fs::create_dir(temp_path(&p)).unwrap();
        assert!(matches!(write(&p, &header(&[2.0; 4]), &[2.0; 4]), Err(Error::Storage(_))));
        assert_eq!(read(&p).unwrap().1, vec![1.0; 4]);
    }
}
