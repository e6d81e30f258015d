//! `Manager`: the catalogue, downloads and the versioned store behind one API.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use sha2::{Digest, Sha256};

use crate::catalogue::{Catalogue, Entry};
use crate::download::{self, Outcome, Progress, Request, RetryPolicy};
use crate::error::{ModelError, Result};
use crate::http::Client;
use crate::store::{Store, Version};
use crate::{archive, disk, hash};

/// A finished pull: the version it installed (or found) and what the transfer did.
#[derive(Clone, Debug)]
pub struct Pulled {
    pub name: String,
    pub version: Version,
    /// Per downloaded object; empty when the file was already installed.
    pub downloads: Vec<Outcome>,
}

pub struct Manager {
    store: Store,
    client: Client,
    catalogue: Catalogue,
    retry: RetryPolicy,
}

impl Manager {
    /// A manager for the store in `dir`, with the built-in catalogue.
    pub fn open(dir: &Path) -> Result<Manager> {
        Ok(Manager {
            store: Store::open(dir)?,
            client: Client::new(),
            catalogue: Catalogue::builtin(),
            retry: RetryPolicy::default(),
        })
    }

    pub fn with_catalogue(mut self, catalogue: Catalogue) -> Manager {
        self.catalogue = catalogue;
        self
    }

    pub fn with_retry_policy(mut self, retry: RetryPolicy) -> Manager {
        self.retry = retry;
        self
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn catalogue(&self) -> &Catalogue {
        &self.catalogue
    }

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
        // assembly file and the object deleted, so at most one object and the
        // growing file are on disk at once.
        let dir = self.store.dir();
        let assembly = dir.join(format!(".{}.assemble", entry.file_name));
        // One assembly at a time per file (the parts' downloads lock themselves).
        let lock = dir.join(format!(".{}.assemble.lock", entry.file_name));
        let _lock = disk::lock(&lock, false)?;
        disk::ensure_space(dir, entry.size_bytes() + parts.iter().filter_map(|p| p.size).max().unwrap_or(0))?;
        let mut out = File::create(&assembly).map_err(|e| ModelError::io(&assembly, e))?;
        let mut hasher = Sha256::new();
        let mut outcomes = Vec::new();
        for (k, p) in parts.iter().enumerate() {
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
            if cancel.load(Ordering::Relaxed) {
                return Err(ModelError::Cancelled);
            }
        }
        out.sync_all().map_err(|e| ModelError::io(&assembly, e))?;
        drop(out);
        let got = hash::hex(&hasher.finalize());
        if got != sha {
            let _ = fs::remove_file(&assembly);
            return Err(ModelError::Checksum { path: dest, expected: sha.to_string(), actual: got });
        }
        disk::durable_rename(&assembly, &dest)?;
        for k in 0..parts.len() {
            let _ = fs::remove_file(dir.join(format!(".{}.p{k}.ok", entry.file_name)));
        }
        let _ = fs::remove_file(&lock);
        Ok((dest, outcomes))
    }

    /// Verifies and installs a file the app downloaded itself (an iOS
    /// background `URLSession`, Android `WorkManager`). The file is moved into
    /// the store when it is on the same file system, copied otherwise.
    pub fn install_file(&self, file: &Path, sha256: &str, name: &str) -> Result<Version> {
        let sha = sha256.to_ascii_lowercase();
        let got = hash::file_sha256(file)?;
        if got != sha {
            return Err(ModelError::Checksum { path: file.to_path_buf(), expected: sha, actual: got });
        }
        if let Some(v) = self.installed_with_hash(name, &sha)? {
            return Ok(v);
        }
        let file_name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| format!("{name}.gguf"));
        let dest = self.store.destination(name, &file_name)?;
        if fs::rename(file, &dest).is_err() {
            let size = fs::metadata(file).map_err(|e| ModelError::io(file, e))?.len();
            disk::ensure_space(self.store.dir(), size)?;
            let tmp = self.store.dir().join(format!(".{file_name}.copy"));
            let copied = fs::copy(file, &tmp).map_err(|e| {
                let _ = fs::remove_file(&tmp);
                ModelError::io(&tmp, e)
            });
            copied?;
            if hash::file_sha256(&tmp)? != sha {
                let _ = fs::remove_file(&tmp);
                return Err(ModelError::Checksum { path: tmp, expected: sha, actual: "changed while copying".into() });
            }
            disk::durable_rename(&tmp, &dest)?;
        }
        self.store.register(name, &dest, &sha, &format!("file:{}", file.display()))
    }

    /// Activates a version after [`validate_model`]; on failure the previous
    /// version stays active and the reason is recorded.
    pub fn activate(&self, name: &str, version: u32) -> Result<Version> {
        self.store.activate(name, version, &validate_model)
    }

    /// The path to run for `name`: its active version, else its newest good one.
    pub fn resolve(&self, name: &str) -> Result<PathBuf> {
        let m = self.store.model(name)?;
        m.current().map(|v| v.path.clone()).ok_or_else(|| ModelError::NotInstalled(name.into()))
    }

    fn installed_with_hash(&self, name: &str, sha: &str) -> Result<Option<Version>> {
        match self.store.model(name) {
            Ok(m) => Ok(m.versions.into_iter().find(|v| v.sha256 == sha && v.path.is_file())),
            Err(ModelError::NotInstalled(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// The last path segment of `url`, if it is a plain file name.
pub fn url_file_name(url: &str) -> Result<String> {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    let name = path.rsplit('/').next().unwrap_or("");
    crate::store::check_file_name(name).map_err(|m| ModelError::Invalid(format!("URL {url}: {m}")))?;
    Ok(name.to_string())
}

/// The default activation check: the file parses and loads (with a small
/// context, under the pre-load memory check) and generates one token.
pub fn validate_model(path: &Path) -> std::result::Result<(), String> {
    use mote_core::{CancelToken, Engine, GenerationConfig, LoadOptions};
    let opts = LoadOptions { context_length: 64, threads: 1, ..Default::default() };
    let engine = Engine::load(path, opts).map_err(|e| format!("load: {e}"))?;
    let tokens = engine.tokenize("Hello", None).map_err(|e| format!("tokenize: {e}"))?;
    let config = GenerationConfig { max_tokens: 1, temperature: 0.0, ..Default::default() };
    let g = engine.complete(&tokens, &config, &CancelToken::new(), &mut |_| {}).map_err(|e| format!("smoke generation: {e}"))?;
    if g.stats.generated_tokens == 0 {
        return Err("smoke generation produced no token".into());
    }
    Ok(())
}
