//! The small commands: tokenize, perplexity, info.

use std::path::Path;

use mote_core::gguf::GgufFile;
use mote_core::model::ModelConfig;
use mote_core::{Engine, ModelInfo};

use super::{load, CmdResult};

pub fn tokenize(model: &Path, text: &str) -> CmdResult {
    let engine = load(model, 0, 0, Default::default())?;
    println!("{}", serde_json::to_string(&engine.tokenize(text, None)?)?);
    Ok(())
}

pub fn perplexity(model: &Path, file: &Path, ctx: usize, kv_type: mote_core::KvType) -> CmdResult {
    let text = std::fs::read_to_string(file).map_err(|e| format!("read {}: {e}", file.display()))?;
    let engine = load(model, 0, ctx, kv_type)?;
    let p = mote_core::perplexity::perplexity(&engine, &text, ctx)?;
    println!("{}", serde_json::json!({ "ppl": p.ppl, "tokens": p.tokens }));
    Ok(())
}

/// Reads only the header: `info` works on files this build can't run.
pub fn info(model: &Path, json: bool) -> CmdResult {
    let g = GgufFile::open(model)?;
    let cfg = ModelConfig::from_gguf(&g)?;
    let info = ModelInfo::new(&g, &cfg, cfg.train_context);
    let cpu = Engine::cpu_topology();
    if json {
        let mut v = serde_json::to_value(&info)?;
        let clusters: Vec<_> = cpu
            .clusters
            .iter()
            .map(|c| {
                serde_json::json!({
                    "cpus": c.cpus, "max_freq_khz": c.max_freq_khz, "capacity": c.capacity, "kind": c.kind.name(),
                })
            })
            .collect();
        v["cpu_topology"] = serde_json::json!({
            "source": cpu.source.name(),
            "summary": cpu.summary(),
            "default_threads": cpu.default_threads(),
            "clusters": clusters,
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    println!("model:            {}", printable(&info.name));
    println!("architecture:     {}", printable(&info.architecture));
    println!("parameters:       {} ({:.1} M)", info.parameters, info.parameters as f64 / 1e6);
    println!("file size:        {} bytes ({:.1} MiB)", info.file_size, info.file_size as f64 / 1048576.0);
    println!("bits per weight:  {:.3}", info.bits_per_weight);
    println!("file type:        {}", printable(info.file_type.as_deref().unwrap_or("unknown")));
    let quants: Vec<String> = info.quant_types.iter().map(|(k, v)| format!("{k} ({:.1} M)", *v as f64 / 1e6)).collect();
    println!("tensor types:     {}", quants.join(", "));
    println!("context length:   {}", info.train_context_length);
    println!("layers:           {}  embedding: {}  vocab: {}", info.layers, info.embedding_length, info.vocab_size);
    println!("chat template:    {}", if info.has_chat_template { "yes" } else { "no (a default is used)" });
    println!("verification:     {}", info.verification);
    println!("cpu layout:       {} ({})", cpu.summary(), cpu.source.name());
    println!("default threads:  {}", cpu.default_threads());
    Ok(())
}

/// Text from a model file, made safe for a terminal: control characters (ANSI
/// and OSC escapes among them) are shown escaped, never sent as they are.
pub fn printable(s: &str) -> String {
    s.chars().map(|c| if c.is_control() { c.escape_default().to_string() } else { c.to_string() }).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn control_characters_from_a_file_are_escaped() {
        assert_eq!(super::printable("ok\u{1b}[2J\u{1b}]0;title\u{7}\u{9b}x"), "ok\\u{1b}[2J\\u{1b}]0;title\\u{7}\\u{9b}x");
        assert_eq!(super::printable("SmolLM2 135M – ünï"), "SmolLM2 135M – ünï");
    }
}
