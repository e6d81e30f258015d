//! Plain data crossing the boundary, and its one-to-one mapping to `mote_core`.
//! Counts are `u32`/`u64` here because foreign languages have no `usize`.

use std::collections::HashMap;
use std::path::PathBuf;

use mote_core as core;

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct LoadOptions {
    /// Worker threads for inference; 0 picks a value for the device.
    #[uniffi(default = 0)]
    pub threads: u32,
    /// Context window in tokens; 0 uses the model's default (capped for mobile).
    #[uniffi(default = 0)]
    pub context_length: u32,
    /// Memory the app may still use. Android passes
    /// `ActivityManager.MemoryInfo.availMem`; `None` asks the OS where it can
    /// (iOS `os_proc_available_memory`, Linux `MemAvailable`). A model that
    /// will not fit fails with `InsufficientMemory` instead of being killed.
    #[uniffi(default = None)]
    pub available_memory_bytes: Option<u64>,
    #[uniffi(default = false)]
    pub skip_memory_check: bool,
    /// A directory for the crash-loop marker: a load the OS killed is reported
    /// by the next load (`Engine.unfinished_load`).
    #[uniffi(default = None)]
    pub state_dir: Option<String>,
    /// After such a crash, load with half the context that crashed.
    #[uniffi(default = false)]
    pub reduce_context_after_crash: bool,
}

impl Default for LoadOptions {
    /// The same defaults the foreign languages get from the attributes above.
    fn default() -> Self {
        LoadOptions {
            threads: 0,
            context_length: 0,
            available_memory_bytes: None,
            skip_memory_check: false,
            state_dir: None,
            reduce_context_after_crash: false,
        }
    }
}

impl From<LoadOptions> for core::LoadOptions {
    fn from(o: LoadOptions) -> Self {
        core::LoadOptions {
            threads: o.threads as usize,
            context_length: o.context_length as usize,
            available_memory_bytes: o.available_memory_bytes,
            skip_memory_check: o.skip_memory_check,
            state_dir: o.state_dir.filter(|d| !d.is_empty()).map(PathBuf::from),
            reduce_context_after_crash: o.reduce_context_after_crash,
            chat_template: None,
        }
    }
}

/// Sampling settings. The foreign-side defaults are literals (UniFFI cannot
/// call Rust to get them); a unit test keeps them equal to the core's defaults.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct GenerationConfig {
    #[uniffi(default = 256)]
    pub max_tokens: u32,
    /// 0 means greedy decoding.
    #[uniffi(default = 0.7)]
    pub temperature: f32,
    #[uniffi(default = 40)]
    pub top_k: u32,
    #[uniffi(default = 0.95)]
    pub top_p: f32,
    #[uniffi(default = 0.05)]
    pub min_p: f32,
    #[uniffi(default = 1.1)]
    pub repetition_penalty: f32,
    #[uniffi(default = None)]
    pub seed: Option<u64>,
    #[uniffi(default = [])]
    pub stop: Vec<String>,
}

