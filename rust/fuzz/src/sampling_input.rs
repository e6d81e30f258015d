//! How the `generation_config` target reads its input: a config, logits and
//! recent tokens drawn with `arbitrary`. Here so that the seed generator can
//! check what its seeds decode to.

use arbitrary::{Result, Unstructured};
use mote_core::GenerationConfig;

/// Floats a byte below 16 picks; a larger byte takes the next four as raw bits.
pub const EDGES: &[f32] = &[
    0.0,
    -0.0,
    1.0,
    0.5,
    f32::NAN,
    f32::INFINITY,
    f32::NEG_INFINITY,
    f32::MIN_POSITIVE,
    1e-45,
    f32::MAX,
    f32::MIN,
    f32::EPSILON,
    1.0 + f32::EPSILON,
    1.0 - f32::EPSILON / 2.0,
    -1.0,
    100.0,
];

fn float(u: &mut Unstructured) -> Result<f32> {
    let pick: u8 = u.arbitrary()?;
    Ok(match EDGES.get(pick as usize) {
        Some(&e) => e,
        None => f32::from_bits(u.arbitrary()?),
    })
}

pub struct Case {
    pub cfg: GenerationConfig,
    /// Never empty: a model has at least one token.
    pub logits: Vec<f32>,
    /// Token ids, some beyond the logits (a shorter output layer, a stale history).
    pub recent: Vec<u32>,
}

pub fn case(data: &[u8]) -> Option<Case> {
    let mut u = Unstructured::new(data);
    let u = &mut u;
    let cfg = GenerationConfig {
        max_tokens: u.arbitrary().ok()?,
        temperature: float(u).ok()?,
        top_k: u.arbitrary().ok()?,
        top_p: float(u).ok()?,
        min_p: float(u).ok()?,
        repetition_penalty: float(u).ok()?,
        seed: u.arbitrary().ok()?,
        stop: (0..u.int_in_range(0..=3).ok()?).map(|_| u.arbitrary()).collect::<Result<_>>().ok()?,
    };
    let n = u.int_in_range(1..=64u32).ok()?;
    let logits = (0..n).map(|_| float(u)).collect::<Result<Vec<f32>>>().ok()?;
    let recent = std::iter::from_fn(|| u.arbitrary::<u32>().ok()).take(256).map(|t| t % (2 * n)).collect();
    Some(Case { cfg, logits, recent })
}
