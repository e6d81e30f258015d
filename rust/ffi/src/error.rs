//! The public error enum. It is deliberately smaller than `mote_core::Error`:
//! apps branch on what they can act on (bad file, busy, cancelled, too long);
//! everything else is `Internal` with a message for logs and bug reports.

use std::any::Any;
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};

#[derive(Debug, Clone, PartialEq, uniffi::Error)]
pub enum MoteError {
    /// The model file could not be opened or read (missing, no permission).
    ModelUnreadable { path: String, reason: String },
    /// The file is not a valid GGUF model (corrupt or truncated).
    InvalidModel { reason: String },
    /// A valid model this build cannot run (architecture, quantization).
    UnsupportedModel { reason: String },
    /// Not enough memory to load the model.
    InsufficientMemory { needed: i64, available: i64 },
    /// The new message alone does not fit in the context window.
    PromptTooLong { tokens: i64, context: i64 },
    /// Under `ContextPolicy.Fail`, the conversation plus the new message does
    /// not fit: remove or truncate history, reset, or switch policy.
    ContextFull { context: i64 },
    /// The generation was cancelled; the partial reply stays in the history.
    Cancelled,
    /// The session is already generating a reply.
    Busy,
    /// An argument was out of range (for example a negative temperature).
    InvalidArgument { reason: String },
    /// Persisting state failed; the in-memory session is unchanged.
    Storage { reason: String },
    /// A snapshot file is damaged, truncated, of another format or not a
    /// snapshot; nothing was restored from it.
    InvalidSnapshot { reason: String },
    /// A bug or an unexpected failure inside the engine (including a caught panic).
    Internal { reason: String },
}

impl fmt::Display for MoteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ModelUnreadable { path, reason } => write!(f, "cannot read model {path}: {reason}"),
            Self::InvalidModel { reason } => write!(f, "invalid model: {reason}"),
            Self::UnsupportedModel { reason } => write!(f, "unsupported model: {reason}"),
            Self::InsufficientMemory { needed, available } => {
                write!(f, "not enough memory: needs {needed} bytes, {available} available")
            }
            Self::PromptTooLong { tokens, context } => {
                write!(f, "prompt too long: {tokens} tokens, context holds {context}")
            }
            Self::ContextFull { context } => write!(f, "context full ({context} tokens)"),
            Self::Cancelled => f.write_str("generation cancelled"),
            Self::Busy => f.write_str("this session is already generating"),
            Self::InvalidArgument { reason } => write!(f, "invalid argument: {reason}"),
            Self::Storage { reason } => write!(f, "storage error: {reason}"),
            Self::InvalidSnapshot { reason } => write!(f, "invalid snapshot: {reason}"),
            Self::Internal { reason } => write!(f, "internal error: {reason}"),
        }
    }
}

impl std::error::Error for MoteError {}

impl From<mote_core::Error> for MoteError {
    fn from(e: mote_core::Error) -> Self {
        use mote_core::Error as E;
        let reason = e.to_string();
        match e {
            E::ModelUnreadable { path, source } => Self::ModelUnreadable {
                path: path.display().to_string(),
                reason: source.to_string(),
            },
            E::InvalidModel(r) => Self::InvalidModel { reason: r },
            E::UnsupportedModel(r) => Self::UnsupportedModel { reason: r },
            E::InsufficientMemory { needed, available } => Self::InsufficientMemory { needed: crate::records::to_i64(needed), available: crate::records::to_i64(available) },
            E::PromptTooLong { tokens, context } => Self::PromptTooLong {
                tokens: crate::records::to_i64(tokens),
                context: crate::records::to_i64(context),
            },
            E::ContextFull { context } => Self::ContextFull { context: crate::records::to_i64(context) },
            E::Cancelled => Self::Cancelled,
            E::Busy => Self::Busy,
            E::InvalidArgument(r) => Self::InvalidArgument { reason: r },
            E::Storage(r) => Self::Storage { reason: r },
            E::InvalidSnapshot(r) => Self::InvalidSnapshot { reason: r },
            // Template, tokenizer and backend failures are not actionable by an
            // app; the core's message (kept whole) is what a bug report needs.
            _ => Self::Internal { reason },
        }
    }
}

pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> String {
    let what = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic payload".to_string());
    format!("panic in mote: {what}")
}

/// An exported error enum that can report a caught panic (its `Internal` case).
pub(crate) trait FromPanic {
    fn from_panic(reason: String) -> Self;
}

impl FromPanic for MoteError {
    fn from_panic(reason: String) -> Self {
        MoteError::Internal { reason }
    }
}

/// Runs an exported call so that a panic becomes the error enum's `Internal`
/// case instead of unwinding into foreign code.
pub(crate) fn guard<T, E: FromPanic>(f: impl FnOnce() -> Result<T, E>) -> Result<T, E> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(result) => result,
        Err(payload) => {
            let reason = panic_message(payload.as_ref());
            log::error!("{reason}");
            Err(E::from_panic(reason))
        }
    }
}

/// `guard` for exports that cannot fail and so have no error to report: a
/// panic is logged and answered with `fallback`, a value that means "unknown".
pub(crate) fn guard_or<T>(fallback: T, f: impl FnOnce() -> T) -> T {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(v) => v,
        Err(payload) => {
            log::error!("{}", panic_message(payload.as_ref()));
            fallback
        }
    }
}
