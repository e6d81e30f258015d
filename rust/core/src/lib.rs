//! Mote's engine: loads a quantized GGUF model from a memory map, builds its
//! tokenizer and chat template from the file's metadata, and streams chat
//! replies from a KV-cached transformer running on candle.
//!
//! Everything here is synchronous; the bindings run it on worker threads.

pub mod config;
pub mod constraint;
pub mod engine;
pub mod eval;
pub mod error;
pub mod generate;
pub mod gguf;
pub mod info;
pub mod memory;
pub mod model;
pub mod perplexity;
pub mod quantize;
pub mod sampling;
pub mod session;
pub mod stats;
pub mod stream;
pub mod sys;
pub mod template;
pub mod tokenizer;

pub use config::{GenerationConfig, LoadOptions};
pub use constraint::Constraint;
pub use engine::Engine;
pub use error::{Error, Result};
pub use generate::CancelToken;
pub use info::ModelInfo;
pub use model::KvType;
pub use session::{ContextPolicy, ContextStatus, Phase, Reply, Session};
pub use stats::{FinishReason, Stats};
pub use template::{ChatMessage, ChatTemplate, Role};
pub use tokenizer::Tokenizer;
