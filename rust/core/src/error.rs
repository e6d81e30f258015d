//! The engine's error type. Every failure an app can meet is one of these
//! variants; internal detail travels in the message, not in new variants, so
//! the bindings' error enum stays small and stable.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The model file could not be opened or read.
    #[error("cannot read model file {path}: {source}")]
    ModelUnreadable {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The file is not a well-formed GGUF file (corrupt, truncated or hostile).
    #[error("invalid model file: {0}")]
    InvalidModel(String),
    /// A well-formed GGUF file that this build cannot run.
    #[error("unsupported model: {0}")]
    UnsupportedModel(String),
    #[error("prompt too long: {tokens} tokens, context holds {context}")]
    PromptTooLong { tokens: usize, context: usize },
    #[error("the context is full ({context} tokens); reset the session or load with a larger context")]
    ContextFull { context: usize },
    #[error("generation cancelled")]
    Cancelled,
    #[error("this session is already generating")]
    Busy,
    #[error("not enough memory to load the model: needs {needed} bytes, {available} available")]
    InsufficientMemory { needed: u64, available: u64 },
    #[error("chat template error: {0}")]
    Template(String),
    #[error("tokenizer error: {0}")]
    Tokenizer(String),
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// Writing state (a snapshot, a marker) failed; the in-memory session is untouched.
    #[error("storage error: {0}")]
    Storage(String),
    /// A session snapshot that is damaged, truncated, of another format
    /// version or not a snapshot at all. The conversation in memory is
    /// untouched; a parked session re-prefills instead.
    #[error("invalid snapshot: {0}")]
    InvalidSnapshot(String),
    /// A [`crate::Constraint`] (structured output) could not go on: the
    /// grammar grew too complex, or allowed no token at all.
    #[error("output constraint failed: {0}")]
    Constraint(String),
    #[error("inference backend error: {0}")]
    Backend(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<candle_core::Error> for Error {
    fn from(e: candle_core::Error) -> Self {
        Error::Backend(e.to_string())
    }
}
