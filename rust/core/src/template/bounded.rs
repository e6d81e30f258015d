//! Rendering under a memory budget, not only a fuel budget.
//!
//! Fuel counts instructions, but one `~`, `+` or `*` can double a string, so
//! a loop of 31 steps (`{% set ns.s = ns.s ~ ns.s %}`, or a macro recursing on
//! `s ~ s`) allocates gigabytes and aborts the process (issue 12). minijinja
//! offers no hook on those operators, so the template is parsed with its
//! parser and its syntax tree copied with two changes before compiling it with
//! its code generator and running it on its VM:
//! - `a ~ b`, `a + b` and `a * b` become calls to functions of ours (named so
//!   no template can call or shadow them) that size the result first, count
//!   every byte they build against a per-render budget, then let minijinja
//!   compute it exactly as it would have;
//! - raw template text is emitted as a constant expression, so every byte of
//!   output passes the formatter, which counts it too.
//! With the bounded filters and methods of `pycompat`, no single step and no
//! sequence of steps can build more than [`BUILD_BUDGET`] bytes of strings.

use minijinja::machinery::ast::{self, CallArg, Expr, Spanned, Stmt};
use minijinja::machinery::{parse, CodeGenerator, Span, Vm, WhitespaceConfig};
use minijinja::syntax::SyntaxConfig;
use minijinja::value::{Object, Value, ValueKind};
use minijinja::{AutoEscape, Environment, Error, ErrorKind, State};

use std::sync::atomic::{AtomicUsize, Ordering};

/// Largest string or list one operation may produce.
pub(super) const MAX_VALUE_BYTES: usize = 4 << 20;
/// Bytes of strings (and list items, at 16 bytes each) one render may build
/// with `~`, `+` and `*`, plus the bytes it emits (captured output included).
pub(super) const BUILD_BUDGET: usize = 64 << 20;

const CONCAT: &str = "mote ~";
const ADD: &str = "mote +";
const MUL: &str = "mote *";
const SLICE: &str = "mote [::]";

/// Registers the operator functions on `env`.
pub(super) fn install(env: &mut Environment<'static>) {
    env.add_function(CONCAT, |s: &State, a: Value, b: Value| op(s, "~", a, b));
    env.add_function(ADD, |s: &State, a: Value, b: Value| op(s, "+", a, b));
    env.add_function(MUL, |s: &State, a: Value, b: Value| op(s, "*", a, b));
    env.add_function(SLICE, slice);
    env.add_function("namespace", super::namespaces::namespace);
}

/// Renders `source` (already checked by `Environment::add_template`) with `root` as context.
pub(super) fn render(env: &Environment<'static>, name: &str, source: &str, root: Value) -> Result<String, Error> {
    let ws = WhitespaceConfig { keep_trailing_newline: false, lstrip_blocks: true, trim_blocks: true };
    let tree = parse(source, name, SyntaxConfig::default(), ws)?;
    let tree = stmt(&tree);
    let mut gen = CodeGenerator::new(name, source);
    gen.compile_stmt(&tree);
    let (instructions, blocks) = gen.finish();
    let mut out = String::new();
    let vm = Vm::new(env);
    // A panic inside minijinja (none known once slices with a step are ours)
    // is the template's failure, not the app's.
    let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        vm.eval(&instructions, root, &blocks, &mut minijinja::machinery::make_string_output(&mut out), AutoEscape::None)
    }));
    super::namespaces::release();
    match run {
        Ok(r) => r.map(drop)?,
        Err(_) => return Err(Error::new(ErrorKind::InvalidOperation, "the template engine failed on this template")),
    }
    Ok(out)
}

/// The per-render count, kept in the render's temps where templates cannot reach it.
#[derive(Debug, Default)]
struct Built(AtomicUsize);

impl Object for Built {}

/// Charges `bytes` to this render's budget.
pub(super) fn charge(state: &State, bytes: usize) -> Result<(), Error> {
    let built = state.get_or_set_temp_object("mote_built_bytes", Built::default);
    let total = built.0.fetch_add(bytes, Ordering::Relaxed).saturating_add(bytes);
    if total > BUILD_BUDGET {
        return Err(Error::new(ErrorKind::InvalidOperation, format!("template built more than {BUILD_BUDGET} bytes")));
    }
    Ok(())
}

