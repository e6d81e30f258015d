//! transformers' `tojson`: Python's `json.dumps` as transformers calls it,
//! and Python's number formatting, which templates print through it. Tool-calling
//! prompts depend on its exact spacing (`{"a": 1}`), so it is reproduced here
//! rather than taken from minijinja's own `tojson`.

use minijinja::value::{from_args, Kwargs, Rest, ValueKind};
use minijinja::{Error, Value};

use super::pycompat::{invalid, MAX_DEPTH};

/// transformers' filter:
/// `json.dumps(x, ensure_ascii=False, indent=indent, separators=separators, sort_keys=sort_keys)`,
/// so `{"a": 1, "b": [1, 2]}` spacing, no HTML escaping, non-ASCII as is.
/// Arguments in that order, positionally or by keyword.
pub(super) fn tojson(value: &Value, args: Rest<Value>) -> Result<Value, Error> {
    #[allow(clippy::type_complexity)]
    let (ensure_ascii, indent, separators, sort_keys, kwargs): (
        Option<Value>,
        Option<Value>,
        Option<Value>,
        Option<Value>,
        Kwargs,
    ) = from_args(&args)?;
    fn pick(positional: Option<Value>, kwargs: &Kwargs, name: &str) -> Result<Option<Value>, Error> {
        let keyword: Option<Value> = kwargs.get(name)?;
        match (positional, keyword) {
            (Some(_), Some(_)) => Err(invalid(format!("tojson() got multiple values for argument '{name}'"))),
            (p, k) => Ok(p.or(k)),
        }
    }
    let ensure_ascii = pick(ensure_ascii, &kwargs, "ensure_ascii")?.is_some_and(|v| v.is_true());
    let indent = pick(indent, &kwargs, "indent")?;
    let separators = pick(separators, &kwargs, "separators")?;
    let sort_keys = pick(sort_keys, &kwargs, "sort_keys")?.is_some_and(|v| v.is_true());
    kwargs.assert_all_used()?;

    // json.dumps: an int indent is that many spaces, a string is used as is.
    let indent = match indent {
        None => None,
        Some(v) if v.is_none() => None,
        Some(v) => Some(match v.kind() {
            ValueKind::String => v.as_str().unwrap_or_default().to_owned(),
            ValueKind::Number | ValueKind::Bool => {
                let n =
                    i64::try_from(v.clone()).map_err(|_| invalid("tojson indent must be an integer or a string"))?;
                " ".repeat(n.clamp(0, 64) as usize)
            }
            _ => return Err(invalid("tojson indent must be an integer or a string")),
        }),
    };
    let (item_sep, key_sep) = match separators {
        Some(v) if !v.is_none() => {
            let parts: Vec<Value> = v.try_iter()?.collect();
            match parts.as_slice() {
                [a, b] if a.as_str().is_some() && b.as_str().is_some() => {
                    (a.as_str().unwrap().to_owned(), b.as_str().unwrap().to_owned())
                }
                _ => return Err(invalid("tojson separators must be a pair of strings")),
            }
        }
        _ if indent.is_some() => (",".to_owned(), ": ".to_owned()),
        _ => (", ".to_owned(), ": ".to_owned()),
    };
    let enc = Encoder { ensure_ascii, indent, item_sep, key_sep, sort_keys };
    let mut out = String::new();
    enc.value(&mut out, value, 0, 0)?;
    Ok(Value::from(out))
}

struct Encoder {
    ensure_ascii: bool,
    indent: Option<String>,
    item_sep: String,
    key_sep: String,
    sort_keys: bool,
}


impl Encoder {
    fn value(&self, out: &mut String, v: &Value, level: usize, depth: usize) -> Result<(), Error> {
        if depth > MAX_DEPTH {
            return Err(invalid("tojson: value nested too deeply"));
        }
        match v.kind() {
            ValueKind::None => out.push_str("null"),
            ValueKind::Bool => out.push_str(if v.is_true() { "true" } else { "false" }),
            ValueKind::Number => out.push_str(&number(v)),
            ValueKind::String => self.string(out, v.as_str().unwrap_or_default()),
            ValueKind::Seq | ValueKind::Iterable => {
                let items: Vec<Value> = v.try_iter()?.collect();
                self.container(out, '[', ']', items.len(), level, |out, i, level| {
                    self.value(out, &items[i], level, depth + 1)
                })?;
            }
            ValueKind::Map => {
                let mut pairs: Vec<(String, Value)> = Vec::new();
                for key in v.try_iter()? {
                    let item = v.get_item(&key)?;
                    pairs.push((self.key(&key)?, item));
                }
                if self.sort_keys {
                    pairs.sort_by(|a, b| a.0.cmp(&b.0));
                }
                self.container(out, '{', '}', pairs.len(), level, |out, i, level| {
                    self.string(out, &pairs[i].0);
                    out.push_str(&self.key_sep);
                    self.value(out, &pairs[i].1, level, depth + 1)
                })?;
            }
            ValueKind::Undefined => return Err(invalid("Object of type Undefined is not JSON serializable")),
            other => return Err(invalid(format!("Object of type {other} is not JSON serializable"))),
        }
        Ok(())
    }

