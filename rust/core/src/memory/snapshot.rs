//! Session snapshots: the conversation, its tokens and its KV cache in one
//! file, so a session continues without re-prefilling, in this process after
//! a release or in a new one after the app was killed.
//!
//! Layout: magic, version, header length, JSON header, then the KV cache as
//! little-endian f32. Writes go to a temporary file that is synced and renamed
//! over the old snapshot, so a full disk or a crash mid-write never leaves a
//! torn snapshot and never touches the session in memory.

use std::fs;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::template::ChatMessage;

const MAGIC: &[u8; 8] = b"MOTESNAP";
const VERSION: u32 = 1;
/// A header this large is not ours.
const MAX_HEADER: u64 = 64 << 20;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnapshotHeader {
    /// Identifies the model the KV cache belongs to.
    pub model_fingerprint: String,
    pub system_prompt: Option<String>,
    pub history: Vec<ChatMessage>,
    /// The tokens whose keys and values follow.
    pub tokens: Vec<u32>,
    pub kv_len: usize,
    pub kv_floats: usize,
}

pub fn write(path: &Path, header: &SnapshotHeader, kv: &[f32]) -> Result<()> {
    let storage = |e: std::io::Error| Error::Storage(format!("write snapshot {}: {e}", path.display()));
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(storage)?;
    let tmp = path.with_extension("tmp");
    let result = (|| {
        let mut w = BufWriter::new(fs::File::create(&tmp)?);
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

fn write_to(w: &mut impl Write, header: &SnapshotHeader, kv: &[f32]) -> std::io::Result<()> {
    let json = serde_json::to_vec(header).expect("plain struct");
    w.write_all(MAGIC)?;
    w.write_all(&VERSION.to_le_bytes())?;
    w.write_all(&(json.len() as u64).to_le_bytes())?;
    w.write_all(&json)?;
    for chunk in kv.chunks(16 * 1024) {
        let bytes: Vec<u8> = chunk.iter().flat_map(|f| f.to_le_bytes()).collect();
        w.write_all(&bytes)?;
    }
    w.flush()
}

pub fn read(path: &Path) -> Result<(SnapshotHeader, Vec<f32>)> {
    let bad = |m: String| Error::InvalidArgument(format!("snapshot {}: {m}", path.display()));
    let f = fs::File::open(path).map_err(|e| bad(e.to_string()))?;
    let len = f.metadata().map_err(|e| bad(e.to_string()))?.len();
    let mut r = BufReader::new(f);
    let mut fixed = [0u8; 20];
    r.read_exact(&mut fixed).map_err(|_| bad("truncated".into()))?;
    if &fixed[..8] != MAGIC {
        return Err(bad("not a Mote snapshot".into()));
    }
    let version = u32::from_le_bytes(fixed[8..12].try_into().expect("4 bytes"));
    if version != VERSION {
        return Err(bad(format!("version {version} is not supported")));
    }
    let hlen = u64::from_le_bytes(fixed[12..20].try_into().expect("8 bytes"));
    if hlen > MAX_HEADER || 20 + hlen > len {
        return Err(bad("corrupt header length".into()));
    }
    let mut json = vec![0u8; hlen as usize];
    r.read_exact(&mut json).map_err(|_| bad("truncated".into()))?;
    let header: SnapshotHeader = serde_json::from_slice(&json).map_err(|e| bad(format!("corrupt header: {e}")))?;
    if len - 20 - hlen != header.kv_floats as u64 * 4 || header.tokens.len() != header.kv_len {
        return Err(bad("KV data does not match its header".into()));
    }
    let mut bytes = vec![0u8; header.kv_floats * 4];
    r.read_exact(&mut bytes).map_err(|_| bad("truncated".into()))?;
    let kv = bytes.chunks_exact(4).map(|b| f32::from_le_bytes(b.try_into().expect("4 bytes"))).collect();
    Ok((header, kv))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::Role;

    fn header(n: usize) -> SnapshotHeader {
        SnapshotHeader {
            model_fingerprint: "m".into(),
            system_prompt: None,
            history: vec![ChatMessage::new(Role::User, "hi")],
            tokens: (0..n as u32).collect(),
            kv_len: n,
            kv_floats: n * 4,
        }
    }

    #[test]
    fn round_trips_and_rejects_damage() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.snap");
        let kv: Vec<f32> = (0..12).map(|i| i as f32 * 0.5).collect();
        write(&p, &header(3), &kv).unwrap();
        let (h, back) = read(&p).unwrap();
        assert_eq!((h, back), (header(3), kv));
        let bytes = fs::read(&p).unwrap();
        fs::write(&p, &bytes[..bytes.len() - 4]).unwrap();
        assert!(matches!(read(&p), Err(Error::InvalidArgument(_))));
        fs::write(&p, b"garbage garbage garbage").unwrap();
        assert!(matches!(read(&p), Err(Error::InvalidArgument(_))));
    }

    #[test]
    fn a_failed_write_keeps_the_old_snapshot() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.snap");
        write(&p, &header(1), &[1.0; 4]).unwrap();
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
        assert!(write_to(&mut Full(40), &header(1), &[2.0; 4]).is_err());
        // A directory where the file should go also fails, and the old snapshot survives.
        fs::create_dir(dir.path().join("d.tmp")).unwrap();
        assert!(write(&dir.path().join("d.snap"), &header(1), &[2.0; 4]).is_err());
        assert_eq!(read(&p).unwrap().1, vec![1.0; 4]);
    }
}
