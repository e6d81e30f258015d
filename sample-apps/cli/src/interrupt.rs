//! One Ctrl-C handler for the process (the `ctrlc` crate allows only one),
//! whose action each command replaces: a pull pauses its download, a chat
//! stops its reply.

use std::sync::{Mutex, OnceLock};

type Action = Box<dyn Fn() + Send>;

fn slot() -> &'static Mutex<Option<Action>> {
    static SLOT: OnceLock<Mutex<Option<Action>>> = OnceLock::new();
    SLOT.get_or_init(|| Mutex::new(None))
}

/// Makes `f` what Ctrl-C does from now on.
pub fn on_ctrl_c(f: impl Fn() + Send + 'static) -> Result<(), ctrlc::Error> {
    static INSTALLED: OnceLock<Result<(), String>> = OnceLock::new();
    *slot().lock().unwrap_or_else(|e| e.into_inner()) = Some(Box::new(f));
    let installed = INSTALLED.get_or_init(|| {
        ctrlc::set_handler(|| {
            if let Some(f) = slot().lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
                f()
            }
        })
        .map_err(|e| e.to_string())
    });
    installed.clone().map_err(|e| ctrlc::Error::System(std::io::Error::other(e)))
}
