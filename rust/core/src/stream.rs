//! Turning token bytes into text pieces an app can show: never half a UTF-8
//! character, never any part of a stop string.

/// Collects token bytes and releases only complete UTF-8 characters.
#[derive(Default)]
pub struct Utf8Assembler {
    pending: Vec<u8>,
}

impl Utf8Assembler {
    /// Adds a token's bytes; returns the text that is now complete.
    pub fn push(&mut self, bytes: &[u8]) -> String {
        self.pending.extend_from_slice(bytes);
        let mut out = String::new();
        loop {
            match std::str::from_utf8(&self.pending) {
                Ok(s) => {
                    out.push_str(s);
                    self.pending.clear();
                    return out;
                }
                Err(e) => {
                    let valid = e.valid_up_to();
                    out.push_str(std::str::from_utf8(&self.pending[..valid]).expect("checked valid"));
                    match e.error_len() {
                        // An incomplete character at the end: wait for the next token.
                        None => {
                            self.pending.drain(..valid);
                            return out;
                        }
                        // Bytes that can never become valid: show the replacement character.
                        Some(n) => {
                            out.push(char::REPLACEMENT_CHARACTER);
                            self.pending.drain(..valid + n);
                        }
                    }
                }
            }
        }
    }

    /// Whatever is left at the end of a generation, lossily.
    pub fn finish(&mut self) -> String {
        let s = String::from_utf8_lossy(&self.pending).into_owned();
        self.pending.clear();
        s
    }
}

/// Holds back text that might be the start of a stop string.
pub struct StopMatcher {
    stops: Vec<String>,
    pending: String,
}

pub enum StopOutcome {
    /// Safe to show.
    Emit(String),
    /// A stop string was found; show this text (before it) and stop.
    Stopped(String),
}

impl StopMatcher {
    pub fn new(stops: Vec<String>) -> Self {
        Self { stops: stops.into_iter().filter(|s| !s.is_empty()).collect(), pending: String::new() }
    }

    pub fn push(&mut self, text: &str) -> StopOutcome {
        self.pending.push_str(text);
        let first_stop = self.stops.iter().filter_map(|s| self.pending.find(s.as_str())).min();
        if let Some(at) = first_stop {
            let before = self.pending[..at].to_string();
            self.pending.clear();
            return StopOutcome::Stopped(before);
        }
        let hold = self.held_suffix_len();
        let cut = self.pending.len() - hold;
        StopOutcome::Emit(self.pending.drain(..cut).collect())
    }

    /// Text held back when generation ends for another reason: it was not a stop string after all.
    pub fn finish(&mut self) -> String {
        std::mem::take(&mut self.pending)
    }

    /// The longest suffix of the pending text that is a proper prefix of a stop string.
    fn held_suffix_len(&self) -> usize {
        let p = &self.pending;
        let mut best = 0;
        for s in &self.stops {
            for (i, _) in p.char_indices() {
                let suffix = &p[i..];
                if suffix.len() <= best {
                    break;
                }
                if s.starts_with(suffix) {
                    best = suffix.len();
                    break;
                }
            }
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multibyte_characters_split_across_tokens_come_out_whole() {
        let bytes = "é🙂東".as_bytes();
        let mut a = Utf8Assembler::default();
        let mut out = Vec::new();
        for b in bytes {
            out.push(a.push(&[*b]));
        }
        assert!(out.iter().all(|s| s.is_empty() || s.chars().count() == 1), "{out:?}");
        assert_eq!(out.concat(), "é🙂東");
    }

    #[test]
    fn invalid_bytes_become_replacement_characters() {
        let mut a = Utf8Assembler::default();
        assert_eq!(a.push(b"a\xffb"), "a\u{fffd}b");
        assert_eq!(a.push(b"\xe6\x9d"), "");
        assert_eq!(a.finish(), "\u{fffd}");
    }

    #[test]
    fn stop_string_split_over_pieces_never_leaks() {
        let mut m = StopMatcher::new(vec!["<END>".into()]);
        let mut shown = String::new();
        for piece in ["Hello <", "E", "N", "D> tail"] {
            match m.push(piece) {
                StopOutcome::Emit(s) => shown.push_str(&s),
                StopOutcome::Stopped(s) => {
                    shown.push_str(&s);
                    break;
                }
            }
            assert!(!shown.contains('<'), "partial stop string leaked: {shown:?}");
        }
        assert_eq!(shown, "Hello ");
    }

    #[test]
    fn a_false_start_is_released() {
        let mut m = StopMatcher::new(vec!["User:".into()]);
        let StopOutcome::Emit(a) = m.push("Use") else { panic!() };
        assert_eq!(a, "");
        let StopOutcome::Emit(b) = m.push("ful") else { panic!() };
        assert_eq!(b, "Useful");
        let StopOutcome::Emit(c) = m.push(" U") else { panic!() };
        assert_eq!(c, " ");
        assert_eq!(m.finish(), "U");
    }
}
