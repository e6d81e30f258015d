//! Pulls: downloading a model by URL or catalogue entry into the store
//! (feature `http`). Without it the manager still installs files the app
//! downloaded itself, activates, resolves and collects garbage.

use std::fs::{self, File, OpenOptions};
use std::io::{Seek, SeekFrom};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};

use sha2::{Digest, Sha256};

use crate::catalogue::Entry;
use crate::download::{self, Outcome, Progress, Request};
use crate::error::{ModelError, Result};
use crate::manager::Manager;
use crate::store::Version;
use crate::{archive, disk, hash};

/// A finished pull: the version it installed (or found) and what the transfer did.
#[derive(Clone, Debug)]
pub struct Pulled {
    pub name: String,
    pub version: Version,
    /// Per downloaded object; empty when the file was already installed.
    pub downloads: Vec<Outcome>,
}

impl Manager {
    /// Downloads `url` (resuming a partial file), verifies `sha256` and installs it as a
    /// version of `name` (default: the URL's file name without `.gguf`).
    ///
    /// Setting `cancel` (from any thread) stops the pull with `Cancelled` and
    /// keeps the partial file, so the next pull resumes it: that is pause.
    /// Each pull has its own flag, so pulls of different models run side by
    /// side; a second pull of the same file fails with `InProgress`.
    pub fn pull_url(&self, url: &str, sha256: &str, name: Option<&str>, cancel: &AtomicBool, progress: &mut dyn FnMut(Progress)) -> Result<Pulled> {
        let file_name = url_file_name(url)?;
        let name = name.map(str::to_owned).unwrap_or_else(|| file_name.trim_end_matches(".gguf").to_string());
        let sha = sha256.to_ascii_lowercase();
        if let Some(v) = self.installed_with_hash(&name, &sha)? {
            return Ok(Pulled { name, version: v, downloads: Vec::new() });
        }
        let dest = self.store.destination(&name, &file_name)?;
        let req = Request { url, sha256: &sha, size: None, dest: &dest };
        let outcome = download::download(&self.client, &req, &self.retry, cancel, progress)?;
        let version = self.store.register(&name, &dest, &sha, url)?;
        Ok(Pulled { name, version, downloads: vec![outcome] })
    }

    /// Pulls a catalogue entry. Entries without a pinned hash need `sha256`.
    /// `cancel` as for [`Manager::pull_url`].
    pub fn pull_entry(&self, id: &str, sha256: Option<&str>, cancel: &AtomicBool, progress: &mut dyn FnMut(Progress)) -> Result<Pulled> {
        let entry = self.catalogue.get(id).cloned().ok_or_else(|| ModelError::UnknownEntry(id.into()))?;
        let sha = match (entry.sha256.as_deref(), sha256) {
            (Some(pinned), Some(given)) if !pinned.eq_ignore_ascii_case(given) => {
                return Err(ModelError::Invalid(format!("{id}: the given SHA-256 differs from the catalogue's")))
            }
            (Some(pinned), _) => pinned.to_ascii_lowercase(),
            (None, Some(given)) if hash::is_sha256_hex(given) => given.to_ascii_lowercase(),
            _ => return Err(ModelError::Invalid(format!("{id} has no pinned SHA-256 in the catalogue: supply one"))),
        };
        if let Some(v) = self.installed_with_hash(&entry.id, &sha)? {
            return Ok(Pulled { name: entry.id.clone(), version: v, downloads: Vec::new() });
        }
        // A file already in place (e.g. from scripts/fetch-models.sh) with the right hash is adopted.
        let plain = self.store.dir().join(&entry.file_name);
        if plain.is_file() && hash::file_sha256(&plain)? == sha {
            let version = self.store.register(&entry.id, &plain, &sha, &format!("catalogue:{id}"))?;
            return Ok(Pulled { name: entry.id.clone(), version, downloads: Vec::new() });
        }
        let mut last = None;
        for source in &entry.sources {
            match self.pull_source(&entry, source, &sha, cancel, progress) {
                Ok((dest, downloads)) => {
                    let version = self.store.register(&entry.id, &dest, &sha, &format!("catalogue:{id}"))?;
                    return Ok(Pulled { name: entry.id.clone(), version, downloads });
                }
                // Only network-level failures move on to the next mirror.
                Err(e @ (ModelError::Network { .. } | ModelError::Http { .. })) => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| ModelError::Catalogue(format!("{id} has no sources"))))
    }

