//! Hyper-parameters read from a GGUF file's `<arch>.*` metadata, and the rule
//! that keeps Mote from running a model silently wrong: every `<arch>.*` key
//! is either one Mote honours or one known not to change the math; any other
//! key refuses the file with `UnsupportedModel` naming it (docs/adr/0005).

use crate::error::{Error, Result};
use crate::gguf::GgufFile;

#[derive(Debug, Clone)]
pub struct ModelConfig {
    pub architecture: String,
    pub n_layer: usize,
    pub n_embd: usize,
    pub n_head: usize,
    pub n_kv_head: usize,
    pub head_dim: usize,
    pub n_ff: usize,
    pub vocab_size: usize,
    pub rms_eps: f64,
    pub rope_base: f64,
    /// Values of each head that RoPE rotates (`rope.dimension_count`, default the head size).
    pub n_rot: usize,
    pub rope_scaling: RopeScaling,
    /// The context the model was trained for (`<arch>.context_length`).
    pub train_context: usize,
    /// Sliding-window attention span, for architectures that use it on some layers.
    pub sliding_window: Option<usize>,
    /// How sessions' KV caches store keys and values: a load option, not
    /// read from the file (f16 unless the app asks otherwise).
    pub kv_type: super::KvType,
}

/// `rope.scaling.*`, as llama.cpp reads it (`llama_model::load_hparams`).
#[derive(Debug, Clone, PartialEq)]
pub struct RopeScaling {
    pub kind: ScalingKind,
    /// 1 / `rope.scaling.factor` for linear scaling; 1 otherwise.
    pub freq_scale: f64,
    /// `rope.scaling.attn_factor`: multiplies RoPE's cos and sin.
    pub attn_factor: f64,
    /// `rope.scaling.original_context_length`: LongRoPE uses its long factors beyond it.
    pub original_context: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScalingKind {
    None,
    Linear,
    LongRope,
    /// Any other `rope.scaling.type` (YaRN, …): read so that `mote info`
    /// still describes the file, refused when a model is built.
    Unsupported(String),
}

/// Keys every architecture here reads (or that never change the math:
/// `vocab_size` is checked against the embedding, `rope.scaling.finetuned`
/// is informational).
const COMMON_KEYS: &[&str] = &[
    "context_length",
    "embedding_length",
    "block_count",
    "feed_forward_length",
    "attention.head_count",
    "attention.head_count_kv",
    "attention.layer_norm_rms_epsilon",
    "attention.key_length",
    "attention.value_length",
    "rope.freq_base",
    "rope.dimension_count",
    "rope.scaling.type",
    "rope.scaling.factor",
    "rope.scaling.attn_factor",
    "rope.scaling.original_context_length",
    "rope.scaling.finetuned",
    "vocab_size",
];

impl ModelConfig {
    pub fn from_gguf(g: &GgufFile) -> Result<Self> {
        let arch = g.architecture()?.to_string();
        let key = |k: &str| format!("{arch}.{k}");
        let req = |k: &str| -> Result<usize> {
            let v = g
                .get_u64(&key(k))
                .ok_or_else(|| Error::InvalidModel(format!("{} is missing", key(k))))?;
            // Bounds that no real model approaches; they stop absurd values
            // from turning into huge allocations further down.
            if v == 0 || v > 1 << 24 {
                return Err(Error::InvalidModel(format!("{} = {v} is out of range", key(k))));
            }
            Ok(v as usize)
        };
        let opt = |k: &str| -> Result<Option<usize>> {
            match g.get(&key(k)) {
                None => Ok(None),
                Some(_) => req(k).map(Some),
            }
        };
        let n_embd = req("embedding_length")?;
        let n_head = req("attention.head_count")?;
        let n_kv_head = opt("attention.head_count_kv")?.unwrap_or(n_head);
        let head_dim = opt("attention.key_length")?.unwrap_or(n_embd / n_head);
        if let Some(v) = opt("attention.value_length")? {
            if v != head_dim {
                return Err(Error::UnsupportedModel(format!(
                    "{} = {v} differs from the key length {head_dim}",
                    key("attention.value_length")
                )));
            }
        }
        if n_head % n_kv_head != 0 {
            return Err(Error::InvalidModel(format!(
                "{n_head} attention heads cannot share {n_kv_head} KV heads"
            )));
        }
        let n_rot = opt("rope.dimension_count")?.unwrap_or(head_dim);
        if n_rot % 2 != 0 || n_rot > head_dim || head_dim < 2 {
            return Err(Error::InvalidModel(format!(
                "a head of {head_dim} values cannot rotate {n_rot} of them ({} must be even and at most the head size)",
                key("rope.dimension_count")
            )));
        }
        let token_embd = g
            .tensor("token_embd.weight")
            .ok_or_else(|| Error::InvalidModel("token_embd.weight is missing".into()))?;
        let vocab_size = *token_embd.dims.get(1).unwrap_or(&0);
        if token_embd.dims.len() != 2 || token_embd.dims[0] != n_embd || vocab_size == 0 {
            return Err(Error::InvalidModel(format!(
                "token_embd.weight has shape {:?}, expected [{n_embd}, vocab]",
                token_embd.dims
            )));
        }
        if let Some(v) = g.get_u64(&key("vocab_size")) {
            if v as usize != vocab_size {
                return Err(Error::InvalidModel(format!("{} = {v}, but token_embd.weight has {vocab_size} rows", key("vocab_size"))));
            }
        }
        let train_context = req("context_length")?;
        Ok(Self {
            n_layer: req("block_count")?,
            n_ff: req("feed_forward_length")?,
            rms_eps: g.get_f64(&key("attention.layer_norm_rms_epsilon")).unwrap_or(1e-5),
            rope_base: positive(g, &key("rope.freq_base"))?.unwrap_or(10_000.0),
            rope_scaling: rope_scaling(g, &arch, train_context)?,
            train_context,
            sliding_window: g.get_u64(&key("attention.sliding_window")).filter(|&v| v > 0).map(|v| v.min(1 << 24) as usize),
            architecture: arch,
            n_embd,
            n_head,
            n_kv_head,
            head_dim,
            n_rot,
            vocab_size,
            kv_type: super::KvType::default(),
        })
    }

