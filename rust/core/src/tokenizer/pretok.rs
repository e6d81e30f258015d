//! Splitting text into words before byte-level BPE, with llama.cpp's semantics.
//!
//! llama.cpp does not run the pre-tokenizer regexes of `tokenizer.json`
//! verbatim. The GPT-2, Llama 3, Qwen 2 and Qwen 3.5 patterns have hand-written
//! splitters, and every other pattern runs as a C++ `std::regex` over a
//! "collapsed" copy of the text in which each non-ASCII code point stands as
//! one byte for its Unicode category (letters, numbers, punctuation, marks,
//! symbols; non-ASCII whitespace as a vertical tab). The two differ from a real
//! Unicode regex engine in corner cases (a non-ASCII letter counts as both
//! upper and lower case in GPT-4o's pattern, for one), so this module
//! reproduces both: its own splitters for the four patterns, and the collapsed
//! text with the collapsed pattern for the rest. Regexes apply in turn, each to
//! the pieces the previous one left, keeping matches and the text between them.

use std::sync::OnceLock;

use crate::error::{Error, Result};

// ---- Unicode categories, as llama.cpp's `unicode_cpt_flags` ----

const NUMBER: u8 = 1 << 0;
const LETTER: u8 = 1 << 1;
const PUNCT: u8 = 1 << 2;
const MARK: u8 = 1 << 3;
const SYMBOL: u8 = 1 << 4;
const SPACE: u8 = 1 << 5;
/// Set for every code point inside the piece being split: llama.cpp's
/// "flags of a position past the end" are all zero, unassigned code points not.
const IN_RANGE: u8 = 1 << 7;

struct Categories {
    /// (first, last, flags), sorted and disjoint.
    ranges: Vec<(u32, u32, u8)>,
    ascii: [u8; 128],
}

fn class_ranges(pattern: &str) -> Vec<(u32, u32)> {
    use regex_syntax::hir::{Class, HirKind};
    let hir = regex_syntax::Parser::new().parse(pattern).expect("a Unicode class");
    match hir.kind() {
        HirKind::Class(Class::Unicode(c)) => c.ranges().iter().map(|r| (r.start() as u32, r.end() as u32)).collect(),
        other => panic!("{pattern} is not a Unicode class: {other:?}"),
    }
}

fn categories() -> &'static Categories {
    static CATS: OnceLock<Categories> = OnceLock::new();
    CATS.get_or_init(|| {
        // Boundaries of every class, then the flags of each elementary interval.
        let classes: Vec<(u8, Vec<(u32, u32)>)> = [
            (NUMBER, r"\p{N}"),
            (LETTER, r"\p{L}"),
            (PUNCT, r"\p{P}"),
            (MARK, r"\p{M}"),
            (SYMBOL, r"\p{S}"),
            (SPACE, r"\p{White_Space}"),
        ]
        .iter()
        .map(|&(f, p)| (f, class_ranges(p)))
        .collect();
        let mut cuts: Vec<u32> = vec![0, 0x11_0000];
        for (_, rs) in &classes {
            for &(a, b) in rs {
                cuts.push(a);
                cuts.push(b + 1);
            }
        }
        cuts.sort_unstable();
        cuts.dedup();
        let mut ranges: Vec<(u32, u32, u8)> = Vec::new();
        for w in cuts.windows(2) {
            let (a, b) = (w[0], w[1] - 1);
            let mut flags = 0;
            for (f, rs) in &classes {
                let i = rs.partition_point(|&(_, hi)| hi < a);
                if i < rs.len() && rs[i].0 <= a {
                    flags |= f;
                }
            }
            match ranges.last_mut() {
                Some(last) if last.2 == flags && last.1 + 1 == a => last.1 = b,
                _ => ranges.push((a, b, flags)),
            }
        }
        let mut cats = Categories { ranges, ascii: [0; 128] };
        for c in 0..128u32 {
            cats.ascii[c as usize] = cats.lookup(c);
        }
        cats
    })
}

impl Categories {
    fn lookup(&self, cp: u32) -> u8 {
        let i = self.ranges.partition_point(|&(_, hi, _)| hi < cp);
        self.ranges.get(i).filter(|r| r.0 <= cp).map_or(0, |r| r.2)
    }

    fn of(&self, c: char) -> u8 {
        let cp = c as u32;
        IN_RANGE | if cp < 128 { self.ascii[cp as usize] } else { self.lookup(cp) }
    }
}

// ---- the splitters ----

/// One step of a pre-tokenizer.
enum Step {
    /// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)`
    Gpt2,
    /// Llama 3 (`digits` 3), Qwen 2 (`digits` 1) and Qwen 3.5 (1, with marks
    /// joining letters): case-insensitive contractions, an optional
    /// non-letter before a letter run, digit groups, punctuation runs that
    /// take trailing newlines, newline-ending whitespace, then whitespace.
    Llama3 { digits: usize, marks: bool },
    /// Any other pattern, run over the collapsed text.
    Regex { re: fancy_regex::Regex, collapsed: bool },
}

