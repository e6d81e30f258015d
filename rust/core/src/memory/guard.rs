//! The crash-loop guard. A marker is written before a load and removed after
//! it ends (in success or failure). If the OS kills the process mid-load, the
//! marker survives, and the next load knows: it can say so and fall back to a
//! smaller context instead of being killed again.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

const MARKER: &str = "mote-load.marker";

/// A load that started and never finished.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnfinishedLoad {
    pub model: String,
    pub context_length: usize,
    pub started_unix_ms: u64,
}

pub struct LoadGuard {
    path: PathBuf,
}

impl LoadGuard {
    /// Reports any unfinished earlier load and marks this one as started.
    pub fn arm(dir: &Path, model: &Path, context_length: usize) -> Result<(LoadGuard, Option<UnfinishedLoad>)> {
        let storage = |e: std::io::Error| Error::Storage(format!("crash-loop marker in {}: {e}", dir.display()));
        fs::create_dir_all(dir).map_err(storage)?;
        let path = dir.join(MARKER);
        // An unreadable marker still means a load died; report what we can.
        let previous = match fs::read(&path) {
            Ok(bytes) => Some(serde_json::from_slice(&bytes).unwrap_or(UnfinishedLoad {
                model: String::new(),
                context_length: 0,
                started_unix_ms: 0,
            })),
            Err(_) => None,
        };
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
        let marker = UnfinishedLoad { model: model.display().to_string(), context_length, started_unix_ms: now };
        let mut f = fs::File::create(&path).map_err(storage)?;
        f.write_all(&serde_json::to_vec(&marker).expect("plain struct")).map_err(storage)?;
        // The marker must be on disk before the risky part starts.
        f.sync_all().map_err(storage)?;
        Ok((LoadGuard { path }, previous))
    }

    /// The load ended (either way): it did not crash the process.
    pub fn disarm(self) {
        let _ = fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_load_that_never_finished_is_reported_once() {
        let dir = tempfile::tempdir().unwrap();
        let (g, prev) = LoadGuard::arm(dir.path(), Path::new("/m.gguf"), 4096).unwrap();
        assert_eq!(prev, None);
        // The process "dies" here: the guard is never disarmed.
        std::mem::forget(g);
        let (g, prev) = LoadGuard::arm(dir.path(), Path::new("/m.gguf"), 2048).unwrap();
        let prev = prev.expect("the unfinished load is reported");
        assert_eq!((prev.model.as_str(), prev.context_length), ("/m.gguf", 4096));
        g.disarm();
        let (g, prev) = LoadGuard::arm(dir.path(), Path::new("/m.gguf"), 2048).unwrap();
        assert_eq!(prev, None);
        g.disarm();
    }
}