/// What `a <op> b` would produce, in bytes (list items count 16): sized from
/// the operands before anything is built.
fn result_size(op: &str, a: &Value, b: &Value) -> usize {
    let len = |v: &Value| match v.kind() {
        ValueKind::String => v.as_str().map_or(0, str::len),
        ValueKind::Seq => v.len().unwrap_or(0).saturating_mul(16),
        _ => v.to_string().len(),
    };
    match op {
        "*" => {
            let (seq, n) = match (a.kind(), b.kind()) {
                (ValueKind::String | ValueKind::Seq, _) => (a, b),
                _ => (b, a),
            };
            if !matches!(seq.kind(), ValueKind::String | ValueKind::Seq) {
                return 16; // numbers
            }
            len(seq).saturating_mul(i64::try_from(n.clone()).map_or(0, |n| n.max(0) as usize))
        }
        "+" if !matches!(a.kind(), ValueKind::String | ValueKind::Seq) => 16,
        _ => len(a).saturating_add(len(b)),
    }
}

/// Items of a sequence operand, at most `limit` of them (`None` past it).
fn items(v: &Value, limit: usize) -> Result<Option<Vec<Value>>, Error> {
    let mut out = Vec::new();
    for item in v.try_iter()? {
        if out.len() == limit {
            return Ok(None);
        }
        out.push(item);
    }
    Ok(Some(out))
}

fn is_seq(v: &Value) -> bool {
    matches!(v.kind(), ValueKind::Seq | ValueKind::Iterable)
}

/// `+` and `*` on sequences, built here as plain lists: minijinja's own are
/// lazy views whose length nothing checks, and nesting them doubles it.
fn seq_op(state: &State, op: &str, a: &Value, b: &Value) -> Result<Option<Value>, Error> {
    const MAX_ITEMS: usize = MAX_VALUE_BYTES / 16;
    let too_many = || Error::new(ErrorKind::InvalidOperation, format!("`{op}` would build a list of more than {MAX_ITEMS} items"));
    let list = match (op, is_seq(a), is_seq(b)) {
        ("+", true, true) => {
            let mut l = items(a, MAX_ITEMS)?.ok_or_else(too_many)?;
            let r = items(b, MAX_ITEMS - l.len())?.ok_or_else(too_many)?;
            l.extend(r);
            l
        }
        ("*", true, false) | ("*", false, true) => {
            let (seq, n) = if is_seq(a) { (a, b) } else { (b, a) };
            let Ok(n) = i64::try_from(n.clone()) else { return Ok(None) };
            let one = items(seq, MAX_ITEMS)?.ok_or_else(too_many)?;
            let n = n.max(0) as usize;
            if one.len().saturating_mul(n) > MAX_ITEMS {
                return Err(too_many());
            }
            one.iter().cycle().take(one.len() * n).cloned().collect()
        }
        _ => return Ok(None),
    };
    charge(state, list.len() * 16)?;
    Ok(Some(Value::from(list)))
}

fn op(state: &State, op: &str, a: Value, b: Value) -> Result<Value, Error> {
    if let Some(v) = seq_op(state, op, &a, &b)? {
        return Ok(v);
    }
    let size = result_size(op, &a, &b);
    if size > MAX_VALUE_BYTES {
        return Err(Error::new(ErrorKind::InvalidOperation, format!("`{op}` would build {size} bytes (at most {MAX_VALUE_BYTES})")));
    }
    charge(state, size)?;
    // Two strings joined by `~` or `+`, what chat templates do on every
    // message, need no parse of an expression per operation.
    if let (Some(x), Some(y), "~" | "+") = (a.as_str(), b.as_str(), op) {
        return Ok(Value::from([x, y].concat()));
    }
    // Anything else: minijinja's own operator, on the checked operands, so results are exactly its own.
    let expr = state.env().compile_expression(match op {
        "~" => "a ~ b",
        "+" => "a + b",
        _ => "a * b",
    })?;
    expr.eval(minijinja::context! { a => a, b => b })
}

/// Python's `x[start:stop:step]` for a step given: minijinja 2.24 panics on a
/// negative step over an empty value and on `stop` past `start`.
fn slice(value: Value, start: Option<i64>, stop: Option<i64>, step: Option<i64>) -> Result<Value, Error> {
    let step = step.unwrap_or(1);
    if step == 0 {
        return Err(Error::new(ErrorKind::InvalidOperation, "slice step cannot be zero"));
    }
    let items: Vec<Value> = match value.as_str() {
        Some(s) => s.chars().map(|c| Value::from(c.to_string())).collect(),
        None => value.try_iter()?.collect(),
    };
    let len = items.len() as i64;
    let (lo, hi) = if step > 0 { (0, len) } else { (-1, len - 1) };
    let clamp = |i: Option<i64>, default: i64| match i {
        None => default,
        Some(i) if i < 0 => (i + len).max(lo),
        Some(i) => i.min(hi),
    };
    let (first, end) = if step > 0 { (clamp(start, 0), clamp(stop, len)) } else { (clamp(start, len - 1), clamp(stop, -1)) };
    let mut picked = Vec::new();
    let mut i = first;
    while (step > 0 && i < end) || (step < 0 && i > end) {
        picked.push(items[i as usize].clone());
        i += step;
    }
    Ok(match value.as_str() {
        Some(_) => Value::from(picked.iter().filter_map(|v| v.as_str()).collect::<String>()),
        None => Value::from(picked),
    })
}