/// Text of the piece being split, as code points and their categories.
struct Piece<'a> {
    cps: &'a [char],
    flags: &'a [u8],
    start: usize,
    end: usize,
}

impl Piece<'_> {
    fn cp(&self, i: usize) -> Option<char> {
        (self.start <= i && i < self.end).then(|| self.cps[i])
    }
    fn fl(&self, i: usize) -> u8 {
        if self.start <= i && i < self.end {
            self.flags[i]
        } else {
            0
        }
    }
}

/// Length of a contraction (`'s`, `'RE`, ...) starting at `i`, if any.
fn contraction(p: &Piece, i: usize, any_case: bool) -> Option<usize> {
    if p.cp(i) != Some('\'') {
        return None;
    }
    let lower = |c: Option<char>| c.map(|c| if any_case { c.to_ascii_lowercase() } else { c });
    let (a, b) = (lower(p.cp(i + 1))?, lower(p.cp(i + 2)));
    if matches!(a, 's' | 't' | 'm' | 'd') {
        return Some(2);
    }
    matches!((a, b), ('r', Some('e')) | ('v', Some('e')) | ('l', Some('l'))).then_some(3)
}

/// Whitespace from `i`: its length and where its last `\r`/`\n` ends (0 if none).
fn whitespace_run(p: &Piece, i: usize) -> (usize, usize) {
    let (mut n, mut last_newline_end) = (0, 0);
    while p.fl(i + n) & SPACE != 0 {
        if matches!(p.cp(i + n), Some('\r' | '\n')) {
            last_newline_end = i + n + 1;
        }
        n += 1;
    }
    (n, last_newline_end)
}

fn split_gpt2(p: &Piece, out: &mut Vec<usize>) {
    let mut pos = p.start;
    let mut push = |end: usize, pos: &mut usize| {
        out.push(end);
        *pos = end;
    };
    while pos < p.end {
        if let Some(n) = contraction(p, pos, false) {
            push(pos + n, &mut pos);
            continue;
        }
        let space = p.cp(pos) == Some(' ');
        let first = if space { p.fl(pos + 1) } else { p.fl(pos) };
        let run = |class: &dyn Fn(u8) -> bool| {
            let mut e = pos + usize::from(space);
            while class(p.fl(e)) {
                e += 1;
            }
            e
        };
        if first & LETTER != 0 {
            let e = run(&|f| f & LETTER != 0);
            push(e, &mut pos);
            continue;
        }
        if first & NUMBER != 0 {
            let e = run(&|f| f & NUMBER != 0);
            push(e, &mut pos);
            continue;
        }
        let other = |f: u8| f & (SPACE | LETTER | NUMBER) == 0 && f != 0;
        if other(first) {
            let e = run(&other);
            push(e, &mut pos);
            continue;
        }
        let (n, _) = whitespace_run(p, pos);
        if n > 1 && p.cp(pos + n).is_some() {
            push(pos + n - 1, &mut pos);
        } else if n > 0 {
            push(pos + n, &mut pos);
        } else {
            push(pos + 1, &mut pos);
        }
    }
}

fn split_llama3(p: &Piece, digits: usize, marks: bool, out: &mut Vec<usize>) {
    let word = if marks { LETTER | MARK } else { LETTER };
    let mut pos = p.start;
    while pos < p.end {
        let start = pos;
        let c = p.cp(pos);
        let f = p.fl(pos);
        if let Some(n) = contraction(p, pos, true) {
            pos += n;
        } else if !matches!(c, Some('\r' | '\n')) && f & NUMBER == 0 && (f & word != 0 || p.fl(pos + 1) & word != 0) {
            // [^\r\n\p{L}\p{N}]?\p{L}+
            pos += 1;
            while p.fl(pos) & word != 0 {
                pos += 1;
            }
        } else if f & NUMBER != 0 {
            // \p{N}{1,digits}
            while pos - start < digits && p.fl(pos) & NUMBER != 0 {
                pos += 1;
            }
        } else {
            let space = c == Some(' ');
            let other = |f: u8| f & (SPACE | word | NUMBER) == 0 && f != 0;
            if other(if space { p.fl(pos + 1) } else { f }) {
                // ' ?[^\s\p{L}\p{N}]+[\r\n]*'
                pos += usize::from(space);
                while other(p.fl(pos)) {
                    pos += 1;
                }
                while matches!(p.cp(pos), Some('\r' | '\n')) {
                    pos += 1;
                }
            } else {
                let (n, newline_end) = whitespace_run(p, pos);
                pos = if newline_end > 0 {
                    newline_end // \s*[\r\n]+
                } else if n > 1 && p.cp(pos + n).is_some() {
                    pos + n - 1 // \s+(?!\S)
                } else if n > 0 {
                    pos + n // \s+
                } else {
                    pos + 1
                };
            }
        }
        out.push(pos);
    }
}

