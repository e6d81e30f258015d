//! The model manager through the FFI (feature `models`, on by default): a
//! catalogue, resumable verified pulls with progress, installed versions with
//! validation and rollback, and `ModelSet`, engines under one memory budget.
//! All decisions live in `mote-models`; this layer maps types and threads.
//!
//! Blocking calls (hashing a file, validating a version by loading it) are
//! plain functions the wrappers run off the main thread; pulls start their
//! own worker thread and report through `DownloadListener`.

#[cfg(feature = "downloads")]
mod pull;
mod records;
mod set;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::guard;
#[cfg(feature = "downloads")]
pub use pull::{DownloadHandle, DownloadListener};
pub use records::{CatalogueEntry, DamagedVersion, DownloadProgress, ModelError, ModelVersion, PullResult, ResidentModel, VersionStatus};
pub use set::ModelSet;

/// An app-supplied count or version number: negative is an argument error.
fn arg<T: TryFrom<i64>>(v: impl Into<i64>, what: &str) -> Result<T, ModelError> {
    let v = v.into();
    T::try_from(v).map_err(|_| ModelError::InvalidArgument { reason: format!("{what} must not be negative, got {v}") })
}

#[derive(uniffi::Object)]
pub struct ModelManager {
    inner: Arc<mote_models::Manager>,
}

#[uniffi::export]
impl ModelManager {
    /// The store in `dir` (created if needed), e.g. `filesDir/models` on
    /// Android or Application Support on iOS. `catalogue_json` replaces the
    /// built-in catalogue (same format as `rust/models/src/catalogue.json`).
    /// One app may open several managers on one directory: the manifest and
    /// each download are locked.
    #[uniffi::constructor(default(catalogue_json = None))]
    pub fn open(dir: String, catalogue_json: Option<String>) -> Result<Arc<Self>, ModelError> {
        crate::logging::init();
        guard(|| {
            let mut m = mote_models::Manager::open(Path::new(&dir))?;
            if let Some(json) = catalogue_json {
                m = m.with_catalogue(mote_models::Catalogue::from_json(&json)?);
            }
            Ok(Arc::new(ModelManager { inner: Arc::new(m) }))
        })
    }

    pub fn catalogue(&self) -> Vec<CatalogueEntry> {
        crate::error::guard_or(Vec::new(), || self.inner.catalogue().entries.iter().map(Into::into).collect())
    }

    /// The largest entry whose estimated memory at `context` tokens (0: 4096)
    /// fits in `headroom` (e.g. 0.5) of `device_memory_bytes`; `None` if none does.
    #[uniffi::method(default(context = 0, headroom = 0.5))]
    pub fn recommend(&self, device_memory_bytes: i64, context: i64, headroom: f64) -> Result<Option<CatalogueEntry>, ModelError> {
        guard(|| {
            let (mem, ctx) = (arg(device_memory_bytes, "device_memory_bytes")?, arg(context, "context")?);
            if !(headroom > 0.0 && headroom <= 1.0) {
                return Err(ModelError::InvalidArgument { reason: format!("headroom must be in (0, 1], got {headroom}") });
            }
            Ok(self.inner.catalogue().recommend(mem, ctx, headroom).map(Into::into))
        })
    }

    /// Every installed version of every model.
    pub fn installed(&self) -> Result<Vec<ModelVersion>, ModelError> {
        guard(|| {
            let models = self.inner.store().models()?;
            Ok(models.iter().flat_map(|m| m.versions.iter().map(|v| ModelVersion::new(&m.name, v, m.active == Some(v.version)))).collect())
        })
    }

    /// Verifies and installs a file the app downloaded itself (an iOS
    /// background `URLSession`, an Android `WorkManager` job). Blocks while it
    /// hashes the file. The file is moved when on the same file system.
    pub fn install_file(&self, path: String, sha256: String, name: String) -> Result<ModelVersion, ModelError> {
        guard(|| {
            let v = self.inner.install_file(Path::new(&path), &sha256, &name)?;
            Ok(self.version_row(&name, v))
        })
    }

