//! Session snapshots read back from a file that may be torn, bit-flipped or
//! crafted: `read` and `read_header` never panic and never allocate beyond
//! the file (libFuzzer's -malloc_limit_mb catches that), refuse with
//! `InvalidSnapshot` only, and what they accept is self-consistent.
//!
//! The input is the file. Random bytes rarely pass the header's BLAKE3
//! checksum, so each input is also tried with that checksum recomputed,
//! which lets mutations reach the JSON header and the length checks behind
//! it. A header that parses is also written back with `snapshot::write`
//! and must read back exactly (the KV data bit for bit).

#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use mote_core::memory::snapshot::{self, SnapshotHeader};
use mote_core::Error;

/// One file per process, in a directory of its own (the write path renames
/// a temporary file over it, and parallel jobs must not collide).
fn path() -> &'static PathBuf {
    static P: OnceLock<PathBuf> = OnceLock::new();
    P.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("mote-fuzz-snapshot-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create the scratch directory");
        dir.join("s.motesnap")
    })
}

const FIXED: usize = 8 + 4 + 8;

fuzz_target!(|data: &[u8]| {
    let p = path();
    read_back(p, data);

    // The same bytes with a correct header checksum, when the length field fits.
    let mut fixed = data.to_vec();
    if let Some(hlen) = data.get(12..FIXED).map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")) as usize) {
        if let Some(sum) = fixed.get_mut(FIXED.saturating_add(hlen)..).and_then(|s| s.get_mut(..32)) {
            sum.copy_from_slice(blake3::hash(&data[FIXED..FIXED + hlen]).as_bytes());
            read_back(p, &fixed);
            // A header mote-core can parse, written back with KV data of
            // its own: whatever the fields say, the file must round-trip.
            if let Ok(mut header) = serde_json::from_slice::<SnapshotHeader>(&data[FIXED..FIXED + hlen]) {
                let kv: Vec<f32> = data[FIXED + hlen + 32..].chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes"))).collect();
                header.kv_floats = kv.len();
                header.kv_hash = snapshot::kv_hash(&kv);
                snapshot::write(p, &header, &kv).expect("write a snapshot to a scratch directory");
                let (h, back) = snapshot::read(p).expect("a snapshot just written reads back");
                assert_eq!(h, header, "header changed in the round trip");
                assert!(back.iter().map(|f| f.to_bits()).eq(kv.iter().map(|f| f.to_bits())), "KV data changed in the round trip");
            }
        }
    }
});

/// Writes `bytes` as the snapshot file and reads it both ways.
fn read_back(p: &PathBuf, bytes: &[u8]) {
    std::fs::write(p, bytes).expect("write the scratch file");
    let header = snapshot::read_header(p);
    let full = snapshot::read(p);
    for e in [header.as_ref().err(), full.as_ref().err()].into_iter().flatten() {
        assert!(matches!(e, Error::InvalidSnapshot(_)), "refused with {e:?}, not InvalidSnapshot");
    }
    match (header, full) {
        (Ok(h), Ok((h2, kv))) => {
            assert_eq!(h, h2, "read_header and read disagree");
            assert_eq!(kv.len(), h.kv_floats, "header promises {} floats, read returned {}", h.kv_floats, kv.len());
            assert_eq!(snapshot::kv_hash(&kv), h.kv_hash, "accepted KV data does not match its hash");
        }
        (Err(_), Ok(_)) => panic!("read accepted a file whose header read_header refuses"),
        _ => {}
    }
}
