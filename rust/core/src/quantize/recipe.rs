//! Which type each tensor gets: the recipes `mote quantize` offers, written
//! as data (a base type, and for the mixes a short table of rules) and
//! evaluated the way llama.cpp's `llama_tensor_get_type` does, so that
//! `Q4_K_M` here is `Q4_K_M` there, tensor for tensor.
//!
//! Single-type names (`Q4_K`, `Q8_0`, …) are *pure*: every quantizable
//! matrix gets that type, as `llama-quantize --pure`. Note that llama.cpp's
//! own `Q4_K`/`Q5_K`/`Q3_K` names are aliases of its `_M` mixes; Mote's are
//! not, so that a study can compare the formats themselves.

use mote_kernels::QuantType;

use crate::gguf::GgmlType;

/// A tensor's role, from its name (llama.cpp's `tensor_get_category`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Output,
    TokenEmbd,
    AttnQkv,
    AttnKvB,
    AttnV,
    AttnK,
    AttnQ,
    AttnOutput,
    FfnUp,
    FfnGate,
    FfnDown,
    Other,
}

impl Role {
    pub fn of(name: &str) -> Role {
        if name == "output.weight" {
            return Role::Output;
        }
        if name == "token_embd.weight" || name == "per_layer_token_embd.weight" {
            return Role::TokenEmbd;
        }
        // First match wins, in llama.cpp's order ("ffn_down" also names the
        // expert and shared-expert tensors).
        const BY_SUBSTRING: [(&str, Role); 9] = [
            ("attn_qkv.weight", Role::AttnQkv),
            ("attn_kv_b.weight", Role::AttnKvB),
            ("attn_v.weight", Role::AttnV),
            ("attn_k.weight", Role::AttnK),
            ("attn_q.weight", Role::AttnQ),
            ("attn_output.weight", Role::AttnOutput),
            ("ffn_up", Role::FfnUp),
            ("ffn_gate", Role::FfnGate),
            ("ffn_down", Role::FfnDown),
        ];
        BY_SUBSTRING.iter().find(|(s, _)| name.contains(s)).map_or(Role::Other, |&(_, r)| r)
    }

    /// The value projections, which llama.cpp counts and treats alike.
    fn is_attn_v(self) -> bool {
        matches!(self, Role::AttnV | Role::AttnQkv | Role::AttnKvB)
    }
}

/// When a mix rule applies.
#[derive(Debug, Clone, Copy)]
pub enum When {
    /// In the first and last eighth of the layers and every third between
    /// (llama.cpp's `use_more_bits`).
    MoreBits,
    /// In a model with exactly 8 experts (llama.cpp's Mixtral rules).
    Experts8,
}

#[derive(Debug, Clone, Copy)]
pub struct Rule {
    pub role: Role,
    pub when: When,
    pub ty: QuantType,
}

#[derive(Debug)]
pub struct Recipe {
    /// The CLI name (`Q4_K_M`).
    pub name: &'static str,
    /// `general.file_type` as llama.cpp writes it for this recipe.
    pub file_type: u32,
    pub base: QuantType,
    /// `None` for a pure recipe. For a mix: the output projection (or the
    /// tied embeddings) goes to Q6_K, then the first matching rule decides.
    pub rules: Option<&'static [Rule]>,
}

const Q4_K_M_RULES: &[Rule] = &[
    Rule { role: Role::AttnV, when: When::Experts8, ty: QuantType::Q8_0 },
    Rule { role: Role::AttnQkv, when: When::Experts8, ty: QuantType::Q8_0 },
    Rule { role: Role::AttnKvB, when: When::Experts8, ty: QuantType::Q8_0 },
    Rule { role: Role::AttnV, when: When::MoreBits, ty: QuantType::Q6K },
    Rule { role: Role::AttnQkv, when: When::MoreBits, ty: QuantType::Q6K },
    Rule { role: Role::AttnKvB, when: When::MoreBits, ty: QuantType::Q6K },
    Rule { role: Role::AttnK, when: When::Experts8, ty: QuantType::Q8_0 },
    Rule { role: Role::FfnDown, when: When::MoreBits, ty: QuantType::Q6K },
    Rule { role: Role::AttnOutput, when: When::Experts8, ty: QuantType::Q5K },
];

/// Q5_K_M is Q4_K_M's table on a Q5_K base, without the 8-expert
/// attention-output rule (its base already is Q5_K).
const Q5_K_M_RULES: &[Rule] = Q4_K_M_RULES.split_at(8).0;

