//! Quality probes besides perplexity: SQuAD-style extractive question
//! answering, scored exactly as the SQuAD v1.1 evaluation script scores it
//! (normalised exact match and token F1, best over the gold answers).
//! Greedy and deterministic, so two quantizations of one model can be
//! compared item by item; it runs wherever the engine does.

use serde::{Deserialize, Serialize};

use crate::generate::CancelToken;
use crate::{Engine, Error, GenerationConfig, Result};

#[derive(Debug, Clone, Deserialize)]
pub struct QaSet {
    pub name: String,
    pub items: Vec<QaItem>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct QaItem {
    pub id: String,
    pub context: String,
    pub question: String,
    pub answers: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct QaAnswer {
    pub id: String,
    pub prediction: String,
    pub exact_match: bool,
    pub f1: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct QaScore {
    /// Percentages, as SQuAD reports them.
    pub exact_match: f64,
    pub f1: f64,
    pub items: usize,
    pub answers: Vec<QaAnswer>,
}

impl QaSet {
    pub fn from_json(text: &str) -> Result<QaSet> {
        let set: QaSet = serde_json::from_str(text).map_err(|e| Error::InvalidArgument(format!("QA set: {e}")))?;
        if set.items.is_empty() || set.items.iter().any(|i| i.answers.is_empty()) {
            return Err(Error::InvalidArgument("QA set: no items, or an item without answers".into()));
        }
        Ok(set)
    }

    /// The contexts back to back: a perplexity text that ships with the set.
    pub fn text(&self) -> String {
        let mut seen = std::collections::HashSet::new();
        let contexts: Vec<&str> = self.items.iter().map(|i| i.context.as_str()).filter(|c| seen.insert(*c)).collect();
        contexts.join("\n\n")
    }
}

/// SQuAD's answer normalisation: lower case, no punctuation, no articles,
/// single spaces.
pub fn normalize_answer(s: &str) -> String {
    let lower: String = s.to_lowercase().chars().filter(|c| !c.is_ascii_punctuation()).collect();
    lower.split_whitespace().filter(|w| !matches!(*w, "a" | "an" | "the")).collect::<Vec<_>>().join(" ")
}

/// Token-overlap F1 of normalised answers (0 when either is empty, unless both are).
pub fn f1_score(prediction: &str, gold: &str) -> f64 {
    let p = normalize_answer(prediction);
    let g = normalize_answer(gold);
    let (p, g): (Vec<&str>, Vec<&str>) = (p.split_whitespace().collect(), g.split_whitespace().collect());
    if p.is_empty() || g.is_empty() {
        return f64::from(u8::from(p == g));
    }
    let mut counts = std::collections::HashMap::<&str, i64>::new();
    for w in &g {
        *counts.entry(w).or_default() += 1;
    }
    let mut same = 0;
    for w in &p {
        if let Some(c) = counts.get_mut(w) {
            if *c > 0 {
                *c -= 1;
                same += 1;
            }
        }
    }
    if same == 0 {
        return 0.0;
    }
    let precision = same as f64 / p.len() as f64;
    let recall = same as f64 / g.len() as f64;
    2.0 * precision * recall / (precision + recall)
}

/// The prompt for one item: an instruction, the passage and the question,
/// through the model's chat template.
pub fn qa_prompt(item: &QaItem) -> String {
    format!(
        "Answer the question with a short phrase copied from the text. Reply with the phrase only.\n\nText: {}\n\nQuestion: {}",
        item.context, item.question
    )
}

/// Answers every item greedily (at most 24 tokens, up to the first line
/// break) and scores the answers. `progress(done, total)` after each.
pub fn run_qa(engine: &Engine, set: &QaSet, cancel: &CancelToken, progress: &mut dyn FnMut(usize, usize)) -> Result<QaScore> {
    let config = GenerationConfig { max_tokens: 24, temperature: 0.0, repetition_penalty: 1.0, stop: vec!["\n".into()], ..Default::default() };
    let mut answers = Vec::with_capacity(set.items.len());
    for (i, item) in set.items.iter().enumerate() {
        let prompt = engine.prompt_tokens(&qa_prompt(item), false)?;
        let g = engine.complete(&prompt, &config, cancel, &mut |_| {})?;
        let prediction = g.text.trim().to_string();
        let exact_match = item.answers.iter().any(|a| normalize_answer(a) == normalize_answer(&prediction));
        let f1 = item.answers.iter().map(|a| f1_score(&prediction, a)).fold(0.0, f64::max);
        answers.push(QaAnswer { id: item.id.clone(), prediction, exact_match, f1 });
        progress(i + 1, set.items.len());
    }
    let n = answers.len() as f64;
    Ok(QaScore {
        exact_match: 100.0 * answers.iter().filter(|a| a.exact_match).count() as f64 / n,
        f1: 100.0 * answers.iter().map(|a| a.f1).sum::<f64>() / n,
        items: answers.len(),
        answers,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn squad_normalisation_and_f1() {
        assert_eq!(normalize_answer("The  Eagle!"), "eagle");
        assert_eq!(normalize_answer("an Apple, a pear"), "apple pear");
        assert_eq!(f1_score("the Eagle", "Eagle"), 1.0);
        assert_eq!(f1_score("Sea of Tranquility", "Tranquility"), 0.5);
        assert_eq!(f1_score("July 20, 1969", "1969"), 0.5);
        assert_eq!(f1_score("nothing", "Eagle"), 0.0);
        assert_eq!(f1_score("", ""), 1.0);
    }
}