    fn container(
        &self,
        out: &mut String,
        open: char,
        close: char,
        len: usize,
        level: usize,
        mut item: impl FnMut(&mut String, usize, usize) -> Result<(), Error>,
    ) -> Result<(), Error> {
        out.push(open);
        if len == 0 {
            out.push(close);
            return Ok(());
        }
        let newline = |out: &mut String, level: usize| {
            if let Some(ind) = &self.indent {
                out.push('\n');
                for _ in 0..level {
                    out.push_str(ind);
                }
            }
        };
        newline(out, level + 1);
        for i in 0..len {
            if i > 0 {
                out.push_str(&self.item_sep);
                newline(out, level + 1);
            }
            item(out, i, level + 1)?;
        }
        newline(out, level);
        out.push(close);
        Ok(())
    }

    /// Python converts these key types to strings; anything else is a TypeError.
    fn key(&self, k: &Value) -> Result<String, Error> {
        match k.kind() {
            ValueKind::String => Ok(k.as_str().unwrap_or_default().to_owned()),
            ValueKind::Number => Ok(number(k)),
            ValueKind::Bool => Ok(if k.is_true() { "true" } else { "false" }.to_owned()),
            ValueKind::None => Ok("null".to_owned()),
            other => Err(invalid(format!("keys must be str, int, float, bool or None, not {other}"))),
        }
    }

    fn string(&self, out: &mut String, s: &str) {
        out.push('"');
        for c in s.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                '\u{8}' => out.push_str("\\b"),
                '\u{c}' => out.push_str("\\f"),
                c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
                c if self.ensure_ascii && (c as u32) > 0x7e => {
                    let mut buf = [0u16; 2];
                    for unit in c.encode_utf16(&mut buf) {
                        out.push_str(&format!("\\u{unit:04x}"));
                    }
                }
                c => out.push(c),
            }
        }
        out.push('"');
    }
}

/// A number as Python's `json.dumps` writes it: integers in full, floats as `repr()`.
pub(super) fn number(v: &Value) -> String {
    if v.is_integer() {
        return v.to_string();
    }
    match f64::try_from(v.clone()) {
        Ok(f) => py_float_repr(f),
        Err(_) => v.to_string(),
    }
}

/// Python's `repr(float)`: the shortest round-trip digits, positional for
/// exponents in -4..16, else `1e+16` style; `NaN`/`Infinity` as json writes them.
pub(super) fn py_float_repr(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let body = if (-4..16).contains(&exp) {
        if exp >= 0 {
            let int_len = exp as usize + 1;
            if digits.len() <= int_len {
                format!("{digits}{}.0", "0".repeat(int_len - digits.len()))
            } else {
                format!("{}.{}", &digits[..int_len], &digits[int_len..])
            }
        } else {
            format!("0.{}{digits}", "0".repeat((-exp - 1) as usize))
        }
    } else {
        let (first, rest) = digits.split_at(1);
        let frac = if rest.is_empty() { String::new() } else { format!(".{rest}") };
        format!("{first}{frac}e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs())
    };
    format!("{sign}{body}")
}

#[cfg(test)]
mod tests {
    use super::py_float_repr;

    #[test]
    fn floats_print_as_python_repr() {
        for (f, want) in [
            (1.0, "1.0"),
            (0.1, "0.1"),
            (-2.5, "-2.5"),
            (123456.0, "123456.0"),
            (1e16, "1e+16"),
            (1.5e-5, "1.5e-05"),
            (0.0001, "0.0001"),
            (-0.0, "-0.0"),
            (1e22, "1e+22"),
            (123456789012345.6, "123456789012345.6"),
        ] {
            assert_eq!(py_float_repr(f), want, "{f}");
        }
    }
}
