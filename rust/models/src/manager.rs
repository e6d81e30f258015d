//! `Manager`: the catalogue, the versioned store and (feature `http`,
//! `pull.rs`) downloads behind one API.

use std::fs;
use std::path::{Path, PathBuf};

use crate::catalogue::Catalogue;
use crate::error::{ModelError, Result};
use crate::store::{Store, Version};
use crate::{disk, hash};

pub struct Manager {
    pub(crate) store: Store,
    #[cfg(feature = "http")]
    pub(crate) client: crate::http::Client,
    pub(crate) catalogue: Catalogue,
    #[cfg(feature = "http")]
    pub(crate) retry: crate::download::RetryPolicy,
}

impl Manager {
    /// A manager for the store in `dir`, with the built-in catalogue.
    pub fn open(dir: &Path) -> Result<Manager> {
        Ok(Manager {
            store: Store::open(dir)?,
            #[cfg(feature = "http")]
            client: crate::http::Client::new(),
            catalogue: Catalogue::builtin(),
            #[cfg(feature = "http")]
            retry: crate::download::RetryPolicy::default(),
        })
    }

    pub fn with_catalogue(mut self, catalogue: Catalogue) -> Manager {
        self.catalogue = catalogue;
        self
    }

    #[cfg(feature = "http")]
    pub fn with_retry_policy(mut self, retry: crate::download::RetryPolicy) -> Manager {
        self.retry = retry;
        self
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn catalogue(&self) -> &Catalogue {
        &self.catalogue
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

    pub(crate) fn installed_with_hash(&self, name: &str, sha: &str) -> Result<Option<Version>> {
        match self.store.model(name) {
            Ok(m) => Ok(m.versions.into_iter().find(|v| v.sha256 == sha && v.path.is_file())),
            Err(ModelError::NotInstalled(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }
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
