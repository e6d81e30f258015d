pub mod bench;
pub mod bench_schema;
pub mod chat;
pub mod chat_tools;
pub mod energy;
pub mod energy_import;
pub mod eval;
pub mod generate;
pub mod lifecycle;
pub mod misc;
pub mod models;
pub mod quantize;
pub mod report;
pub mod study;
pub mod study_device;
pub mod study_page;

use std::path::Path;

use mote_core::{Engine, KvType, LoadOptions};

pub type CmdResult = Result<(), Box<dyn std::error::Error>>;

pub fn load(model: &Path, threads: usize, context_length: usize, kv_type: KvType) -> Result<Engine, mote_core::Error> {
    Engine::load(model, LoadOptions { threads, context_length, kv_type, ..Default::default() })
}

/// `--kv-type f16|f32|q8_0`.
pub fn kv_type(s: &str) -> Result<KvType, String> {
    KvType::parse(s).ok_or_else(|| format!("unknown KV cache type '{s}' (f16, f32 or q8_0)"))
}