    /// Refuses the file if it holds an `<arch>.*` key that is neither common
    /// nor in `honoured` (the architecture's own keys), since Mote cannot know
    /// whether an unknown key changes the math.
    pub fn check_keys(&self, g: &GgufFile, honoured: &[&str]) -> Result<()> {
        let prefix = format!("{}.", self.architecture);
        for k in g.metadata.keys() {
            let Some(rest) = k.strip_prefix(&prefix) else { continue };
            if !COMMON_KEYS.contains(&rest) && !honoured.contains(&rest) {
                return Err(Error::UnsupportedModel(format!(
                    "metadata key {k} is not supported for architecture {}",
                    self.architecture
                )));
            }
        }
        Ok(())
    }

    /// Refuses scaling kinds this architecture does not apply.
    pub fn require_scaling(&self, allowed: &[ScalingKind]) -> Result<()> {
        if allowed.contains(&self.rope_scaling.kind) {
            return Ok(());
        }
        let name = match &self.rope_scaling.kind {
            ScalingKind::None => "none",
            ScalingKind::Linear => "linear",
            ScalingKind::LongRope => "longrope",
            ScalingKind::Unsupported(s) => s,
        };
        Err(Error::UnsupportedModel(format!(
            "{}.rope.scaling.type = {name:?} is not supported for architecture {} (it takes {})",
            self.architecture,
            self.architecture,
            allowed.iter().map(|k| format!("{k:?}").to_lowercase()).collect::<Vec<_>>().join(", ")
        )))
    }
}

/// A finite, positive float key, if present.
fn positive(g: &GgufFile, k: &str) -> Result<Option<f64>> {
    match g.get(k) {
        None => Ok(None),
        Some(_) => match g.get_f64(k) {
            Some(v) if v.is_finite() && v > 0.0 => Ok(Some(v)),
            _ => Err(Error::InvalidModel(format!("{k} must be a positive number"))),
        },
    }
}

fn rope_scaling(g: &GgufFile, arch: &str, train_context: usize) -> Result<RopeScaling> {
    let key = |k: &str| format!("{arch}.rope.scaling.{k}");
    let kind = match g.get(&key("type")) {
        None => ScalingKind::Linear, // llama.cpp's default: a factor alone means linear
        Some(v) => match v.as_str() {
            Some("none") => ScalingKind::None,
            Some("linear") => ScalingKind::Linear,
            Some("longrope") => ScalingKind::LongRope,
            Some(other) => ScalingKind::Unsupported(other.to_string()),
            None => return Err(Error::InvalidModel(format!("{} must be a string", key("type")))),
        },
    };
    let factor = positive(g, &key("factor"))?;
    let freq_scale = match (&kind, factor) {
        (ScalingKind::Linear, Some(f)) => 1.0 / f,
        _ => 1.0,
    };
    let original_context = match g.get_u64(&key("original_context_length")) {
        Some(v) if v > 0 && v <= 1 << 24 => v as usize,
        Some(v) => return Err(Error::InvalidModel(format!("{} = {v} is out of range", key("original_context_length")))),
        None => train_context,
    };
    Ok(RopeScaling {
        kind,
        freq_scale,
        attn_factor: positive(g, &key("attn_factor"))?.unwrap_or(1.0),
        original_context,
    })
}