impl From<GenerationConfig> for core::GenerationConfig {
    fn from(c: GenerationConfig) -> Self {
        core::GenerationConfig {
            max_tokens: c.max_tokens,
            temperature: c.temperature,
            top_k: c.top_k,
            top_p: c.top_p,
            min_p: c.min_p,
            repetition_penalty: c.repetition_penalty,
            seed: c.seed,
            stop: c.stop,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum Role {
    System,
    User,
    Assistant,
}

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ChatMessage {
    pub role: Role,
    pub content: String,
}

impl From<core::ChatMessage> for ChatMessage {
    fn from(m: core::ChatMessage) -> Self {
        let role = match m.role {
            core::Role::System => Role::System,
            core::Role::User => Role::User,
            core::Role::Assistant => Role::Assistant,
        };
        ChatMessage { role, content: m.content }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum FinishReason {
    /// The model ended its turn.
    EndOfTurn,
    /// One of `GenerationConfig.stop` appeared (it is not part of the text).
    StopSequence,
    /// `GenerationConfig.max_tokens` was reached.
    MaxTokens,
    /// The context window filled up mid-reply; reset the session to continue.
    ContextFull,
}

impl From<core::FinishReason> for FinishReason {
    fn from(f: core::FinishReason) -> Self {
        match f {
            core::FinishReason::EndOfTurn => FinishReason::EndOfTurn,
            core::FinishReason::StopSequence => FinishReason::StopSequence,
            core::FinishReason::MaxTokens => FinishReason::MaxTokens,
            core::FinishReason::ContextFull => FinishReason::ContextFull,
        }
    }
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Stats {
    pub load_ms: f64,
    /// Tokens in the rendered conversation this turn.
    pub prompt_tokens: u32,
    /// Of those, tokens reused from the session's KV cache (not recomputed).
    pub cached_prompt_tokens: u32,
    pub generated_tokens: u32,
    /// Time to first token, including prefill.
    pub ttft_ms: f64,
    pub prefill_tokens_per_s: f64,
    pub decode_tokens_per_s: f64,
    pub peak_rss_bytes: u64,
}

impl From<core::Stats> for Stats {
    fn from(s: core::Stats) -> Self {
        Stats {
            load_ms: s.load_ms,
            prompt_tokens: s.prompt_tokens,
            cached_prompt_tokens: s.cached_prompt_tokens,
            generated_tokens: s.generated_tokens,
            ttft_ms: s.ttft_ms,
            prefill_tokens_per_s: s.prefill_tokens_per_s,
            decode_tokens_per_s: s.decode_tokens_per_s,
            peak_rss_bytes: s.peak_rss_bytes,
        }
    }
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Reply {
    pub text: String,
    pub finish: FinishReason,
    pub stats: Stats,
}

impl From<core::Reply> for Reply {
    fn from(r: core::Reply) -> Self {
        Reply { text: r.text, finish: r.finish.into(), stats: r.stats.into() }
    }
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct ModelInfo {
    pub architecture: String,
    pub name: String,
    pub parameters: u64,
    /// Parameter count per tensor type (for example "Q4_1" or "F32").
    pub quant_types: HashMap<String, u64>,
    pub file_size: u64,
    pub bits_per_weight: f64,
    /// The context the model was trained with.
    pub train_context_length: u32,
    /// The context this engine allocates per session.
    pub context_length: u32,
    pub vocab_size: u32,
    pub layers: u32,
    pub embedding_length: u32,
    pub has_chat_template: bool,
    /// How this architecture was checked against llama.cpp, or "unsupported".
    pub verification: String,
}

impl From<core::ModelInfo> for ModelInfo {
    fn from(i: core::ModelInfo) -> Self {
        ModelInfo {
            architecture: i.architecture,
            name: i.name,
            parameters: i.parameters,
            quant_types: i.quant_types.into_iter().collect(),
            file_size: i.file_size,
            bits_per_weight: i.bits_per_weight,
            train_context_length: i.train_context_length,
            context_length: i.context_length,
            vocab_size: i.vocab_size,
            layers: i.layers,
            embedding_length: i.embedding_length,
            has_chat_template: i.has_chat_template,
            verification: i.verification,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The defaults Kotlin and Swift see are literals in the attributes above;
    /// this fails if the core's defaults move without them.
    #[test]
    fn foreign_defaults_match_core_defaults() {
        let ours = GenerationConfig {
            max_tokens: 256,
            temperature: 0.7,
            top_k: 40,
            top_p: 0.95,
            min_p: 0.05,
            repetition_penalty: 1.1,
            seed: None,
            stop: vec![],
        };
        let core = core::GenerationConfig::default();
        assert_eq!(ours.max_tokens, core.max_tokens);
        assert_eq!(ours.temperature, core.temperature);
        assert_eq!(ours.top_k, core.top_k);
        assert_eq!(ours.top_p, core.top_p);
        assert_eq!(ours.min_p, core.min_p);
        assert_eq!(ours.repetition_penalty, core.repetition_penalty);
        assert_eq!(ours.seed, core.seed);
        assert_eq!(ours.stop, core.stop);
    }

    /// Same for the load options an app leaves at their defaults.
    #[test]
    fn foreign_load_defaults_match_core_defaults() {
        let ours: core::LoadOptions = LoadOptions::default().into();
        let core = core::LoadOptions::default();
        assert_eq!(ours.threads, core.threads);
        assert_eq!(ours.context_length, core.context_length);
        assert_eq!(ours.available_memory_bytes, core.available_memory_bytes);
        assert_eq!(ours.skip_memory_check, core.skip_memory_check);
        assert_eq!(ours.state_dir, core.state_dir);
        assert_eq!(ours.reduce_context_after_crash, core.reduce_context_after_crash);
    }
}