    fn pull_source(
        &self,
        entry: &Entry,
        parts: &[crate::catalogue::Part],
        sha: &str,
        cancel: &AtomicBool,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<(PathBuf, Vec<Outcome>)> {
        let dest = self.store.destination(&entry.id, &entry.file_name)?;
        if parts.len() == 1 && parts[0].member.is_none() {
            let req = Request { url: &parts[0].url, sha256: sha, size: entry.file_size, dest: &dest };
            let o = download::download(&self.client, &req, &self.retry, cancel, progress)?;
            return Ok((dest, vec![o]));
        }
        // Several parts and/or archive members: each object is downloaded
        // (resumably, verified by its own hash), its bytes appended to the
        // assembly file, the assembly's new length recorded, and the object
        // deleted. So at most one object and the growing file are on disk at
        // once, and an interrupted pull resumes after the last recorded part.
        let dir = self.store.dir();
        let assembly = dir.join(format!(".{}.assemble", entry.file_name));
        let state_path = dir.join(format!(".{}.assemble.json", entry.file_name));
        // One assembly at a time per file (the parts' downloads lock themselves).
        let lock = dir.join(format!(".{}.assemble.lock", entry.file_name));
        let _lock = disk::lock(&lock, Some(crate::download::LOCK_WAIT))?;
        let largest_part = parts.iter().filter_map(|p| p.size).max().unwrap_or(0);
        let state = disk::read_json::<Assembly>(&state_path).filter(|s| s.sha256 == sha && s.parts <= parts.len());
        let (first, mut len) = state.map_or((0, 0), |s| (s.parts, s.bytes));
        disk::ensure_space(dir, entry.size_bytes().saturating_sub(len) + largest_part)?;
        let mut out = OpenOptions::new().create(true).truncate(false).read(true).write(true).open(&assembly).map_err(|e| ModelError::io(&assembly, e))?;
        if out.metadata().map_err(|e| ModelError::io(&assembly, e))?.len() < len {
            len = 0; // the recorded prefix is gone: start over
        }
        out.set_len(len).map_err(|e| ModelError::io(&assembly, e))?;
        let mut hasher = if len > 0 { hash::hash_prefix(&assembly, Some(len))?.0 } else { Sha256::new() };
        out.seek(SeekFrom::End(0)).map_err(|e| ModelError::io(&assembly, e))?;
        let first = if len > 0 { first } else { 0 };
        let mut outcomes = Vec::new();
        for (k, p) in parts.iter().enumerate().skip(first) {
            let psha = p.sha256.as_deref().ok_or_else(|| ModelError::Catalogue(format!("{}: part {k} has no sha256", entry.id)))?;
            let obj = dir.join(format!(".{}.p{k}", entry.file_name));
            let done = dir.join(format!(".{}.p{k}.ok", entry.file_name));
            if !done.is_file() {
                let req = Request { url: &p.url, sha256: psha, size: p.size, dest: &obj };
                outcomes.push(download::download(&self.client, &req, &self.retry, cancel, progress)?);
                fs::rename(&obj, &done).map_err(|e| ModelError::io(&done, e))?;
            }
            match &p.member {
                Some(member) => {
                    archive::append_member(&done, member, &mut out, &assembly, &mut hasher)?;
                }
                None => {
                    let mut src = File::open(&done).map_err(|e| ModelError::io(&done, e))?;
                    let mut w = hash::HashingWriter { inner: &mut out, hasher: &mut hasher };
                    std::io::copy(&mut src, &mut w).map_err(|e| ModelError::io(&assembly, e))?;
                }
            }
            // The appended bytes are durable before the record says so, and
            // the record before the part is deleted.
            out.sync_data().map_err(|e| ModelError::io(&assembly, e))?;
            len = out.stream_position().map_err(|e| ModelError::io(&assembly, e))?;
            disk::write_json(&state_path, &Assembly { sha256: sha.to_string(), parts: k + 1, bytes: len })?;
            let _ = fs::remove_file(&done);
            if cancel.load(Ordering::Relaxed) {
                return Err(ModelError::Cancelled);
            }
        }
        drop(out);
        let got = hash::hex(&hasher.finalize());
        let _ = fs::remove_file(&state_path);
        if got != sha {
            let _ = fs::remove_file(&assembly);
            return Err(ModelError::Checksum { path: dest, expected: sha.to_string(), actual: got });
        }
        disk::durable_rename(&assembly, &dest)?;
        let _ = fs::remove_file(&lock);
        Ok((dest, outcomes))
    }
}

/// How far an assembly got: the first `parts` parts are appended, and the
/// assembly file's first `bytes` bytes hold them.
#[derive(serde::Serialize, serde::Deserialize)]
struct Assembly {
    sha256: String,
    parts: usize,
    bytes: u64,
}


/// The last path segment of `url`, if it is a plain file name.
pub fn url_file_name(url: &str) -> Result<String> {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    let name = path.rsplit('/').next().unwrap_or("");
    crate::store::check_file_name(name).map_err(|m| ModelError::Invalid(format!("URL {url}: {m}")))?;
    Ok(name.to_string())
}
