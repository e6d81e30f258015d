//! Turning logits into the next token: repetition penalty, then greedy or
//! temperature sampling with top-k, top-p and min-p, seeded for reproducibility.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::config::GenerationConfig;

/// How many recent tokens the repetition penalty looks at (llama.cpp's default).
const PENALTY_WINDOW: usize = 64;

pub struct Sampler {
    temperature: f32,
    top_k: usize,
    top_p: f32,
    min_p: f32,
    repetition_penalty: f32,
    rng: StdRng,
    scratch: Vec<(u32, f32)>,
}

impl Sampler {
    pub fn new(cfg: &GenerationConfig) -> Self {
        let rng = match cfg.seed {
            Some(s) => StdRng::seed_from_u64(s),
            None => StdRng::from_entropy(),
        };
        Self {
            temperature: cfg.temperature,
            top_k: cfg.top_k as usize,
            top_p: cfg.top_p,
            min_p: cfg.min_p,
            repetition_penalty: cfg.repetition_penalty,
            rng,
            scratch: Vec::new(),
        }
    }

    /// Picks the next token. `recent` is the context so far (prompt and reply).
    pub fn sample(&mut self, logits: &mut [f32], recent: &[u32]) -> u32 {
        self.penalize(logits, recent);
        if self.temperature <= 0.0 {
            return argmax(logits);
        }
        let c = &mut self.scratch;
        c.clear();
        c.extend(logits.iter().enumerate().map(|(i, &l)| (i as u32, l)));
        let k = if self.top_k == 0 { c.len() } else { self.top_k.min(c.len()) };
        if k < c.len() {
            c.select_nth_unstable_by(k - 1, |a, b| b.1.total_cmp(&a.1));
            c.truncate(k);
        }
        c.sort_unstable_by(|a, b| b.1.total_cmp(&a.1));

        let max = c[0].1;
        let mut sum = 0.0;
        for e in c.iter_mut() {
            e.1 = ((e.1 - max) / self.temperature).exp();
            sum += e.1;
        }
        let mut kept = 0;
        let mut cum = 0.0;
        let min_keep = self.min_p * c[0].1;
        for e in c.iter() {
            if kept > 0 && (cum >= self.top_p * sum || e.1 < min_keep) {
                break;
            }
            cum += e.1;
            kept += 1;
        }
        c.truncate(kept);
        let mut r = self.rng.gen::<f32>() * cum;
        for &(id, p) in c.iter() {
            if r < p {
                return id;
            }
            r -= p;
        }
        c[kept - 1].0
    }

    fn penalize(&self, logits: &mut [f32], recent: &[u32]) {
        if self.repetition_penalty == 1.0 || self.repetition_penalty <= 0.0 {
            return;
        }
        let window = &recent[recent.len().saturating_sub(PENALTY_WINDOW)..];
        let mut seen = std::collections::HashSet::with_capacity(window.len());
        for &t in window {
            if let Some(l) = logits.get_mut(t as usize) {
                if seen.insert(t) {
                    *l = if *l > 0.0 { *l / self.repetition_penalty } else { *l * self.repetition_penalty };
                }
            }
        }
    }
}

pub fn argmax(v: &[f32]) -> u32 {
    let mut best = 0;
    for (i, &x) in v.iter().enumerate() {
        if x > v[best] {
            best = i;
        }
    }
    best as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(temperature: f32, top_k: u32, top_p: f32, min_p: f32, seed: u64) -> GenerationConfig {
        GenerationConfig { temperature, top_k, top_p, min_p, repetition_penalty: 1.0, seed: Some(seed), ..Default::default() }
    }

    #[test]
    fn greedy_takes_the_largest_logit() {
        let mut s = Sampler::new(&cfg(0.0, 0, 1.0, 0.0, 1));
        assert_eq!(s.sample(&mut [0.1, 3.0, -2.0, 2.9], &[]), 1);
    }

    #[test]
    fn top_k_one_is_greedy_at_any_temperature() {
        let mut s = Sampler::new(&cfg(5.0, 1, 1.0, 0.0, 7));
        for _ in 0..50 {
            assert_eq!(s.sample(&mut [0.1, 3.0, -2.0, 2.9], &[]), 1);
        }
    }

    #[test]
    fn top_p_and_min_p_cut_the_tail() {
        // Token 0 holds ~88% of the mass at temperature 1; top-p 0.5 keeps only it.
        let mut s = Sampler::new(&cfg(1.0, 0, 0.5, 0.0, 3));
        for _ in 0..50 {
            assert_eq!(s.sample(&mut [4.0, 2.0, 0.0, 0.0], &[]), 0);
        }
        // min-p 0.2 keeps tokens with p ≥ 0.2·p_max: 0 and 1 (e^-1 ≈ 0.37), never 2 or 3 (e^-4).
        let mut s = Sampler::new(&cfg(1.0, 0, 1.0, 0.2, 3));
        let mut seen = [0; 4];
        for _ in 0..400 {
            seen[s.sample(&mut [4.0, 3.0, 0.0, 0.0], &[]) as usize] += 1;
        }
        assert!(seen[0] > 0 && seen[1] > 0 && seen[2] == 0 && seen[3] == 0, "{seen:?}");
    }

    #[test]
    fn same_seed_same_choices() {
        let run = |seed| {
            let mut s = Sampler::new(&cfg(1.0, 0, 1.0, 0.0, seed));
            (0..32).map(|_| s.sample(&mut [1.0, 1.1, 0.9, 1.05], &[])).collect::<Vec<_>>()
        };
        assert_eq!(run(42), run(42));
        assert_ne!(run(42), run(43));
    }

    #[test]
    fn repetition_penalty_demotes_recent_tokens() {
        let mut c = cfg(0.0, 0, 1.0, 0.0, 1);
        c.repetition_penalty = 1.5;
        let mut s = Sampler::new(&c);
        assert_eq!(s.sample(&mut [2.0, 1.5, -1.0], &[0]), 1);
        assert_eq!(s.sample(&mut [2.0, 1.5, -1.0], &[]), 0);
    }
}
