//! Where minijinja and Python's jinja2 (as Hugging Face transformers sets it
//! up) disagree, templates are written for the latter: jinja2's tests and
//! `indent`, Python's printing, and Python methods beyond minijinja-contrib's.
//! transformers' `tojson` is in `pyjson.rs`.

use minijinja::value::{from_args, Kwargs, ValueKind};
use minijinja::{Error, ErrorKind, State, Value};

use super::pyjson::number;

/// Widest padding `ljust`/`center`/`indent` may add per call; prompts never need more.
pub(super) const MAX_PAD: i64 = 4096;

/// Deeper than any schema; keeps a self-referencing value from overflowing the stack.
pub(super) const MAX_DEPTH: usize = 128;

pub(super) fn invalid(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, msg.into())
}

/// jinja2's `indent(width=4, first=False, blank=False)`, quirks included: a
/// trailing newline survives, `width` may be a string, lines split as Python's
/// `str.splitlines` does.
pub(super) fn indent(
    value: &Value,
    width: Option<Value>,
    first: Option<Value>,
    blank: Option<Value>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    let width = match width {
        Some(w) => Some(w),
        None => kwargs.get::<Option<Value>>("width")?,
    };
    let first = match first {
        Some(f) => Some(f),
        None => kwargs.get::<Option<Value>>("first")?,
    }
    .is_some_and(|v| v.is_true());
    let blank = match blank {
        Some(b) => Some(b),
        None => kwargs.get::<Option<Value>>("blank")?,
    }
    .is_some_and(|v| v.is_true());
    kwargs.assert_all_used()?;
    let indention = match width {
        None => "    ".to_owned(),
        Some(w) => match w.as_str() {
            Some(s) => s.to_owned(),
            None => {
                let n = i64::try_from(w).map_err(|_| invalid("indent width must be an integer or a string"))?;
                " ".repeat(n.clamp(0, MAX_PAD) as usize)
            }
        },
    };
    let mut s = py_str(value);
    s.push('\n');
    let lines = splitlines(&s);
    if indention.len().saturating_mul(lines.len()) > super::MAX_OUTPUT {
        return Err(invalid("indent: result too large"));
    }
    let mut rv = String::with_capacity(s.len() * 2);
    if blank {
        for (i, line) in lines.iter().enumerate() {
            if i > 0 {
                rv.push('\n');
                rv.push_str(&indention);
            }
            rv.push_str(line);
        }
    } else {
        let mut iter = lines.iter();
        if let Some(head) = iter.next() {
            rv.push_str(head);
        }
        let rest: Vec<&&str> = iter.collect();
        if !rest.is_empty() {
            rv.push('\n');
            for (i, line) in rest.iter().enumerate() {
                if i > 0 {
                    rv.push('\n');
                }
                if !line.is_empty() {
                    rv.push_str(&indention);
                }
                rv.push_str(line);
            }
        }
    }
    if first {
        rv.insert_str(0, &indention);
    }
    Ok(Value::from(rv))
}

/// Python's `str.splitlines()`: every Unicode line boundary, `\r\n` as one,
/// no empty item after a final boundary.
pub(super) fn splitlines(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut chars = s.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let is_break = matches!(
            c,
            '\n' | '\r' | '\u{b}' | '\u{c}' | '\u{1c}' | '\u{1d}' | '\u{1e}' | '\u{85}' | '\u{2028}' | '\u{2029}'
        );
        if is_break {
            out.push(&s[start..i]);
            let mut next = i + c.len_utf8();
            if c == '\r' {
                if let Some(&(j, '\n')) = chars.peek() {
                    chars.next();
                    next = j + 1;
                }
            }
            start = next;
        }
    }
    if start < s.len() {
        out.push(&s[start..]);
    }
    out
}

/// Python's `str(value)`: strings as they are, containers as their `repr`.
pub(super) fn py_str(v: &Value) -> String {
    match v.kind() {
        ValueKind::String => v.as_str().unwrap_or_default().to_owned(),
        ValueKind::Seq | ValueKind::Map | ValueKind::Number => py_repr(v),
        _ => v.to_string(),
    }
}

