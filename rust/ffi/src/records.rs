//! Plain data crossing the boundary, and its one-to-one mapping to `mote_core`.
//! Counts are `i32`/`i64` here: foreign languages have no `usize`, and
//! Kotlin's unsigned types are not what its developers expect (ADR 0007).

use std::collections::HashMap;
use std::path::PathBuf;

use mote_core as core;

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct LoadOptions {
    /// Worker threads for inference; 0 picks a value for the device.
    #[uniffi(default = 0)]
    pub threads: i32,
    /// Context window in tokens; 0 uses the model's default (capped for mobile).
    #[uniffi(default = 0)]
    pub context_length: i32,
    /// Memory the app may still use. Android passes
    /// `ActivityManager.MemoryInfo.availMem`; `None` asks the OS where it can
    /// (iOS `os_proc_available_memory`, Linux `MemAvailable`). A model that
    /// will not fit fails with `InsufficientMemory` instead of being killed.
    #[uniffi(default = None)]
    pub available_memory_bytes: Option<i64>,
    #[uniffi(default = false)]
    pub skip_memory_check: bool,
    /// A directory for the crash-loop marker: a load the OS killed is reported
    /// by the next load (`Engine.unfinished_load`).
    #[uniffi(default = None)]
    pub state_dir: Option<String>,
    /// After such a crash, load with half the context that crashed.
    #[uniffi(default = false)]
    pub reduce_context_after_crash: bool,
    /// How the KV cache stores keys and values; `None` takes the default, f16.
    #[uniffi(default = None)]
    pub kv_cache_type: Option<KvCacheType>,
    /// Where the model lies inside `path` when it is embedded in a larger
    /// file, e.g. an uncompressed APK asset (`AssetFileDescriptor.startOffset`
    /// and `.length`): it is memory-mapped in place, not copied. Give both or
    /// neither; the offset must be a multiple of 32 (GGUF alignment).
    #[uniffi(default = None)]
    pub byte_offset: Option<i64>,
    #[uniffi(default = None)]
    pub byte_length: Option<i64>,
}

/// KV cache element type. f16 halves the cache against f32 at a perplexity
/// change far below 0.1 %; q8_0 halves it again (head size divisible by 32).
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum KvCacheType {
    F16,
    F32,
    Q8_0,
}

impl From<KvCacheType> for core::KvType {
    fn from(t: KvCacheType) -> Self {
        match t {
            KvCacheType::F16 => core::KvType::F16,
            KvCacheType::F32 => core::KvType::F32,
            KvCacheType::Q8_0 => core::KvType::Q8_0,
        }
    }
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
            kv_cache_type: None,
            byte_offset: None,
            byte_length: None,
        }
    }
}

impl TryFrom<LoadOptions> for core::LoadOptions {
    type Error = crate::error::MoteError;
    fn try_from(o: LoadOptions) -> Result<Self, Self::Error> {
        Ok(core::LoadOptions {
            threads: count(o.threads.into(), "threads")?,
            context_length: count(o.context_length.into(), "context_length")?,
            available_memory_bytes: o.available_memory_bytes.map(|b| count(b, "available_memory_bytes")).transpose()?.map(|b| b as u64),
            skip_memory_check: o.skip_memory_check,
            state_dir: o.state_dir.filter(|d| !d.is_empty()).map(PathBuf::from),
            reduce_context_after_crash: o.reduce_context_after_crash,
            chat_template: None,
            kv_type: o.kv_cache_type.map(Into::into).unwrap_or_default(),
            byte_range: match (o.byte_offset, o.byte_length) {
                (None, None) => None,
                (Some(off), Some(len)) => Some((count(off, "byte_offset")? as u64, count(len, "byte_length")? as u64)),
                _ => {
                    return Err(crate::error::MoteError::InvalidArgument {
                        reason: "byte_offset and byte_length go together: give both or neither".into(),
                    })
                }
            },
        })
    }
}

