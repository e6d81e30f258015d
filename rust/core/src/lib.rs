//! Mote's engine: loads a quantized GGUF model from a memory map, builds its
//! tokenizer and chat template from the file's metadata, and streams chat
//! replies from a KV-cached transformer running on candle.

pub mod error;
pub mod gguf;
pub mod model;

pub use error::{Error, Result};