fn call<'a>(name: &'static str, args: Vec<Expr<'a>>, span: Span) -> Expr<'a> {
    let f = Expr::Var(Spanned::new(ast::Var { id: name }, span));
    Expr::Call(Spanned::new(ast::Call { expr: f, args: args.into_iter().map(CallArg::Pos).collect() }, span))
}

fn exprs<'a>(v: &[Expr<'a>]) -> Vec<Expr<'a>> {
    v.iter().map(expr).collect()
}

fn opt<'a>(e: &Option<Expr<'a>>) -> Option<Expr<'a>> {
    e.as_ref().map(expr)
}

fn args<'a>(v: &[CallArg<'a>]) -> Vec<CallArg<'a>> {
    v.iter()
        .map(|a| match a {
            CallArg::Pos(e) => CallArg::Pos(expr(e)),
            CallArg::Kwarg(k, e) => CallArg::Kwarg(k, expr(e)),
            CallArg::PosSplat(e) => CallArg::PosSplat(expr(e)),
            CallArg::KwargSplat(e) => CallArg::KwargSplat(expr(e)),
        })
        .collect()
}

fn body<'a>(v: &[Stmt<'a>]) -> Vec<Stmt<'a>> {
    v.iter().map(stmt).collect()
}

fn spanned<T>(s: &Spanned<T>, f: impl FnOnce(&T) -> T) -> Spanned<T> {
    Spanned::new(f(s), s.span())
}

fn a_call<'a>(c: &Spanned<ast::Call<'a>>) -> Spanned<ast::Call<'a>> {
    spanned(c, |c| ast::Call { expr: expr(&c.expr), args: args(&c.args) })
}

fn a_macro<'a>(m: &Spanned<ast::Macro<'a>>) -> Spanned<ast::Macro<'a>> {
    spanned(m, |m| ast::Macro { name: m.name, args: exprs(&m.args), defaults: exprs(&m.defaults), body: body(&m.body) })
}

fn expr<'a>(e: &Expr<'a>) -> Expr<'a> {
    use ast::BinOpKind as K;
    match e {
        Expr::BinOp(b) if matches!(b.op, K::Concat | K::Add | K::Mul) => {
            let name = match b.op {
                K::Concat => CONCAT,
                K::Add => ADD,
                _ => MUL,
            };
            call(name, vec![expr(&b.left), expr(&b.right)], b.span())
        }
        Expr::BinOp(b) => Expr::BinOp(spanned(b, |b| ast::BinOp { op: b.op, left: expr(&b.left), right: expr(&b.right) })),
        Expr::Var(v) => Expr::Var(spanned(v, |v| ast::Var { id: v.id })),
        Expr::Const(c) => Expr::Const(spanned(c, |c| ast::Const { value: c.value.clone() })),
        Expr::Slice(s) if s.step.is_some() => {
            let none = || Expr::Const(Spanned::new(ast::Const { value: Value::from(()) }, s.span()));
            let arg = |e: &Option<Expr<'a>>| opt(e).unwrap_or_else(none);
            call(SLICE, vec![expr(&s.expr), arg(&s.start), arg(&s.stop), arg(&s.step)], s.span())
        }
        Expr::Slice(s) => Expr::Slice(spanned(s, |s| ast::Slice {
            expr: expr(&s.expr),
            start: opt(&s.start),
            stop: opt(&s.stop),
            step: opt(&s.step),
        })),
        Expr::UnaryOp(u) => Expr::UnaryOp(spanned(u, |u| ast::UnaryOp {
            op: match u.op {
                ast::UnaryOpKind::Not => ast::UnaryOpKind::Not,
                ast::UnaryOpKind::Neg => ast::UnaryOpKind::Neg,
            },
            expr: expr(&u.expr),
        })),
        Expr::Compare(c) => Expr::Compare(spanned(c, |c| ast::Compare {
            expr: expr(&c.expr),
            ops: c.ops.iter().map(|o| ast::CompareOp { op: o.op, expr: expr(&o.expr) }).collect(),
        })),
        Expr::IfExpr(i) => Expr::IfExpr(spanned(i, |i| ast::IfExpr {
            test_expr: expr(&i.test_expr),
            true_expr: expr(&i.true_expr),
            false_expr: opt(&i.false_expr),
        })),
        Expr::Filter(f) => {
            Expr::Filter(spanned(f, |f| ast::Filter { name: f.name, expr: opt(&f.expr), args: args(&f.args) }))
        }
        Expr::Test(t) => Expr::Test(spanned(t, |t| ast::Test { name: t.name, expr: expr(&t.expr), args: args(&t.args) })),
        Expr::GetAttr(g) => Expr::GetAttr(spanned(g, |g| ast::GetAttr { expr: expr(&g.expr), name: g.name })),
        Expr::GetItem(g) => {
            Expr::GetItem(spanned(g, |g| ast::GetItem { expr: expr(&g.expr), subscript_expr: expr(&g.subscript_expr) }))
        }
        Expr::Call(c) => Expr::Call(a_call(c)),
        Expr::List(l) => Expr::List(spanned(l, |l| ast::List { items: exprs(&l.items) })),
        Expr::Map(m) => Expr::Map(spanned(m, |m| ast::Map { keys: exprs(&m.keys), values: exprs(&m.values) })),
    }
}