pub const RECIPES: &[Recipe] = &[
    Recipe { name: "Q2_K", file_type: 10, base: QuantType::Q2K, rules: None },
    Recipe { name: "Q3_K", file_type: 12, base: QuantType::Q3K, rules: None },
    Recipe { name: "Q4_0", file_type: 2, base: QuantType::Q4_0, rules: None },
    Recipe { name: "Q4_1", file_type: 3, base: QuantType::Q4_1, rules: None },
    Recipe { name: "Q4_K", file_type: 15, base: QuantType::Q4K, rules: None },
    Recipe { name: "Q5_0", file_type: 8, base: QuantType::Q5_0, rules: None },
    Recipe { name: "Q5_1", file_type: 9, base: QuantType::Q5_1, rules: None },
    Recipe { name: "Q5_K", file_type: 17, base: QuantType::Q5K, rules: None },
    Recipe { name: "Q6_K", file_type: 18, base: QuantType::Q6K, rules: None },
    Recipe { name: "Q8_0", file_type: 7, base: QuantType::Q8_0, rules: None },
    Recipe { name: "Q4_K_M", file_type: 15, base: QuantType::Q4K, rules: Some(Q4_K_M_RULES) },
    Recipe { name: "Q5_K_M", file_type: 17, base: QuantType::Q5K, rules: Some(Q5_K_M_RULES) },
];

/// The recipe called `name` (case-insensitive).
pub fn recipe(name: &str) -> Option<&'static Recipe> {
    RECIPES.iter().find(|r| r.name.eq_ignore_ascii_case(name))
}

/// Substrings of weights llama.cpp never quantizes (small or sensitive).
const KEEP: &[&str] = &[
    "_norm.weight",
    "ffn_gate_inp.weight",
    "ffn_gate_tid2eid.weight",
    "altup",
    "laurel",
    "per_layer_model_proj",
    "ssm_conv1d",
    "shortconv.conv.weight",
    "attn_rel_b.weight",
    "time_mix_",
    ".position_embd",
    ".rel_pos",
    ".patch_embd",
];

/// Rank without trailing unit dimensions (ggml's `ggml_n_dims`).
pub fn rank(dims: &[usize]) -> usize {
    let mut n = dims.len();
    while n > 1 && dims[n - 1] == 1 {
        n -= 1;
    }
    n
}

/// Whether a tensor is a weight matrix that may be quantized at all.
pub fn quantizable(name: &str, dims: &[usize]) -> bool {
    rank(dims) >= 2
        && name.ends_with("weight")
        && !KEEP.iter().any(|k| name.contains(k))
        && name != "position_embd.weight"
        && name != "token_types.weight"
}

pub fn to_ggml(t: QuantType) -> GgmlType {
    match t {
        QuantType::Q4_0 => GgmlType::Q4_0,
        QuantType::Q4_1 => GgmlType::Q4_1,
        QuantType::Q5_0 => GgmlType::Q5_0,
        QuantType::Q5_1 => GgmlType::Q5_1,
        QuantType::Q8_0 => GgmlType::Q8_0,
        QuantType::Q2K => GgmlType::Q2K,
        QuantType::Q3K => GgmlType::Q3K,
        QuantType::Q4K => GgmlType::Q4K,
        QuantType::Q5K => GgmlType::Q5K,
        QuantType::Q6K => GgmlType::Q6K,
        QuantType::IQ4NL => GgmlType::IQ4NL,
        QuantType::IQ4XS => GgmlType::IQ4XS,
        QuantType::BF16 => GgmlType::BF16,
    }
}

/// Where a type's block does not fit the row: llama.cpp's fallbacks, and
/// F16 when even those don't fit.
fn fallback(ty: QuantType, cols: usize) -> GgmlType {
    if cols % ty.block_len() == 0 {
        return to_ggml(ty);
    }
    let f = match ty {
        QuantType::Q2K | QuantType::Q3K => QuantType::Q4_0,
        QuantType::Q4K => QuantType::Q5_0,
        QuantType::Q5K => QuantType::Q5_1,
        QuantType::Q6K => QuantType::Q8_0,
        other => other,
    };
    if cols % f.block_len() == 0 { to_ggml(f) } else { GgmlType::F16 }
}

/// Chooses types tensor by tensor. llama.cpp counts value projections and
/// FFN-down matrices in the order it visits tensors ([`llama_order`]), and
/// "more bits" follows that count; so must we.
pub struct Planner<'a> {
    recipe: &'a Recipe,
    experts: usize,
    layers: usize,
    tied: bool,
    n_attn_v: usize,
    i_attn_v: usize,
    i_ffn_down: usize,
}

fn more_bits(i: usize, n: usize) -> bool {
    let (i, n) = (i as i64, n as i64);
    i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2
}

