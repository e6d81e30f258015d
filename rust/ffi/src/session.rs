//! A conversation, and the worker thread that runs each reply.
//!
//! Generation runs on a dedicated Rust thread rather than on the app's async
//! runtime: a reply is seconds of CPU-bound work that would starve Kotlin's
//! Dispatchers or Swift's cooperative pool.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::error::{guard, panic_message, MoteError};
use crate::records::{ChatMessage, GenerationConfig};
use crate::task::{TaskHandle, TaskState, TokenListener};

/// Deep enough for the model's forward pass; the default for spawned threads is 2 MiB.
const WORKER_STACK_BYTES: usize = 8 << 20;

#[derive(uniffi::Object)]
pub struct ChatSession {
    core: Arc<mote_core::Session>,
    /// Claimed by `send` before spawning and released by the worker before the
    /// terminal callback. The core detects Busy too, but only once the worker
    /// runs; this flag makes the answer synchronous and lets the app send
    /// again from inside on_complete.
    busy: Arc<AtomicBool>,
}

impl ChatSession {
    pub(crate) fn new(session: mote_core::Session) -> Arc<Self> {
        Arc::new(ChatSession { core: Arc::new(session), busy: Arc::new(AtomicBool::new(false)) })
    }

    fn idle(&self) -> Result<&mote_core::Session, MoteError> {
        if self.busy.load(Ordering::SeqCst) {
            return Err(MoteError::Busy);
        }
        Ok(&self.core)
    }
}

#[uniffi::export]
impl ChatSession {
    /// Starts generating the reply to `message` and returns at once. Results
    /// arrive on `listener` from a worker thread: tokens, then exactly one of
    /// `on_complete` / `on_error`. A session that is already generating gets
    /// `on_error(Busy)` synchronously, before `send` returns.
    pub fn send(
        &self,
        message: String,
        config: GenerationConfig,
        listener: Arc<dyn TokenListener>,
    ) -> Arc<TaskHandle> {
        let task = TaskState::new(listener);
        let handle = TaskHandle::new(task.clone());
        if self.busy.swap(true, Ordering::SeqCst) {
            task.finish(Err(MoteError::Busy));
            return handle;
        }
        let (core, busy) = (self.core.clone(), self.busy.clone());
        let worker_task = task.clone();
        let spawned = std::thread::Builder::new()
            .name("mote-generate".into())
            .stack_size(WORKER_STACK_BYTES)
            .spawn(move || {
                let task = worker_task;
                task.bind_worker();
                let result = catch_unwind(AssertUnwindSafe(|| {
                    let config = config.into();
                    let mut on_token = |piece: &str| task.deliver_token(piece);
                    core.send(&message, &config, &task.cancel, &mut on_token)
                        .map(Into::into)
                        .map_err(MoteError::from)
                }))
                .unwrap_or_else(|p| {
                    let reason = panic_message(p.as_ref());
                    log::error!("{reason}");
                    Err(MoteError::Internal { reason })
                });
                // Let go of the session (and through it the engine) before the app
                // hears the outcome: an app that releases its last reference in
                // on_complete must get the model's memory back at once.
                drop(core);
                busy.store(false, Ordering::SeqCst);
                task.finish(result);
            });
        if let Err(e) = spawned {
            self.busy.store(false, Ordering::SeqCst);
            task.finish(Err(MoteError::Internal { reason: format!("cannot start worker thread: {e}") }));
        }
        handle
    }

    /// Replaces the system prompt (None removes it). `Busy` while generating.
    pub fn set_system_prompt(&self, prompt: Option<String>) -> Result<(), MoteError> {
        guard(|| Ok(self.idle()?.set_system_prompt(prompt)?))
    }

    /// Forgets the conversation (keeps the system prompt). `Busy` while generating.
    pub fn reset(&self) -> Result<(), MoteError> {
        guard(|| Ok(self.idle()?.reset()?))
    }

    /// The conversation so far, without the system prompt. While a reply is
    /// being generated this is the history from before that turn; it never blocks.
    pub fn history(&self) -> Result<Vec<ChatMessage>, MoteError> {
        guard(|| Ok(self.core.history().into_iter().map(Into::into).collect()))
    }

    /// True while a reply is being generated.
    pub fn is_generating(&self) -> bool {
        self.busy.load(Ordering::SeqCst)
    }

    /// Writes the conversation, its tokens and KV cache to `path`, for
    /// `Engine.restore_session` in this or a later process. `Busy` while generating.
    pub fn save_snapshot(&self, path: String) -> Result<(), MoteError> {
        guard(|| Ok(self.idle()?.save_snapshot(std::path::Path::new(&path))?))
    }

    /// Whether the KV cache is in memory; false after a release dropped it
    /// (the next turn restores it from the snapshot or re-prefills).
    pub fn has_kv_cache(&self) -> Result<bool, MoteError> {
        guard(|| Ok(self.idle()?.has_kv_cache()))
    }

    /// Tokens whose keys and values are cached, in memory or in a snapshot.
    pub fn cached_tokens(&self) -> Result<u64, MoteError> {
        guard(|| Ok(self.idle()?.cached_tokens() as u64))
    }
}
