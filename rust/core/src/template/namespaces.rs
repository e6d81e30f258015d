//! Namespaces that hold themselves, freed after each render.
//!
//! `{% set ns.k = [ns] %}` (or through a dict, a `loop`, another namespace)
//! makes a namespace reachable from itself: a reference cycle of `Arc`s that
//! minijinja never frees (it breaks macro-closure cycles, not these). A
//! hostile template therefore leaked memory on every render; the
//! chat_template fuzzer found it. So `namespace()` is wrapped to remember
//! what it creates on this thread, and after the render every attribute of
//! those namespaces that a template can assign is set to `none` again. A
//! template can only assign identifier-named attributes (`ns.k = …`), and a
//! namespace's other entries (constructor arguments) can only point at
//! values older than itself, so every cycle passes through one of them.
//! minijinja's namespace type is private and assignment is its only
//! mutator, hence the generated clean-up template.

use minijinja::value::Value;
use minijinja::{Environment, Error};
use std::cell::RefCell;

thread_local! {
    /// Namespaces created by the render running on this thread.
    static CREATED: RefCell<Vec<Value>> = const { RefCell::new(Vec::new()) };
}

/// `namespace(…)` as minijinja's, remembered for [`release`].
pub(super) fn namespace(defaults: Option<Value>) -> Result<Value, Error> {
    let ns = minijinja::functions::namespace(defaults)?;
    CREATED.with(|c| c.borrow_mut().push(ns.clone()));
    Ok(ns)
}

/// Breaks every cycle through the namespaces created on this thread since
/// the last call (a render, finished or failed).
pub(super) fn release() {
    let spaces = CREATED.with(|c| std::mem::take(&mut *c.borrow_mut()));
    if spaces.is_empty() {
        return;
    }
    let mut src = String::new();
    for (i, ns) in spaces.iter().enumerate() {
        let Ok(keys) = ns.try_iter() else { continue };
        let keys: Vec<String> = keys.filter_map(|k| k.as_str().filter(|k| is_identifier(k)).map(str::to_owned)).collect();
        if keys.is_empty() {
            continue;
        }
        src.push_str(&format!("{{% set n = spaces[{i}] %}}"));
        for k in keys {
            src.push_str(&format!("{{% set n.{k} = none %}}"));
        }
    }
    if src.is_empty() {
        return;
    }
    let env = Environment::new();
    // Every name here was assigned by a template with the same parser, so it parses again.
    if let Err(e) = env.render_str(&src, minijinja::context! { spaces => spaces }) {
        log::warn!("could not release a template's namespaces: {e}");
    }
}

fn is_identifier(k: &str) -> bool {
    let mut chars = k.chars();
    chars.next().is_some_and(|c| c == '_' || c.is_alphabetic()) && chars.all(|c| c == '_' || c.is_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;
    use minijinja::value::Object;
    use std::sync::atomic::{AtomicUsize, Ordering};

    static DROPPED: AtomicUsize = AtomicUsize::new(0);

    #[derive(Debug)]
    struct Probe;
    impl Object for Probe {}
    impl Drop for Probe {
        fn drop(&mut self) {
            DROPPED.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn render_with_probe(src: &str, release_after: bool) {
        let mut env = Environment::new();
        env.add_function("namespace", namespace);
        let probe = Value::from_object(Probe);
        let _ = env.render_str(src, minijinja::context! { probe => probe });
        if release_after {
            release();
        } else {
            CREATED.with(|c| c.borrow_mut().clear());
        }
    }

    #[test]
    fn self_holding_namespaces_are_freed() {
        // The fuzzer's find (a tuple holding the namespace), and cycles through a dict, a list and a second namespace.
        let cycles = [
            "{% set ns = namespace(p=probe) %}{% set ns.s = ns, 'x' %}",
            "{% set ns = namespace(p=probe) %}{% set ns.d = {'me': [ns]} %}",
            "{% set a = namespace(p=probe) %}{% set b = namespace(a=a) %}{% set a.b = b %}",
        ];
        for src in cycles {
            let before = DROPPED.load(Ordering::SeqCst);
            render_with_probe(src, false);
            assert_eq!(DROPPED.load(Ordering::SeqCst), before, "without release the cycle leaks: {src}");
            render_with_probe(src, true);
            assert_eq!(DROPPED.load(Ordering::SeqCst), before + 1, "release frees it: {src}");
        }
    }
}