/// Sampling settings. The foreign-side defaults are literals (UniFFI cannot
/// call Rust to get them); a unit test keeps them equal to the core's defaults.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct GenerationConfig {
    #[uniffi(default = 256)]
    pub max_tokens: i32,
    /// 0 means greedy decoding.
    #[uniffi(default = 0.7)]
    pub temperature: f32,
    #[uniffi(default = 40)]
    pub top_k: i32,
    #[uniffi(default = 0.95)]
    pub top_p: f32,
    #[uniffi(default = 0.05)]
    pub min_p: f32,
    #[uniffi(default = 1.1)]
    pub repetition_penalty: f32,
    #[uniffi(default = None)]
    pub seed: Option<i64>,
    #[uniffi(default = [])]
    pub stop: Vec<String>,
}

impl TryFrom<GenerationConfig> for core::GenerationConfig {
    type Error = crate::error::MoteError;
    fn try_from(c: GenerationConfig) -> Result<Self, Self::Error> {
        let u32_of = |v: i32, what: &str| count(v.into(), what).map(|n| n as u32);
        Ok(core::GenerationConfig {
            max_tokens: u32_of(c.max_tokens, "max_tokens")?,
            temperature: c.temperature,
            top_k: u32_of(c.top_k, "top_k")?,
            top_p: c.top_p,
            min_p: c.min_p,
            repetition_penalty: c.repetition_penalty,
            // Any 64 bits make a seed; a negative Long is as good as any.
            seed: c.seed.map(|s| s as u64),
            stop: c.stop,
        })
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

impl From<ChatMessage> for core::ChatMessage {
    fn from(m: ChatMessage) -> Self {
        let role = match m.role {
            Role::System => core::Role::System,
            Role::User => core::Role::User,
            Role::Assistant => core::Role::Assistant,
        };
        core::ChatMessage::new(role, m.content)
    }
}

/// What a session does when the conversation outgrows its context.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum ContextPolicy {
    /// Keep the system prompt and the newest whole exchanges that fit (the default).
    DropOldest,
    /// Cut the oldest exchanges out of the KV cache and re-rotate the rest
    /// (no re-prefill); falls back to DropOldest where the template forbids it.
    Shift,
    /// Never drop: a turn that does not fit fails with `ContextFull`.
    Fail,
}

impl From<ContextPolicy> for core::ContextPolicy {
    fn from(p: ContextPolicy) -> Self {
        match p {
            ContextPolicy::DropOldest => Self::DropOldest,
            ContextPolicy::Shift => Self::Shift,
            ContextPolicy::Fail => Self::Fail,
        }
    }
}

impl From<core::ContextPolicy> for ContextPolicy {
    fn from(p: core::ContextPolicy) -> Self {
        match p {
            core::ContextPolicy::DropOldest => Self::DropOldest,
            core::ContextPolicy::Shift => Self::Shift,
            core::ContextPolicy::Fail => Self::Fail,
        }
    }
}

/// How full a session's context is, as of its last completed call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct ContextStatus {
    /// Tokens the conversation the model sees takes.
    pub used: i64,
    /// The context length.
    pub limit: i64,
    pub remaining: i64,
    /// Oldest history messages the model no longer sees.
    pub dropped_messages: i64,
}

