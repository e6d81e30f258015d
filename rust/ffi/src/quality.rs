//! The quantization study's on-device half: requantize a model and score
//! it, from Kotlin or Swift. Both calls block for minutes; the Kotlin and
//! Swift wrappers run them off the main thread.

use std::path::Path;

use crate::engine::Engine;
use crate::error::{guard, MoteError};

/// What `quantize_model` wrote.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct QuantizeSummary {
    pub quant_type: String,
    pub tensors: u32,
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub bits_per_weight: f64,
    /// Tensors converted from an already quantized type (their error adds up).
    pub requantized: u32,
}

/// Scores of `Engine.evaluate`: perplexity and SQuAD-style QA, greedy.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct QualitySummary {
    pub perplexity: f64,
    pub perplexity_tokens: u32,
    /// Percent, as SQuAD reports them.
    pub qa_exact_match: f64,
    pub qa_f1: f64,
    pub qa_items: u32,
}

/// The `quant_type` names `quantize_model` takes (as `mote quantize --type`).
#[uniffi::export]
pub fn quantize_types() -> Vec<String> {
    mote_core::quantize::RECIPES.iter().map(|r| r.name.to_string()).collect()
}

/// Quantizes the GGUF at `input` into `output` (written as `output.partial`
/// and renamed when complete), byte-identical to llama.cpp's llama-quantize.
/// `threads` 0 uses every core.
#[uniffi::export]
pub fn quantize_model(input: String, output: String, quant_type: String, threads: u32) -> Result<QuantizeSummary, MoteError> {
    guard(|| {
        let recipe = mote_core::quantize::recipe(&quant_type).ok_or_else(|| MoteError::InvalidArgument {
            reason: format!("unknown quant type {quant_type:?}; one of {:?}", quantize_types()),
        })?;
        let options = mote_core::quantize::QuantizeOptions { threads: threads as usize, cancel: None };
        let r = mote_core::quantize::quantize_file(Path::new(&input), Path::new(&output), recipe, &options, &mut |_, _, _| {})?;
        Ok(QuantizeSummary {
            quant_type: r.recipe,
            tensors: r.tensors.len() as u32,
            bytes_in: r.bytes_in,
            bytes_out: r.bytes_out,
            bits_per_weight: r.bits_per_weight,
            requantized: r.requantized as u32,
        })
    })
}

#[uniffi::export]
impl Engine {
    /// Perplexity of `perplexity_text` in windows of `context` tokens, and
    /// the QA set `qa_set_json` (the format of Mote's squad-mini.json),
    /// answered greedily. An empty text uses the QA set's passages.
    pub fn evaluate(&self, qa_set_json: String, perplexity_text: String, context: u32) -> Result<QualitySummary, MoteError> {
        guard(|| {
            let set = mote_core::eval::QaSet::from_json(&qa_set_json)?;
            let text = if perplexity_text.is_empty() { set.text() } else { perplexity_text };
            let p = mote_core::perplexity::perplexity(self.core(), &text, context as usize)?;
            let qa = mote_core::eval::run_qa(self.core(), &set, &Default::default(), &mut |_, _| {})?;
            Ok(QualitySummary {
                perplexity: p.ppl,
                perplexity_tokens: p.tokens as u32,
                qa_exact_match: qa.exact_match,
                qa_f1: qa.f1,
                qa_items: qa.items as u32,
            })
        })
    }
}
