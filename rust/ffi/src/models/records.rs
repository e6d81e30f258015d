//! The model manager's records and its error type, as Kotlin and Swift see
//! them. Counts are signed 64-bit like the rest of the bindings (Kotlin has no
//! comfortable unsigned types); values that cannot be negative never are.

use std::fmt;

use crate::records::{to_i32, to_i64};

/// Why a model-manager call failed. Its own enum rather than more
/// `MoteError` cases: apps handle downloads and installs in different places
/// from chat, and each enum stays small enough to branch on.
#[derive(Debug, Clone, PartialEq, uniffi::Error)]
pub enum ModelError {
    /// The network failed and the bounded retries are used up; the partial
    /// file is kept, so pulling again resumes.
    Network { url: String, attempts: i32, reason: String },
    /// The server answered with an HTTP error that retrying does not fix.
    Http { url: String, status: i32 },
    /// The bytes do not hash to the expected SHA-256; the file was removed.
    ChecksumMismatch { path: String, expected: String, actual: String },
    /// Not enough free space to finish; nothing was installed.
    NoSpace { path: String, needed: i64, available: i64 },
    /// Reading or writing the store failed (permissions, I/O error, unreadable archive).
    Storage { path: String, reason: String },
    /// The pull was cancelled (paused): its partial file is kept for the next pull.
    Cancelled,
    /// Another pull of the same file is running, in this process or another.
    InProgress { path: String },
    NotInstalled { name: String },
    UnknownEntry { id: String },
    /// The catalogue JSON is malformed or inconsistent.
    InvalidCatalogue { reason: String },
    /// The version failed activation (parse, load or one-token generation);
    /// the previously active version stays active.
    ValidationFailed { name: String, version: i32, reason: String },
    InvalidArgument { reason: String },
    /// A bug or an unexpected failure (including a caught panic).
    Internal { reason: String },
}

impl fmt::Display for ModelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Network { url, attempts, reason } => write!(f, "download of {url} failed after {attempts} attempts: {reason}"),
            Self::Http { url, status } => write!(f, "{url} answered HTTP {status}"),
            Self::ChecksumMismatch { path, expected, actual } => {
                write!(f, "SHA-256 mismatch for {path}: expected {expected}, got {actual} (file removed)")
            }
            Self::NoSpace { path, needed, available } => write!(f, "not enough space in {path}: {needed} bytes needed, {available} available"),
            Self::Storage { path, reason } => write!(f, "{path}: {reason}"),
            Self::Cancelled => f.write_str("cancelled (the partial download is kept)"),
            Self::InProgress { path } => write!(f, "a download to {path} is already in progress"),
            Self::NotInstalled { name } => write!(f, "no installed model named {name:?}"),
            Self::UnknownEntry { id } => write!(f, "no catalogue entry {id:?}"),
            Self::InvalidCatalogue { reason } => write!(f, "catalogue: {reason}"),
            Self::ValidationFailed { name, version, reason } => write!(f, "{name} version {version} failed validation: {reason}"),
            Self::InvalidArgument { reason } => write!(f, "invalid argument: {reason}"),
            Self::Internal { reason } => write!(f, "internal error: {reason}"),
        }
    }
}

impl std::error::Error for ModelError {}

impl crate::error::FromPanic for ModelError {
    fn from_panic(reason: String) -> Self {
        ModelError::Internal { reason }
    }
}

impl From<mote_models::ModelError> for ModelError {
    fn from(e: mote_models::ModelError) -> Self {
        use mote_models::ModelError as E;
        let path = |p: &std::path::Path| p.display().to_string();
        match e {
            E::Network { url, attempts, message } => Self::Network { url, attempts: to_i32(attempts), reason: message },
            E::Http { url, status } => Self::Http { url, status: status.into() },
            E::Checksum { path: p, expected, actual } => Self::ChecksumMismatch { path: path(&p), expected, actual },
            E::NoSpace { path: p, needed, available } => Self::NoSpace { path: path(&p), needed: to_i64(needed), available: to_i64(available) },
            E::Io { path: p, source } => Self::Storage { path: path(&p), reason: source.to_string() },
            E::Archive { path: p, message } => Self::Storage { path: path(&p), reason: message },
            E::Cancelled => Self::Cancelled,
            E::InProgress { path: p } => Self::InProgress { path: path(&p) },
            E::NotInstalled(name) => Self::NotInstalled { name },
            E::UnknownEntry(id) => Self::UnknownEntry { id },
            E::Catalogue(reason) => Self::InvalidCatalogue { reason },
            E::Validation { name, version, reason } => Self::ValidationFailed { name, version: to_i32(version), reason },
            E::Invalid(reason) => Self::InvalidArgument { reason },
            E::Engine(e) => Self::Internal { reason: e.to_string() },
        }
    }
}