impl From<core::ContextStatus> for ContextStatus {
    fn from(s: core::ContextStatus) -> Self {
        ContextStatus {
            used: crate::records::to_i64(s.used as u64),
            limit: crate::records::to_i64(s.limit as u64),
            remaining: crate::records::to_i64(s.remaining as u64),
            dropped_messages: crate::records::to_i64(s.dropped_messages as u64),
        }
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
    pub prompt_tokens: i32,
    /// Of those, tokens reused from the session's KV cache (not recomputed).
    pub cached_prompt_tokens: i32,
    pub generated_tokens: i32,
    /// Time to first token, including prefill.
    pub ttft_ms: f64,
    pub prefill_tokens_per_s: f64,
    pub decode_tokens_per_s: f64,
    pub peak_rss_bytes: i64,
}

impl From<core::Stats> for Stats {
    fn from(s: core::Stats) -> Self {
        Stats {
            load_ms: s.load_ms,
            prompt_tokens: crate::records::to_i32(s.prompt_tokens),
            cached_prompt_tokens: crate::records::to_i32(s.cached_prompt_tokens),
            generated_tokens: crate::records::to_i32(s.generated_tokens),
            ttft_ms: s.ttft_ms,
            prefill_tokens_per_s: s.prefill_tokens_per_s,
            decode_tokens_per_s: s.decode_tokens_per_s,
            peak_rss_bytes: crate::records::to_i64(s.peak_rss_bytes),
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
    pub parameters: i64,
    /// Parameter count per tensor type (for example "Q4_1" or "F32").
    pub quant_types: HashMap<String, i64>,
    pub file_size: i64,
    pub bits_per_weight: f64,
    /// The context the model was trained with.
    pub train_context_length: i32,
    /// The context this engine allocates per session.
    pub context_length: i32,
    pub vocab_size: i32,
    pub layers: i32,
    pub embedding_length: i32,
    pub has_chat_template: bool,
    /// How this architecture was checked against llama.cpp, or "unsupported".
    pub verification: String,
}

impl From<core::ModelInfo> for ModelInfo {
    fn from(i: core::ModelInfo) -> Self {
        ModelInfo {
            architecture: i.architecture,
            name: i.name,
            parameters: crate::records::to_i64(i.parameters),
            quant_types: i.quant_types.into_iter().map(|(k, v)| (k, to_i64(v))).collect(),
            file_size: crate::records::to_i64(i.file_size),
            bits_per_weight: i.bits_per_weight,
            train_context_length: crate::records::to_i32(i.train_context_length),
            context_length: crate::records::to_i32(i.context_length),
            vocab_size: crate::records::to_i32(i.vocab_size),
            layers: crate::records::to_i32(i.layers),
            embedding_length: crate::records::to_i32(i.embedding_length),
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
        let ours: core::GenerationConfig = ours.try_into().unwrap();
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
        let ours: core::LoadOptions = LoadOptions::default().try_into().unwrap();
        let core = core::LoadOptions::default();
        assert_eq!(ours.threads, core.threads);
        assert_eq!(ours.context_length, core.context_length);
        assert_eq!(ours.available_memory_bytes, core.available_memory_bytes);
        assert_eq!(ours.skip_memory_check, core.skip_memory_check);
        assert_eq!(ours.state_dir, core.state_dir);
        assert_eq!(ours.reduce_context_after_crash, core.reduce_context_after_crash);
    }

    #[test]
    fn negative_counts_are_argument_errors() {
        let bad = GenerationConfig { max_tokens: -1, ..GenerationConfig { max_tokens: 1, temperature: 0.0, top_k: 0, top_p: 1.0, min_p: 0.0, repetition_penalty: 1.0, seed: Some(-5), stop: vec![] } };
        assert!(matches!(core::GenerationConfig::try_from(bad), Err(crate::error::MoteError::InvalidArgument { .. })));
        let bad = LoadOptions { context_length: -2048, ..LoadOptions::default() };
        assert!(matches!(core::LoadOptions::try_from(bad), Err(crate::error::MoteError::InvalidArgument { .. })));
    }
}

/// Counts and sizes cross the boundary as signed integers, so Kotlin sees
/// `Int`/`Long` rather than `UInt`/`ULong` (see ADR 0007). Values beyond the
/// signed range saturate; none occur in practice.
pub(crate) fn to_i64(v: impl TryInto<i64>) -> i64 {
    v.try_into().unwrap_or(i64::MAX)
}

pub(crate) fn to_i32(v: impl TryInto<i32>) -> i32 {
    v.try_into().unwrap_or(i32::MAX)
}

/// An app-supplied count: negative is an argument error.
pub(crate) fn count(v: i64, what: &str) -> Result<usize, crate::error::MoteError> {
    usize::try_from(v).map_err(|_| crate::error::MoteError::InvalidArgument { reason: format!("{what} must not be negative, got {v}") })
}