    /// Makes `version` the one `resolve` returns, after checking that it
    /// parses, loads and generates a token (blocks for a load). On failure the
    /// previous version stays active and the reason is recorded.
    pub fn activate(&self, name: String, version: i32) -> Result<ModelVersion, ModelError> {
        guard(|| {
            let v = self.inner.activate(&name, arg(version, "version")?)?;
            Ok(self.version_row(&name, v))
        })
    }

    /// The file to load for `name`: its active version, else its newest
    /// version that has not failed validation.
    pub fn resolve(&self, name: String) -> Result<String, ModelError> {
        guard(|| Ok(self.inner.resolve(&name)?.display().to_string()))
    }

    /// Removes one version, or all versions of `name`; returns the files deleted.
    #[uniffi::method(default(version = None))]
    pub fn remove(&self, name: String, version: Option<i32>) -> Result<Vec<String>, ModelError> {
        guard(|| {
            let v = version.map(|v| arg(v, "version")).transpose()?;
            Ok(paths(self.inner.store().remove(&name, v)?))
        })
    }

    /// Re-hashes installed files (all models when `name` is `None`); returns
    /// the versions whose file is missing or changed.
    #[uniffi::method(default(name = None))]
    pub fn verify(&self, name: Option<String>) -> Result<Vec<DamagedVersion>, ModelError> {
        guard(|| {
            let bad = self.inner.store().verify(name.as_deref())?;
            Ok(bad.into_iter().map(|(name, v, reason)| DamagedVersion { name, version: crate::records::to_i32(v), reason }).collect())
        })
    }

    /// Keeps each model's active version and its newest `keep` other versions
    /// that did not fail validation; deletes the rest. Returns the files deleted.
    pub fn gc(&self, keep: i32) -> Result<Vec<String>, ModelError> {
        guard(|| {
            Ok(paths(self.inner.store().gc(arg(keep, "keep")?)?))
        })
    }
}

/// Pulls over HTTPS (feature `downloads`).
#[cfg(feature = "downloads")]
#[uniffi::export]
impl ModelManager {
    /// Downloads catalogue entry `id` (resuming an interrupted pull), checks
    /// its SHA-256 (the catalogue's, or `sha256` for an entry without one) and
    /// installs it. Returns at once; `listener` gets the events.
    #[uniffi::method(default(sha256 = None))]
    pub fn pull(&self, id: String, sha256: Option<String>, listener: Arc<dyn DownloadListener>) -> Arc<DownloadHandle> {
        let m = self.inner.clone();
        pull::spawn(listener, move |cancel, progress| {
            let p = m.pull_entry(&id, sha256.as_deref(), cancel, progress)?;
            Ok(pull_result(&m, p))
        })
    }

    /// `pull` for any URL: installs the file as a version of `name` (default:
    /// the URL's file name without `.gguf`).
    #[uniffi::method(default(name = None))]
    pub fn pull_url(&self, url: String, sha256: String, name: Option<String>, listener: Arc<dyn DownloadListener>) -> Arc<DownloadHandle> {
        let m = self.inner.clone();
        pull::spawn(listener, move |cancel, progress| {
            let p = m.pull_url(&url, &sha256, name.as_deref(), cancel, progress)?;
            Ok(pull_result(&m, p))
        })
    }
}

impl ModelManager {
    fn version_row(&self, name: &str, v: mote_models::Version) -> ModelVersion {
        let active = self.inner.store().model(name).map(|m| m.active == Some(v.version)).unwrap_or(false);
        ModelVersion::new(name, &v, active)
    }
}

#[cfg(feature = "downloads")]
fn pull_result(m: &mote_models::Manager, p: mote_models::Pulled) -> PullResult {
    let active = m.store().model(&p.name).map(|x| x.active == Some(p.version.version)).unwrap_or(false);
    PullResult {
        model: ModelVersion::new(&p.name, &p.version, active),
        fetched_bytes: crate::records::to_i64(p.downloads.iter().map(|d| d.fetched).sum::<u64>()),
        resumed_from_bytes: crate::records::to_i64(p.downloads.iter().map(|d| d.resumed_from).sum::<u64>()),
        requests: crate::records::to_i32(p.downloads.iter().map(|d| d.requests).sum::<u32>()),
    }
}

fn paths(v: Vec<PathBuf>) -> Vec<String> {
    v.into_iter().map(|p| p.display().to_string()).collect()
}