/// A model the catalogue offers.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct CatalogueEntry {
    pub id: String,
    pub name: String,
    pub family: String,
    pub file_name: String,
    pub parameters: i64,
    /// GGUF quantization type, e.g. "Q4_K_M".
    pub quant: String,
    pub bits_per_weight: f64,
    /// Size of the model file, when the catalogue knows it.
    pub file_size_bytes: Option<i64>,
    /// The model's trained context length.
    pub context_length: i64,
    /// KV cache bytes per token of context (f16 cache).
    pub kv_bytes_per_token: i64,
    /// Estimated resident memory at a 4096-token context (weights plus cache).
    pub ram_bytes_4k: i64,
    pub licence: String,
    /// Pinned hash; `None` means a pull must supply one.
    pub sha256: Option<String>,
    /// The first URL of each source (mirrors), for display.
    pub urls: Vec<String>,
    pub template_notes: String,
}

impl From<&mote_models::Entry> for CatalogueEntry {
    fn from(e: &mote_models::Entry) -> Self {
        CatalogueEntry {
            id: e.id.clone(),
            name: e.name.clone(),
            family: e.family.clone(),
            file_name: e.file_name.clone(),
            parameters: to_i64(e.parameters),
            quant: e.quant.clone(),
            bits_per_weight: e.bits_per_weight,
            file_size_bytes: e.file_size.map(to_i64),
            context_length: to_i64(e.context_length),
            kv_bytes_per_token: to_i64(e.kv_bytes_per_token),
            ram_bytes_4k: to_i64(e.ram_bytes(4096)),
            licence: e.licence.clone(),
            sha256: e.sha256.clone(),
            urls: e.sources.iter().filter_map(|s| s.first().map(|p| p.url.clone())).collect(),
            template_notes: e.template_notes.clone(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum VersionStatus {
    /// Installed and verified by hash; not yet activated.
    Installed,
    /// Passed activation (parse, load, one-token generation).
    Valid,
    /// Failed activation; `failure_reason` says why.
    Failed,
}

impl From<mote_models::Status> for VersionStatus {
    fn from(s: mote_models::Status) -> Self {
        match s {
            mote_models::Status::Installed => Self::Installed,
            mote_models::Status::Valid => Self::Valid,
            mote_models::Status::Failed => Self::Failed,
        }
    }
}

/// One installed version of a model.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct ModelVersion {
    pub name: String,
    pub version: i32,
    pub path: String,
    pub size_bytes: i64,
    pub sha256: String,
    /// Where it came from: a URL, `catalogue:ID` or `file:PATH`.
    pub source: String,
    /// Seconds since the Unix epoch.
    pub installed_at: i64,
    pub status: VersionStatus,
    pub failure_reason: Option<String>,
    /// The version `resolve` returns while it is active.
    pub active: bool,
}

impl ModelVersion {
    pub(crate) fn new(name: &str, v: &mote_models::Version, active: bool) -> Self {
        ModelVersion {
            name: name.to_string(),
            version: to_i32(v.version),
            path: v.path.display().to_string(),
            size_bytes: to_i64(v.size),
            sha256: v.sha256.clone(),
            source: v.source.clone(),
            installed_at: to_i64(v.installed_at),
            status: v.status.into(),
            failure_reason: v.reason.clone(),
            active,
        }
    }
}

/// A pull's progress. Events are at most about 20 per second.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct DownloadProgress {
    /// Bytes of the current object on disk, including a resumed prefix.
    pub downloaded_bytes: i64,
    /// The object's size, once the server or catalogue has said it.
    pub total_bytes: Option<i64>,
    /// Bytes that were already on disk when this pull started (a resume).
    pub resumed_from_bytes: i64,
}

#[cfg(feature = "downloads")]
impl From<mote_models::Progress> for DownloadProgress {
    fn from(p: mote_models::Progress) -> Self {
        DownloadProgress { downloaded_bytes: to_i64(p.downloaded), total_bytes: p.total.map(to_i64), resumed_from_bytes: to_i64(p.resumed_from) }
    }
}

/// A finished pull: the version it installed (or found already installed)
/// and what the transfer did.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct PullResult {
    pub model: ModelVersion,
    /// Bytes fetched over the network by this pull (0 when already installed).
    pub fetched_bytes: i64,
    /// Bytes reused from an interrupted earlier pull.
    pub resumed_from_bytes: i64,
    pub requests: i32,
}

/// A version whose file is missing or no longer matches its hash.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct DamagedVersion {
    pub name: String,
    pub version: i32,
    pub reason: String,
}

/// A model of a `ModelSet`: the memory its load was admitted with, and
/// whether its weights are mapped now (false after an eviction).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct ResidentModel {
    pub name: String,
    pub need_bytes: i64,
    pub loaded: bool,
}