/// Python's `repr(value)` for the values JSON and templates produce.
pub(super) fn py_repr(v: &Value) -> String {
    let mut out = String::new();
    repr_into(&mut out, v, 0);
    out
}

fn repr_into(out: &mut String, v: &Value, depth: usize) {
    if depth > MAX_DEPTH {
        out.push_str("...");
        return;
    }
    match v.kind() {
        ValueKind::String => repr_str(out, v.as_str().unwrap_or_default()),
        ValueKind::Number => out.push_str(&number(v)),
        ValueKind::Seq | ValueKind::Iterable => {
            out.push('[');
            for (i, item) in v.try_iter().into_iter().flatten().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                repr_into(out, &item, depth + 1);
            }
            out.push(']');
        }
        ValueKind::Map => {
            out.push('{');
            for (i, key) in v.try_iter().into_iter().flatten().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                repr_into(out, &key, depth + 1);
                out.push_str(": ");
                repr_into(out, &v.get_item(&key).unwrap_or_default(), depth + 1);
            }
            out.push('}');
        }
        _ => out.push_str(&v.to_string()),
    }
}

fn repr_str(out: &mut String, s: &str) {
    let quote = if s.contains('\'') && !s.contains('"') { '"' } else { '\'' };
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if !is_printable(c) => {
                let n = c as u32;
                if n < 0x100 {
                    out.push_str(&format!("\\x{n:02x}"));
                } else if n < 0x10000 {
                    out.push_str(&format!("\\u{n:04x}"));
                } else {
                    out.push_str(&format!("\\U{n:08x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push(quote);
}

/// Python's `str.isprintable` for the characters that matter in prompts:
/// controls, separators other than the space, and format characters are not.
fn is_printable(c: char) -> bool {
    !(c.is_control()
        || matches!(c as u32,
            0xa0 | 0xad | 0x1680 | 0x2000..=0x200f | 0x2028..=0x202f | 0x205f..=0x2064 | 0x2066..=0x206f
            | 0x3000 | 0xfeff | 0xfff9..=0xfffb | 0xe000..=0xf8ff))
}

/// Prints values as Python's `str()` does: lists and dicts as their repr,
/// floats as Python writes them. Everything else as minijinja does.
pub(super) fn formatter(out: &mut minijinja::Output, state: &State, value: &Value) -> Result<(), Error> {
    // Every byte emitted (raw text too, see bounded.rs) counts against the
    // render's budget; each text is built once, then charged and written.
    let text = match value.kind() {
        ValueKind::Seq | ValueKind::Map => py_repr(value),
        ValueKind::Number if !value.is_integer() => number(value),
        _ => {
            super::bounded::charge(state, value.as_str().map_or_else(|| value.to_string().len(), str::len))?;
            return minijinja::escape_formatter(out, state, value);
        }
    };
    super::bounded::charge(state, text.len())?;
    out.write_str(&text).map_err(Error::from)
}

/// jinja2's `string` filter: Python's `str()`.
pub(super) fn string_filter(value: &Value) -> Value {
    match value.kind() {
        ValueKind::String => value.clone(),
        _ => Value::from(py_str(value)),
    }
}

/// jinja2's `iterable`: whatever `iter()` accepts. `none` and numbers are not;
/// strings are, and so is an undefined value (it iterates as empty).
pub(super) fn is_iterable(v: &Value) -> bool {
    match v.kind() {
        ValueKind::Undefined => true,
        ValueKind::None | ValueKind::Bool | ValueKind::Number => false,
        _ => v.try_iter().is_ok(),
    }
}

/// jinja2's `sequence`: anything with `len()` and `[]`, so strings and dicts too.
pub(super) fn is_sequence(v: &Value) -> bool {
    matches!(v.kind(), ValueKind::Seq | ValueKind::String | ValueKind::Map)
}

/// jinja2's `number`: Python's `bool` is a number too.
pub(super) fn is_number(v: &Value) -> bool {
    matches!(v.kind(), ValueKind::Number | ValueKind::Bool)
}

/// Python methods minijinja-contrib's pycompat lacks, then pycompat's own.
pub(super) fn unknown_method(state: &State, value: &Value, method: &str, args: &[Value]) -> Result<Value, Error> {
    if let Some(s) = value.as_str() {
        if let Some(rv) = string_method(s, method, args)? {
            return Ok(rv);
        }
    }
    if value.kind() == ValueKind::Map && method == "copy" {
        let () = from_args(args)?;
        return Ok(value.clone());
    }
    if value.kind() == ValueKind::Seq && method == "index" {
        let (what,): (&Value,) = from_args(args)?;
        return match value.try_iter()?.position(|x| &x == what) {
            Some(i) => Ok(Value::from(i)),
            None => Err(invalid(format!("{what} is not in list"))),
        };
    }
    minijinja_contrib::pycompat::unknown_method_callback(state, value, method, args)
}

/// Refuses a field width or precision wider than [`MAX_PAD`] in a printf
/// (`%10s`) or `str.format` (`{:>10}`) format string, including widths taken
/// from the arguments (`%*s`, `{:>{}}`): one such field allocates its whole
/// width at once, where fuel cannot see it.
pub(super) fn check_format_widths(fmt: &str, args: &[Value]) -> Result<(), Error> {
    let b = fmt.as_bytes();
    let mut dynamic = false;
    for i in 0..b.len() {
        let spec = match b[i] {
            b'%' => Some(i + 1),
            b'{' => fmt[i..].find('}').and_then(|end| fmt[i..i + end].find(':')).map(|c| i + c + 1),
            _ => None,
        };
        let Some(mut j) = spec else { continue };
        while j < b.len() && !b[j].is_ascii_alphabetic() && !matches!(b[j], b'}' | b'%') {
            if b[j].is_ascii_digit() {
                let start = j;
                while j < b.len() && b[j].is_ascii_digit() {
                    j += 1;
                }
                let n: u64 = fmt[start..j].parse().unwrap_or(u64::MAX);
                if n > MAX_PAD as u64 {
                    return Err(invalid(format!("a format field {n} wide is too large (at most {MAX_PAD})")));
                }
                continue;
            }
            dynamic |= matches!(b[j], b'*' | b'{');
            j += 1;
        }
    }
    if dynamic && args.iter().any(|a| i64::try_from(a.clone()).is_ok_and(|n| n > MAX_PAD)) {
        return Err(invalid(format!("a format field width from the arguments exceeds {MAX_PAD}")));
    }
    Ok(())
}

/// The `format` filter (printf style), with field widths bounded.
pub(super) fn format_filter(state: &State, fmt: &Value, args: minijinja::value::Rest<Value>) -> Result<Value, Error> {
    let f = fmt.as_str().unwrap_or_default();
    check_printf_ascii(f)?;
    check_format_widths(f, &args)?;
    minijinja::filters::format(state, fmt, args)
}

/// minijinja 2.24's printf parser slices its format string by byte counts
/// that assume ASCII inside a `%` conversion, and panics on a multi-byte
/// character there (`'%(%.\u{fffd}f' | format(...)`, found by the
/// chat_template fuzz target). Conversions are ASCII in every real template,
/// so a non-ASCII character between a `%` and its conversion letter is
/// refused here as a template error.
fn check_printf_ascii(fmt: &str) -> Result<(), Error> {
    let refuse = |d: char| {
        Err(Error::new(minijinja::ErrorKind::InvalidOperation, format!("format: non-ASCII character {d:?} inside a % conversion")))
    };
    let mut chars = fmt.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            continue;
        }
        // A mapping key, `%(key)s`, runs to the closing parenthesis.
        if chars.peek() == Some(&'(') {
            for d in chars.by_ref() {
                if !d.is_ascii() {
                    return refuse(d);
                }
                if d == ')' {
                    break;
                }
            }
        }
        for d in chars.by_ref() {
            if !d.is_ascii() {
                return refuse(d);
            }
            if d.is_ascii_alphabetic() || d == '%' {
                break;
            }
        }
    }
    Ok(())
}

/// jinja2's `replace(s, old, new, count=None)` filter, sized first.
pub(super) fn replace_filter(s: &str, old: &str, new: &str, count: Option<i64>) -> Result<Value, Error> {
    let args = [Value::from(old), Value::from(new), Value::from(count)];
    check_string_growth(s, "replace", &args)?;
    Ok(Value::from(match count.filter(|&c| c >= 0) {
        Some(c) => s.replacen(old, new, c as usize),
        None => s.replace(old, new),
    }))
}

/// The `join` filter, sized first; items print as minijinja prints them.
pub(super) fn join_filter(value: &Value, joiner: Option<&str>) -> Result<Value, Error> {
    let joiner = joiner.unwrap_or("");
    check_string_growth(joiner, "join", std::slice::from_ref(value))?;
    let mut out = String::new();
    for (i, item) in value.try_iter()?.enumerate() {
        if i > 0 {
            out.push_str(joiner);
        }
        match item.as_str() {
            Some(s) => out.push_str(s),
            None => out.push_str(&item.to_string()),
        }
    }
    Ok(Value::from(out))
}

/// Bytes `v` prints as.
fn printed_len(v: &Value) -> usize {
    v.as_str().map_or_else(|| v.to_string().len(), str::len)
}

/// Methods whose result can be far larger than their inputs are sized
/// before minijinja-contrib runs them (`None`: go ahead).
fn check_string_growth(s: &str, method: &str, args: &[Value]) -> Result<(), Error> {
    let too_large = |n: usize| invalid(format!("{method}: a result of {n} bytes is too large"));
    match method {
        "replace" => {
            let (old, new, count): (&str, &str, Option<i64>) = from_args(args)?;
            let mut n = if old.is_empty() { s.chars().count() + 1 } else { s.matches(old).count() };
            if let Some(c) = count.filter(|&c| c >= 0) {
                n = n.min(c as usize);
            }
            let len = (s.len() - n * old.len()).saturating_add(n.saturating_mul(new.len()));
            if len > super::MAX_OUTPUT {
                return Err(too_large(len));
            }
        }
        "join" => {
            let (items,): (&Value,) = from_args(args)?;
            let mut len = 0usize;
            for (i, v) in items.try_iter()?.enumerate() {
                len = len.saturating_add(printed_len(&v)).saturating_add(if i > 0 { s.len() } else { 0 });
                if len > super::MAX_OUTPUT {
                    return Err(too_large(len));
                }
            }
        }
        "format" => check_format_widths(s, args)?,
        _ => {}
    }
    Ok(())
}

fn string_method(s: &str, method: &str, args: &[Value]) -> Result<Option<Value>, Error> {
    check_string_growth(s, method, args)?;
    let rv = match method {
        "split" | "rsplit" => {
            // Python: no separator splits on runs of whitespace and drops empty ends.
            let (sep, maxsplit): (Option<Value>, Option<i64>) = from_args(args)?;
            let sep = sep.filter(|v| !v.is_none());
            let max = maxsplit.filter(|m| *m >= 0).map(|m| m as usize);
            let parts: Vec<String> = match sep {
                Some(sep) => {
                    let sep = sep.as_str().ok_or_else(|| invalid("must be str or None"))?;
                    if sep.is_empty() {
                        return Err(invalid("empty separator"));
                    }
                    match (method, max) {
                        (_, None) => s.split(sep).map(str::to_owned).collect(),
                        ("split", Some(m)) => s.splitn(m + 1, sep).map(str::to_owned).collect(),
                        (_, Some(m)) => {
                            let mut v: Vec<String> = s.rsplitn(m + 1, sep).map(str::to_owned).collect();
                            v.reverse();
                            v
                        }
                    }
                }
                None => whitespace_split(s, max, method == "rsplit"),
            };
            Value::from(parts)
        }
        "partition" | "rpartition" => {
            let (sep,): (&str,) = from_args(args)?;
            if sep.is_empty() {
                return Err(invalid("empty separator"));
            }
            let found = if method == "partition" { s.find(sep) } else { s.rfind(sep) };
            let (a, b, c) = match (found, method) {
                (Some(i), _) => (&s[..i], sep, &s[i + sep.len()..]),
                (None, "partition") => (s, "", ""),
                (None, _) => ("", "", s),
            };
            Value::from(vec![Value::from(a), Value::from(b), Value::from(c)])
        }
        "removeprefix" => {
            let (p,): (&str,) = from_args(args)?;
            Value::from(s.strip_prefix(p).unwrap_or(s))
        }
        "removesuffix" => {
            let (p,): (&str,) = from_args(args)?;
            Value::from(s.strip_suffix(p).unwrap_or(s))
        }
        "index" | "rindex" => {
            let (sub,): (&str,) = from_args(args)?;
            let found = if method == "index" { s.find(sub) } else { s.rfind(sub) };
            match found {
                Some(i) => Value::from(s[..i].chars().count()),
                None => return Err(invalid("substring not found")),
            }
        }
        "find" | "rfind" => {
            // Python counts characters, not bytes.
            let (sub,): (&str,) = from_args(args)?;
            let found = if method == "find" { s.find(sub) } else { s.rfind(sub) };
            Value::from(found.map_or(-1, |i| s[..i].chars().count() as i64))
        }
        "zfill" | "ljust" | "rjust" | "center" => {
            let (width, fill): (i64, Option<&str>) = from_args(args)?;
            let len = s.chars().count() as i64;
            // Fuel does not see work inside a method: keep one call small.
            let pad = (width.min(MAX_PAD) - len).max(0) as usize;
            let fill = fill.and_then(|f| f.chars().next()).unwrap_or(if method == "zfill" { '0' } else { ' ' });
            let fills = |n: usize| std::iter::repeat_n(fill, n).collect::<String>();
            Value::from(match method {
                "zfill" => match s.strip_prefix(['-', '+']) {
                    Some(rest) => format!("{}{}{rest}", &s[..1], fills(pad)),
                    None => format!("{}{s}", fills(pad)),
                },
                "ljust" => format!("{s}{}", fills(pad)),
                "rjust" => format!("{}{s}", fills(pad)),
                // Python puts the odd fill character on the left when the width is odd.
                _ => {
                    let left = pad / 2 + (pad & width as usize & 1);
                    format!("{}{s}{}", fills(left), fills(pad - left))
                }
            })
        }
        "splitlines" => {
            let (keepends,): (Option<bool>,) = from_args(args)?;
            if keepends == Some(true) {
                return Ok(None);
            }
            Value::from(splitlines(s).into_iter().map(Value::from).collect::<Vec<_>>())
        }
        "casefold" => {
            let () = from_args(args)?;
            Value::from(s.to_lowercase())
        }
        "swapcase" => {
            let () = from_args(args)?;
            Value::from(
                s.chars()
                    .flat_map(|c| {
                        if c.is_uppercase() {
                            c.to_lowercase().collect::<Vec<_>>()
                        } else {
                            c.to_uppercase().collect::<Vec<_>>()
                        }
                    })
                    .collect::<String>(),
            )
        }
        "isspace" => {
            let () = from_args(args)?;
            Value::from(!s.is_empty() && s.chars().all(char::is_whitespace))
        }
        "istitle" => {
            let () = from_args(args)?;
            Value::from(minijinja::filters::title(s.into()) == s && s.chars().any(char::is_alphabetic))
        }
        _ => return Ok(None),
    };
    Ok(Some(rv))
}

fn whitespace_split(s: &str, max: Option<usize>, from_right: bool) -> Vec<String> {
    let words: Vec<&str> = s.split_whitespace().collect();
    match max {
        Some(m) if m < words.len() => {
            if from_right {
                // The first words.len() - m words stay joined with their original spacing.
                let mut rest = s.trim_end();
                let mut tail = Vec::new();
                for _ in 0..m {
                    let i = rest.rfind(char::is_whitespace).map_or(0, |i| i);
                    let (head, word) = rest.split_at(i);
                    tail.push(word.trim_start().to_owned());
                    rest = head.trim_end();
                }
                let mut out = vec![rest.to_owned()];
                out.extend(tail.into_iter().rev());
                out
            } else {
                let mut rest = s.trim_start();
                let mut out = Vec::new();
                for _ in 0..m {
                    let i = rest.find(char::is_whitespace).unwrap_or(rest.len());
                    out.push(rest[..i].to_owned());
                    rest = rest[i..].trim_start();
                }
                out.push(rest.to_owned());
                out
            }
        }
        _ => words.into_iter().map(str::to_owned).collect(),
    }
}
