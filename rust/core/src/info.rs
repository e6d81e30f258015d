//! What a model file holds, for `mote info` and for apps deciding what to load.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::gguf::GgufFile;
use crate::model::ModelConfig;

#[derive(Debug, Clone, Serialize)]
pub struct ModelInfo {
    pub architecture: String,
    pub name: String,
    pub parameters: u64,
    /// Parameters per tensor type, e.g. {"Q4_1": 106M, "Q8_0": 28M, "F32": 0.1M}.
    pub quant_types: BTreeMap<String, u64>,
    pub file_size: u64,
    /// Tensor bytes × 8 / parameters.
    pub bits_per_weight: f64,
    /// The context the model was trained for.
    pub train_context_length: u32,
    /// The context this engine was loaded with.
    pub context_length: u32,
    pub vocab_size: u32,
    pub layers: u32,
    pub embedding_length: u32,
    pub has_chat_template: bool,
    /// The file's quantization as llama.cpp names it (`general.file_type`), e.g. "Q4_K_M".
    pub file_type: Option<String>,
    /// How Mote's implementation of this architecture was checked against llama.cpp,
    /// or "unsupported".
    pub verification: String,
}

/// llama.cpp's names for `general.file_type` values.
fn file_type_name(v: u64) -> Option<&'static str> {
    Some(match v {
        0 => "F32",
        1 => "F16",
        2 => "Q4_0",
        3 => "Q4_1",
        7 => "Q8_0",
        8 => "Q5_0",
        9 => "Q5_1",
        10 => "Q2_K",
        11 => "Q3_K_S",
        12 => "Q3_K_M",
        13 => "Q3_K_L",
        14 => "Q4_K_S",
        15 => "Q4_K_M",
        16 => "Q5_K_S",
        17 => "Q5_K_M",
        18 => "Q6_K",
        32 => "BF16",
        _ => return None,
    })
}

impl ModelInfo {
    pub fn new(g: &GgufFile, cfg: &ModelConfig, context_length: usize) -> Self {
        let mut quant_types = BTreeMap::new();
        let (mut params, mut bytes) = (0u64, 0u64);
        for t in &g.tensors {
            let n = t.elements() as u64;
            params += n;
            bytes += t.size as u64;
            *quant_types.entry(t.dtype.name().to_string()).or_insert(0) += n;
        }
        Self {
            architecture: cfg.architecture.clone(),
            name: g.get_str("general.name").unwrap_or("").to_string(),
            parameters: params,
            quant_types,
            file_size: g.file_size() as u64,
            bits_per_weight: if params > 0 { bytes as f64 * 8.0 / params as f64 } else { 0.0 },
            train_context_length: cfg.train_context as u32,
            context_length: context_length as u32,
            vocab_size: cfg.vocab_size as u32,
            layers: cfg.n_layer as u32,
            embedding_length: cfg.n_embd as u32,
            has_chat_template: g.get_str("tokenizer.chat_template").is_some(),
            file_type: g.get_u64("general.file_type").and_then(file_type_name).map(str::to_string),
            verification: crate::model::verification(&cfg.architecture).to_string(),
        }
    }
}
