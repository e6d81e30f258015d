//! A conversation, and the worker thread that runs each reply.
//!
//! Generation runs on a dedicated Rust thread rather than on the app's async
//! runtime: a reply is seconds of CPU-bound work that would starve Kotlin's
//! Dispatchers or Swift's cooperative pool.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use crate::error::{guard, panic_message, MoteError};
use crate::records::{ChatMessage, ContextPolicy, ContextStatus, GenerationConfig};
use crate::task::{TaskHandle, TaskState, TokenListener};

/// Deep enough for the model's forward pass; the default for spawned threads is 2 MiB.
const WORKER_STACK_BYTES: usize = 8 << 20;

/// Whether a session is busy is decided by the core session's state machine
/// alone: this layer keeps no flag of its own.
#[derive(uniffi::Object)]
pub struct ChatSession {
    core: Arc<mote_core::Session>,
}

impl ChatSession {
    pub(crate) fn new(session: mote_core::Session) -> Arc<Self> {
        Arc::new(ChatSession { core: Arc::new(session) })
    }
}

#[uniffi::export]
impl ChatSession {
    /// Starts generating the reply to `message` and returns at once. Results
    /// arrive on `listener` from a worker thread: tokens, then exactly one of
    /// `on_complete` / `on_error`. A session already generating a reply that
    /// was not cancelled answers `on_error(Busy)` synchronously, before `send`
    /// returns; one winding down from a cancel, or being released under memory
    /// pressure, is waited for on the worker thread.
    /// When the terminal callback runs, the session is idle again.
    pub fn send(
        &self,
        message: String,
        config: GenerationConfig,
        listener: Arc<dyn TokenListener>,
    ) -> Arc<TaskHandle> {
        let task = TaskState::new(listener);
        let handle = TaskHandle::new(task.clone());
        // Claimed here, on the caller's thread: Busy is answered before send
        // returns, and of two racing sends the first caller wins.
        let ticket = match guard(|| Ok(self.core.begin_send(&task.cancel)?)) {
            Ok(t) => t,
            Err(e) => {
                task.finish(Err(e));
                return handle;
            }
        };
        let worker_task = task.clone();
        let spawned = std::thread::Builder::new()
            .name("mote-generate".into())
            .stack_size(WORKER_STACK_BYTES)
            .spawn(move || {
                let task = worker_task;
                task.bind_worker();
                let result = catch_unwind(AssertUnwindSafe(|| {
                    let config = config.try_into()?;
                    let mut on_token = |piece: &str| task.deliver_token(piece);
                    ticket.run(&message, &config, &mut on_token).map(Into::into).map_err(MoteError::from)
                }))
                .unwrap_or_else(|p| {
                    let reason = panic_message(p.as_ref());
                    log::error!("{reason}");
                    Err(MoteError::Internal { reason })
                });
                // The ticket, and with it the session and engine, is gone by
                // now: an app that releases its last reference in on_complete
                // gets the model's memory back at once.
                task.finish(result);
            });
        if let Err(e) = spawned {
            task.finish(Err(MoteError::Internal { reason: format!("cannot start worker thread: {e}") }));
        }
        handle
    }

    /// Replaces the system prompt (None removes it). `Busy` while generating.
    pub fn set_system_prompt(&self, prompt: Option<String>) -> Result<(), MoteError> {
        guard(|| Ok(self.core.set_system_prompt(prompt)?))
    }

    /// Forgets the conversation (keeps the system prompt) and deletes the
    /// session's own snapshot. `Busy` while generating.
    pub fn reset(&self) -> Result<(), MoteError> {
        guard(|| Ok(self.core.reset()?))
    }

    /// The conversation so far, without the system prompt. While a reply is
    /// being generated this is the history from before that turn; it never blocks.
    pub fn history(&self) -> Result<Vec<ChatMessage>, MoteError> {
        guard(|| Ok(self.core.history().into_iter().map(Into::into).collect()))
    }

    /// Removes history message `index` (0 = the first after the system prompt). `Busy` while generating.
    pub fn remove_message(&self, index: i64) -> Result<(), MoteError> {
        guard(|| Ok(self.core.remove_message(crate::records::count(index, "index")?)?))
    }

    /// Replaces history message `index`. `Busy` while generating.
    pub fn replace_message(&self, index: i64, message: ChatMessage) -> Result<(), MoteError> {
        guard(|| Ok(self.core.replace_message(crate::records::count(index, "index")?, message.into())?))
    }

    /// Keeps the first `len` history messages. `Busy` while generating.
    pub fn truncate_history(&self, len: i64) -> Result<(), MoteError> {
        guard(|| Ok(self.core.truncate_history(crate::records::count(len, "len")?)?))
    }

    /// How much of the context the conversation takes (as of the last completed call).
    pub fn context_status(&self) -> Result<ContextStatus, MoteError> {
        guard(|| Ok(self.core.context_status().into()))
    }

    pub fn context_policy(&self) -> Result<ContextPolicy, MoteError> {
        guard(|| Ok(self.core.context_policy().into()))
    }

    /// What to do when the conversation outgrows the context. `Busy` while generating.
    pub fn set_context_policy(&self, policy: ContextPolicy) -> Result<(), MoteError> {
        guard(|| Ok(self.core.set_context_policy(policy.into())?))
    }

    /// True while a reply is being generated.
    pub fn is_generating(&self) -> bool {
        crate::error::guard_or(false, || self.core.phase() == mote_core::Phase::Generating)
    }

    /// Writes the conversation, its tokens and KV cache to `path`, for
    /// `Engine.restore_session` in this or a later process. The file is the
    /// app's to keep or delete. `Busy` while generating.
    pub fn save_snapshot(&self, path: String) -> Result<(), MoteError> {
        guard(|| Ok(self.core.save_snapshot(std::path::Path::new(&path))?))
    }

    /// The snapshot a memory release wrote for this session, if any. Deleted
    /// by `reset` and when the session is closed; pass it to
    /// `Engine.restore_session` after the app was killed.
    pub fn snapshot_path(&self) -> Option<String> {
        crate::error::guard_or(None, || self.core.snapshot_path().map(|p| p.display().to_string()))
    }

    /// Whether the KV cache is in memory; false after a release dropped it
    /// (the next turn restores it from the snapshot or re-prefills).
    pub fn has_kv_cache(&self) -> Result<bool, MoteError> {
        guard(|| Ok(self.core.has_kv_cache()))
    }

    /// Tokens whose keys and values are cached, in memory or in a snapshot.
    pub fn cached_tokens(&self) -> Result<i64, MoteError> {
        guard(|| Ok(crate::records::to_i64(self.core.cached_tokens())))
    }
}