/// The byte standing for each category in the collapsed text (as a `char`
/// here), and the ASCII members of the category, which stay as they are.
fn collapsed_class(name: &str) -> Option<(char, &'static [(u8, u8)])> {
    const DIGITS: &[(u8, u8)] = &[(b'0', b'9')];
    const LETTERS: &[(u8, u8)] = &[(b'A', b'Z'), (b'a', b'z')];
    const PUNCTS: &[(u8, u8)] = &[
        (0x21, 0x23),
        (0x25, 0x2A),
        (0x2C, 0x2F),
        (0x3A, 0x3B),
        (0x3F, 0x40),
        (0x5B, 0x5D),
        (0x5F, 0x5F),
        (0x7B, 0x7B),
        (0x7D, 0x7D),
    ];
    const SYMBOLS: &[(u8, u8)] =
        &[(0x24, 0x24), (0x2B, 0x2B), (0x3C, 0x3E), (0x5E, 0x5E), (0x60, 0x60), (0x7C, 0x7C), (0x7E, 0x7E)];
    Some(match name {
        "N" => ('\u{D1}', DIGITS),
        "L" | "Lu" | "Ll" | "Lt" | "Lm" | "Lo" => ('\u{D2}', LETTERS),
        "P" => ('\u{D3}', PUNCTS),
        "M" => ('\u{D4}', &[]),
        "S" => ('\u{D5}', SYMBOLS),
        _ => return None,
    })
}

fn collapsed_char(c: char, flags: u8) -> char {
    if (c as u32) < 128 {
        c
    } else if flags & SPACE != 0 {
        '\u{0B}'
    } else {
        match flags & (NUMBER | LETTER | PUNCT | MARK | SYMBOL) {
            NUMBER => '\u{D1}',
            LETTER => '\u{D2}',
            PUNCT => '\u{D3}',
            MARK => '\u{D4}',
            SYMBOL => '\u{D5}',
            _ => '\u{D0}',
        }
    }
}

/// The pattern with each `\p{..}` replaced by its collapsed class, as
/// llama.cpp rewrites it; `None` when it names no category.
fn collapse_pattern(pattern: &str) -> Result<Option<String>> {
    if !pattern.contains(r"\p{") {
        return Ok(None);
    }
    if !pattern.is_ascii() {
        return Err(Error::UnsupportedModel(format!(
            "pre-tokenizer pattern mixes categories and non-ASCII text: {pattern}"
        )));
    }
    let b = pattern.as_bytes();
    let mut out = String::with_capacity(pattern.len() * 2);
    let mut inside = false;
    let mut i = 0;
    while i < b.len() {
        let escaped = i > 0 && b[i - 1] == b'\\';
        if b[i] == b'[' && !escaped {
            inside = true;
        } else if b[i] == b']' && inside && !escaped {
            inside = false;
        } else if pattern[i..].starts_with(r"\p{") {
            if let Some(close) = pattern[i..].find('}') {
                if let Some((byte, ascii)) = collapsed_class(&pattern[i + 3..i + close]) {
                    let mut class = format!(r"\x{{{:X}}}", byte as u32);
                    for &(lo, hi) in ascii {
                        class.push_str(&format!(r"\x{{{lo:X}}}-\x{{{hi:X}}}"));
                    }
                    if inside {
                        out.push_str(&class);
                    } else {
                        out.push('[');
                        out.push_str(&class);
                        out.push(']');
                    }
                    i += close + 1;
                    continue;
                }
            }
            return Err(Error::UnsupportedModel(format!("pre-tokenizer pattern uses an unknown category: {pattern}")));
        }
        out.push(b[i] as char);
        i += 1;
    }
    Ok(Some(out))
}

impl Step {
    fn for_pattern(pattern: &str) -> Result<Step> {
        Ok(match pattern {
            GPT2 => Step::Gpt2,
            LLAMA3 => Step::Llama3 { digits: 3, marks: false },
            QWEN2 => Step::Llama3 { digits: 1, marks: false },
            QWEN35 => Step::Llama3 { digits: 1, marks: true },
            _ => {
                let collapsed = collapse_pattern(pattern)?;
                let source = collapsed.as_deref().unwrap_or(pattern);
                let re = fancy_regex::Regex::new(source)
                    .map_err(|e| Error::Tokenizer(format!("pre-tokenizer pattern {pattern}: {e}")))?;
                Step::Regex { re, collapsed: collapsed.is_some() }
            }
        })
    }

