//! The content hash that ties a snapshot's KV cache to a model: BLAKE3 over
//! every tensor's name, type, shape and data. Names and sizes alone (the old
//! fingerprint) collide between two fine-tunes of one base model, whose KV
//! caches are not interchangeable.
//!
//! Hashing reads the whole file once (≈0.2 s for 270 MB here), so the result
//! is kept per engine and on disk beside the snapshots, keyed by the file's
//! path, size and modification time: each model file is hashed once.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::time::UNIX_EPOCH;

use serde::{Deserialize, Serialize};

use crate::gguf::GgufFile;

const CACHE_FILE: &str = "model-hashes.json";

#[derive(Serialize, Deserialize, PartialEq, Debug)]
struct Entry {
    size: u64,
    modified_ns: u128,
    hash: String,
}

/// The model's content hash, from `cache_dir`'s record when the file is
/// unchanged, else computed (and recorded when `cache_dir` is given).
pub fn model_hash(gguf: &GgufFile, path: &Path, range: Option<(u64, u64)>, cache_dir: Option<&Path>) -> String {
    let mut key = path.canonicalize().unwrap_or_else(|_| path.to_path_buf()).display().to_string();
    if let Some((offset, len)) = range {
        // Several models embedded in one file (APK assets) each get their own entry.
        key += &format!("#{offset}+{len}");
    }
    let stamp = fs::metadata(path).ok().map(|m| {
        let modified_ns = m.modified().ok().and_then(|t| t.duration_since(UNIX_EPOCH).ok()).map_or(0, |d| d.as_nanos());
        (m.len(), modified_ns)
    });
    let cache_path = cache_dir.map(|d| d.join(CACHE_FILE));
    let mut cache: BTreeMap<String, Entry> = cache_path
        .as_ref()
        .and_then(|p| fs::read(p).ok())
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    if let (Some((size, modified_ns)), Some(e)) = (stamp, cache.get(&key)) {
        if e.size == size && e.modified_ns == modified_ns {
            return e.hash.clone();
        }
    }
    let hash = hash_tensors(gguf);
    if let (Some(p), Some((size, modified_ns))) = (cache_path, stamp) {
        cache.insert(key, Entry { size, modified_ns, hash: hash.clone() });
        // Best effort: a failed write only means hashing again next time.
        let tmp = p.with_extension(format!("{}.tmp", std::process::id()));
        let json = serde_json::to_vec(&cache).expect("plain map");
        if fs::create_dir_all(p.parent().unwrap_or(Path::new("."))).is_ok()
            && fs::write(&tmp, json).is_ok()
            && fs::rename(&tmp, &p).is_err()
        {
            let _ = fs::remove_file(&tmp);
        }
    }
    hash
}

fn hash_tensors(gguf: &GgufFile) -> String {
    let mut h = blake3::Hasher::new();
    for t in &gguf.tensors {
        h.update(t.name.as_bytes());
        h.update(t.dtype.name().as_bytes());
        for d in &t.dims {
            h.update(&(*d as u64).to_le_bytes());
        }
        h.update(gguf.tensor_data(t));
    }
    h.finalize().to_hex().to_string()
}
