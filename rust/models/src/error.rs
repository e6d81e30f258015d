//! The model manager's one public error type: small, typed, and naming the
//! path or URL involved, so an app can tell a full disk from a bad network.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// The network failed (DNS, connect, TLS, reset, truncated body) and the
    /// bounded retries are used up. The partial file is kept for a resume.
    #[error("download of {url} failed after {attempts} attempts: {message}")]
    Network { url: String, attempts: u32, message: String },
    /// The server answered with an HTTP error that retrying does not fix (4xx),
    /// or kept answering 5xx until the retries ran out.
    #[error("{url} answered HTTP {status}")]
    Http { url: String, status: u16 },
    /// The bytes do not hash to the expected SHA-256; the file was removed.
    #[error("SHA-256 mismatch for {path}: expected {expected}, got {actual} (file removed)")]
    Checksum { path: PathBuf, expected: String, actual: String },
    /// Not enough free space to finish; nothing was installed.
    #[error("not enough space in {path}: {needed} bytes needed, {available} available")]
    NoSpace { path: PathBuf, needed: u64, available: u64 },
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    /// `cancel()` was called. A download's partial file is kept (pause/resume).
    #[error("cancelled")]
    Cancelled,
    /// Another download of the same file is running (in this process or another).
    #[error("a download to {path} is already in progress")]
    InProgress { path: PathBuf },
    #[error("no installed model named {0:?}")]
    NotInstalled(String),
    #[error("no catalogue entry {0:?}")]
    UnknownEntry(String),
    #[error("catalogue: {0}")]
    Catalogue(String),
    /// A version failed activation (parse, load or smoke generation); the
    /// previous version stays active.
    #[error("{name} version {version} failed validation: {reason}")]
    Validation { name: String, version: u32, reason: String },
    /// The archive (a PyPI wheel) is unreadable or lacks the member.
    #[error("archive {path}: {message}")]
    Archive { path: PathBuf, message: String },
    #[error("invalid argument: {0}")]
    Invalid(String),
    /// Loading into the engine set failed (the model does not fit the budget, or mote-core refused it).
    #[error(transparent)]
    Engine(#[from] mote_core::Error),
}

impl ModelError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        if source.raw_os_error() == Some(libc::ENOSPC) {
            let path = path.into();
            let available = crate::disk::available_bytes(&path).unwrap_or(0);
            return ModelError::NoSpace { path, needed: 0, available };
        }
        ModelError::Io { path: path.into(), source }
    }
}

pub type Result<T, E = ModelError> = std::result::Result<T, E>;