    fn split(&self, p: &Piece, out: &mut Vec<usize>) -> Result<()> {
        match self {
            Step::Gpt2 => split_gpt2(p, out),
            Step::Llama3 { digits, marks } => split_llama3(p, *digits, *marks, out),
            Step::Regex { re, collapsed } => {
                // Code points of the piece as the C++ regex sees them, and the
                // code point index of each byte offset in that string.
                let mut text = String::with_capacity(p.end - p.start);
                let mut index = Vec::with_capacity(p.end - p.start + 1);
                for i in p.start..p.end {
                    let (c, f) = (p.cps[i], p.flags[i]);
                    let c = if *collapsed {
                        collapsed_char(c, f)
                    } else if c as u32 > 0x7F && f & SPACE != 0 {
                        '\u{0B}'
                    } else {
                        c
                    };
                    for _ in 0..c.len_utf8() {
                        index.push(i);
                    }
                    text.push(c);
                }
                index.push(p.end);
                let mut last = p.start;
                for m in re.find_iter(&text) {
                    let m = m.map_err(|e| Error::Tokenizer(format!("pre-tokenizer: {e}")))?;
                    if m.start() == m.end() {
                        continue;
                    }
                    let (a, b) = (index[m.start()], index[m.end()]);
                    if a > last {
                        out.push(a);
                    }
                    out.push(b);
                    last = b;
                }
                if last < p.end {
                    out.push(p.end);
                }
            }
        }
        Ok(())
    }
}

pub(crate) const GPT2: &str = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)";
pub(crate) const LLAMA3: &str = r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
pub(crate) const QWEN2: &str = r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
pub(crate) const QWEN35: &str = r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?[\p{L}\p{M}]+|\p{N}| ?[^\s\p{L}\p{M}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

/// The word splitter of one `tokenizer.ggml.pre`: its patterns in order.
pub(crate) struct Splitter {
    steps: Vec<Step>,
}

impl Splitter {
    pub fn new(patterns: &[&str]) -> Result<Self> {
        Ok(Self { steps: patterns.iter().map(|p| Step::for_pattern(p)).collect::<Result<_>>()? })
    }

    /// The words of `text`, in order; together they are exactly `text`.
    pub fn split<'a>(&self, text: &'a str) -> Result<Vec<&'a str>> {
        let cats = categories();
        let mut cps = Vec::with_capacity(text.len());
        let mut bytes = Vec::with_capacity(text.len() + 1);
        for (at, c) in text.char_indices() {
            cps.push(c);
            bytes.push(at);
        }
        bytes.push(text.len());
        let flags: Vec<u8> = cps.iter().map(|&c| cats.of(c)).collect();

        // Ends of the pieces, as code point indices.
        let mut ends = if cps.is_empty() { Vec::new() } else { vec![cps.len()] };
        let mut next = Vec::with_capacity(cps.len() / 2);
        for step in &self.steps {
            next.clear();
            let mut start = 0;
            for &end in &ends {
                step.split(&Piece { cps: &cps, flags: &flags, start, end }, &mut next)?;
                start = end;
            }
            std::mem::swap(&mut ends, &mut next);
        }
        let mut words = Vec::with_capacity(ends.len());
        let mut start = 0;
        for end in ends {
            words.push(&text[bytes[start]..bytes[end]]);
            start = end;
        }
        Ok(words)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(patterns: &[&str], text: &str) -> Vec<String> {
        Splitter::new(patterns).unwrap().split(text).unwrap().into_iter().map(str::to_owned).collect()
    }

    #[test]
    fn llama3_splits_like_the_regex() {
        assert_eq!(
            words(&[LLAMA3], "Hello world's 12345\n\n  x"),
            ["Hello", " world", "'s", " ", "123", "45", "\n\n", " ", " x"]
        );
        assert_eq!(words(&[QWEN2], "I'VE 42!!\n"), ["I", "'VE", " ", "4", "2", "!!\n"]);
        assert_eq!(words(&[GPT2], "I'VE  a"), ["I", "'", "VE", " ", " a"]);
    }

    #[test]
    fn collapsed_patterns_run_per_piece() {
        assert_eq!(words(&[r"\p{N}", GPT2], "ab 123  é"), ["ab", " ", "1", "2", "3", " ", " é"]);
        // In GPT-4o's pattern a non-ASCII letter is both upper and lower case.
        let gpt4o = r"[^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))*((?=[\p{L}])([^A-Z]))+|\p{N}{1,3}|\s+";
        assert_eq!(words(&[gpt4o], "aÉb HTTPServer"), ["aÉb", " HTTPServer"]);
        assert!(collapse_pattern(r"\p{Han}+").is_err());
    }
}