impl<'a> Planner<'a> {
    /// `names`: every tensor name in the file; `layers`/`experts` from its metadata.
    pub fn new<'n>(recipe: &'a Recipe, names: impl Iterator<Item = &'n str>, layers: usize, experts: usize) -> Self {
        let mut n_attn_v = 0;
        let mut tied = true;
        for n in names {
            let role = Role::of(n);
            n_attn_v += usize::from(role.is_attn_v());
            tied &= role != Role::Output;
        }
        Planner { recipe, experts, layers, tied, n_attn_v, i_attn_v: 0, i_ffn_down: 0 }
    }

    /// The type for the next tensor (call in sorted-name order); `None`
    /// keeps the tensor as it is.
    pub fn choose(&mut self, name: &str, dims: &[usize]) -> Option<GgmlType> {
        if !quantizable(name, dims) {
            return None;
        }
        let cols = dims[0];
        let base = self.recipe.base;
        let Some(rules) = self.recipe.rules else {
            return Some(fallback(base, cols));
        };
        let role = Role::of(name);
        if role == Role::Output || (self.tied && role == Role::TokenEmbd) {
            // No fallback after this: the choice already fits the row.
            return Some(if cols % base.block_len() != 0 {
                GgmlType::Q8_0
            } else if base != QuantType::Q8_0 {
                GgmlType::Q6K
            } else {
                GgmlType::Q8_0
            });
        }
        // The position a "more bits" rule tests: the value-projection count,
        // or for FFN-down the count (dense) or the layer in the name (MoE).
        let position = match role {
            r if r.is_attn_v() => Some((self.i_attn_v, self.n_attn_v)),
            Role::FfnDown if self.experts > 1 => Some((layer_of(name).unwrap_or(0), self.layers)),
            Role::FfnDown => Some((self.i_ffn_down, self.layers)),
            _ => None,
        };
        let rule = rules.iter().find(|r| {
            r.role == role
                && match r.when {
                    When::Experts8 => self.experts == 8,
                    When::MoreBits => position.is_some_and(|(i, n)| more_bits(i, n)),
                }
        });
        if role.is_attn_v() {
            self.i_attn_v += 1;
        }
        if role == Role::FfnDown {
            self.i_ffn_down += 1;
        }
        Some(fallback(rule.map_or(base, |r| r.ty), cols))
    }
}

/// llama.cpp's tensor order (its loader's `weight_name_comparer`): tensors
/// outside the blocks first, then block by block numerically, by name within each.
pub fn llama_order(a: &str, b: &str) -> std::cmp::Ordering {
    let layer = |n: &str| layer_of(n).map_or(-1, |l| l as i64);
    layer(a).cmp(&layer(b)).then_with(|| a.cmp(b))
}

fn layer_of(name: &str) -> Option<usize> {
    name.strip_prefix("blk.")?.split('.').next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_follow_llama_cpp_names() {
        assert_eq!(Role::of("blk.3.attn_v.weight"), Role::AttnV);
        assert_eq!(Role::of("blk.3.attn_k_norm.weight"), Role::Other);
        assert_eq!(Role::of("blk.0.ffn_down_exps.weight"), Role::FfnDown);
        assert_eq!(Role::of("blk.0.ffn_gate_inp.weight"), Role::FfnGate);
        assert!(!quantizable("blk.0.ffn_gate_inp.weight", &[64, 8]));
        assert!(!quantizable("blk.0.attn_norm.weight", &[64]));
        assert!(!quantizable("blk.0.attn_q.weight", &[64, 1]));
        assert!(quantizable("blk.0.attn_q.weight", &[64, 64]));
    }

    #[test]
    fn q4_k_m_gives_more_bits_by_layer() {
        let mut sorted: Vec<String> = (0..16).rev().map(|i| format!("blk.{i}.attn_v.weight")).collect();
        sorted.sort_by(|a, b| llama_order(a, b));
        assert_eq!(sorted[2], "blk.2.attn_v.weight", "numeric, not lexicographic");
        let r = recipe("q4_k_m").unwrap();
        let mut p = Planner::new(r, sorted.iter().map(String::as_str).chain(["output.weight"]), 16, 0);
        let types: Vec<GgmlType> = sorted.iter().map(|n| p.choose(n, &[256, 64]).unwrap()).collect();
        // Layers 0, 1 (< 16/8), 14, 15 (>= 7·16/8) and 4, 7, 10, 13 ((i − 2) % 3 == 2).
        let six: Vec<usize> = (0..16).filter(|&i| types[i] == GgmlType::Q6K).collect();
        assert_eq!(six, [0, 1, 4, 7, 10, 13, 14, 15]);
        assert_eq!(types[2], GgmlType::Q4K);
        assert_eq!(p.choose("output.weight", &[256, 100]), Some(GgmlType::Q6K));
        assert_eq!(p.choose("output.weight", &[64, 100]), Some(GgmlType::Q8_0));
        assert_eq!(p.choose("blk.0.attn_q.weight", &[64, 64]), Some(GgmlType::Q5_0), "Q4_K falls back on 64-wide rows");
    }
}
