use std::path::PathBuf;

use crate::sample::Phase;

/// Every failure the telemetry crate can report; nothing in it panics on bad input.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    #[error("no energy source is available on this platform")]
    NoSource,
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot parse {what} from {value:?}")]
    Parse { what: String, value: String },
    #[error("trace has no {0:?} mark")]
    MissingPhase(Phase),
    #[error("phase marks out of order: {0}")]
    MarksOutOfOrder(String),
    #[error("fewer than two usable power readings cover the generation")]
    NoPowerData,
    #[error("csv line {line}: {message}")]
    Csv { line: usize, message: String },
    #[error("cannot start the sampler thread: {0}")]
    Spawn(#[source] std::io::Error),
    #[error("invalid configuration: {0}")]
    InvalidConfig(String),
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
}

impl TelemetryError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        TelemetryError::Io {
            path: path.into(),
            source,
        }
    }
}
