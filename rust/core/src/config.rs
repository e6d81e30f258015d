//! Options an app passes in: how to load a model and how to generate.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct LoadOptions {
    /// Worker threads for inference; 0 picks the number of performance cores.
    pub threads: usize,
    /// Context length in tokens; 0 takes the model's own, capped at [`DEFAULT_MAX_CONTEXT`].
    pub context_length: usize,
    /// Memory the app may still use, from the platform (Android:
    /// `ActivityManager.MemoryInfo.availMem`). `None` asks the OS where it can
    /// tell (Linux `MemAvailable`, iOS `os_proc_available_memory`).
    pub available_memory_bytes: Option<u64>,
    /// Skip the pre-load memory check.
    pub skip_memory_check: bool,
    /// A directory for the crash-loop marker. With one, a load the OS killed
    /// is noticed by the next load.
    pub state_dir: Option<PathBuf>,
    /// After such a crash, load with half the context that crashed.
    pub reduce_context_after_crash: bool,
    /// A Jinja chat template to use instead of the model's
    /// `tokenizer.chat_template`. Without one, a model template that does not
    /// parse fails the load with `Error::Template`.
    #[serde(default)]
    pub chat_template: Option<String>,
    /// How the KV cache stores keys and values: f16 (the default, as
    /// llama.cpp), f32, or q8_0 (about half of f16 again; needs a head size
    /// divisible by 32).
    #[serde(default)]
    pub kv_type: crate::model::KvType,
    /// `(offset, length)` of the model inside the file at the load path, for
    /// a model stored uncompressed inside another file (an Android APK
    /// asset), mapped in place; see [`crate::gguf::GgufFile::open_range`].
    #[serde(default)]
    pub byte_range: Option<(u64, u64)>,
}

/// Phones rarely have the memory for a model's full trained context; an app
/// that needs more asks for it explicitly.
pub const DEFAULT_MAX_CONTEXT: usize = 4096;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GenerationConfig {
    pub max_tokens: u32,
    /// 0 means greedy.
    pub temperature: f32,
    /// 0 disables top-k.
    pub top_k: u32,
    pub top_p: f32,
    pub min_p: f32,
    /// 1.0 disables the penalty.
    pub repetition_penalty: f32,
    pub seed: Option<u64>,
    /// Generation stops before any of these strings; they never reach the stream.
    pub stop: Vec<String>,
}

impl Default for GenerationConfig {
    fn default() -> Self {
        Self {
            max_tokens: 256,
            temperature: 0.7,
            top_k: 40,
            top_p: 0.95,
            min_p: 0.05,
            repetition_penalty: 1.1,
            seed: None,
            stop: Vec::new(),
        }
    }
}

impl GenerationConfig {
    /// Deterministic decoding: always the most likely token.
    pub fn greedy() -> Self {
        Self { temperature: 0.0, top_k: 0, top_p: 1.0, min_p: 0.0, repetition_penalty: 1.0, ..Default::default() }
    }

    pub fn validate(&self) -> crate::Result<()> {
        let bad = |m: &str| Err(crate::Error::InvalidArgument(m.into()));
        if !(self.temperature.is_finite() && self.temperature >= 0.0) {
            return bad("temperature must be finite and ≥ 0");
        }
        if !(0.0..=1.0).contains(&self.top_p) || !(0.0..=1.0).contains(&self.min_p) {
            return bad("top_p and min_p must be within 0..=1");
        }
        if !(self.repetition_penalty.is_finite() && self.repetition_penalty > 0.0) {
            return bad("repetition_penalty must be > 0");
        }
        if self.stop.iter().any(String::is_empty) {
            return bad("stop strings must not be empty");
        }
        Ok(())
    }
}
