//! Per-generation measurements, typed so apps never parse them out of strings.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    /// Time the engine took to load the model (the most recent load, after a release too).
    pub load_ms: f64,
    /// Tokens in the rendered prompt, including those reused from the KV cache.
    pub prompt_tokens: u32,
    /// Prompt tokens whose keys and values were already cached from earlier turns.
    pub cached_prompt_tokens: u32,
    pub generated_tokens: u32,
    /// From the call until the first token of the reply was sampled.
    pub ttft_ms: f64,
    pub prefill_tokens_per_s: f64,
    pub decode_tokens_per_s: f64,
    /// The process's peak resident set so far.
    pub peak_rss_bytes: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FinishReason {
    /// The model ended its turn (EOS/EOT).
    EndOfTurn,
    /// A stop string was generated; it is not part of the reply.
    StopSequence,
    MaxTokens,
    /// The context filled up; reset the session or load with a larger context.
    ContextFull,
}