fn stmt<'a>(s: &Stmt<'a>) -> Stmt<'a> {
    match s {
        Stmt::Template(t) => Stmt::Template(spanned(t, |t| ast::Template { children: body(&t.children) })),
        Stmt::EmitExpr(e) => Stmt::EmitExpr(spanned(e, |e| ast::EmitExpr { expr: expr(&e.expr) })),
        // Through the formatter, which counts it.
        Stmt::EmitRaw(r) => Stmt::EmitExpr(Spanned::new(
            ast::EmitExpr { expr: Expr::Const(Spanned::new(ast::Const { value: Value::from(r.raw) }, r.span())) },
            r.span(),
        )),
        Stmt::ForLoop(f) => Stmt::ForLoop(spanned(f, |f| ast::ForLoop {
            target: expr(&f.target),
            iter: expr(&f.iter),
            filter_expr: opt(&f.filter_expr),
            recursive: f.recursive,
            body: body(&f.body),
            else_body: body(&f.else_body),
        })),
        Stmt::IfCond(i) => Stmt::IfCond(spanned(i, |i| ast::IfCond {
            expr: expr(&i.expr),
            true_body: body(&i.true_body),
            false_body: body(&i.false_body),
        })),
        Stmt::WithBlock(w) => Stmt::WithBlock(spanned(w, |w| ast::WithBlock {
            assignments: w.assignments.iter().map(|(t, e)| (expr(t), expr(e))).collect(),
            body: body(&w.body),
        })),
        Stmt::Set(x) => Stmt::Set(spanned(x, |x| ast::Set { target: expr(&x.target), expr: expr(&x.expr) })),
        Stmt::SetBlock(x) => Stmt::SetBlock(spanned(x, |x| ast::SetBlock {
            target: expr(&x.target),
            filter: opt(&x.filter),
            body: body(&x.body),
        })),
        Stmt::AutoEscape(a) => {
            Stmt::AutoEscape(spanned(a, |a| ast::AutoEscape { enabled: expr(&a.enabled), body: body(&a.body) }))
        }
        Stmt::FilterBlock(f) => {
            Stmt::FilterBlock(spanned(f, |f| ast::FilterBlock { filter: expr(&f.filter), body: body(&f.body) }))
        }
        Stmt::Block(b) => Stmt::Block(spanned(b, |b| ast::Block { name: b.name, required: b.required, body: body(&b.body) })),
        Stmt::Import(i) => Stmt::Import(spanned(i, |i| ast::Import { expr: expr(&i.expr), name: expr(&i.name) })),
        Stmt::FromImport(i) => Stmt::FromImport(spanned(i, |i| ast::FromImport {
            expr: expr(&i.expr),
            names: i.names.iter().map(|(n, a)| (expr(n), opt(a))).collect(),
        })),
        Stmt::Extends(e) => Stmt::Extends(spanned(e, |e| ast::Extends { name: expr(&e.name) })),
        Stmt::Include(i) => {
            Stmt::Include(spanned(i, |i| ast::Include { name: expr(&i.name), ignore_missing: i.ignore_missing }))
        }
        Stmt::Macro(m) => Stmt::Macro(a_macro(m)),
        Stmt::CallBlock(c) => {
            Stmt::CallBlock(spanned(c, |c| ast::CallBlock { call: a_call(&c.call), macro_decl: a_macro(&c.macro_decl) }))
        }
        Stmt::Continue(c) => Stmt::Continue(spanned(c, |_| ast::Continue)),
        Stmt::Break(b) => Stmt::Break(spanned(b, |_| ast::Break)),
        Stmt::Do(d) => Stmt::Do(spanned(d, |d| ast::Do { call: a_call(&d.call) })),
    }
}
