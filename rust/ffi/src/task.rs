//! One running generation: the listener the app gave us, the handle it holds,
//! and the rule that makes cancellation observable.
//!
//! Why a delivery lock: `cancel()` may run on any thread while the worker is
//! inside `on_token`. Taking the lock in `cancel()` waits out that callback, and
//! the worker re-checks the flag under the same lock before each token, so once
//! `cancel()` returns no further token can reach the app.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::ThreadId;

use crate::error::{panic_message, MoteError};
use crate::records::Reply;

/// Receives one generation's output. Called on a Mote worker thread, never
/// the caller's: implementations must be thread-safe and should return quickly.
#[uniffi::export(with_foreign)]
pub trait TokenListener: Send + Sync {
    /// A UTF-8-complete piece of the reply.
    fn on_token(&self, text: String);
    /// The reply finished; it is already in the session's history.
    fn on_complete(&self, reply: Reply);
    /// The generation failed or was cancelled (`MoteError::Cancelled`).
    fn on_error(&self, error: MoteError);
}

pub(crate) struct TaskState {
    pub(crate) cancel: mote_core::CancelToken,
    cancelled: AtomicBool,
    finished: AtomicBool,
    delivery: Mutex<()>,
    worker: OnceLock<ThreadId>,
    /// Set when the app's listener threw; the generation stops and ends with it.
    listener_failure: Mutex<Option<MoteError>>,
    listener: Arc<dyn TokenListener>,
}

impl TaskState {
    pub(crate) fn new(listener: Arc<dyn TokenListener>) -> Arc<Self> {
        Arc::new(TaskState {
            cancel: mote_core::CancelToken::default(),
            cancelled: AtomicBool::new(false),
            finished: AtomicBool::new(false),
            delivery: Mutex::new(()),
            worker: OnceLock::new(),
            listener_failure: Mutex::new(None),
            listener,
        })
    }

    /// Called first thing on the worker thread.
    pub(crate) fn bind_worker(&self) {
        let _ = self.worker.set(std::thread::current().id());
    }

    fn request_cancel(&self) {
        self.cancelled.store(true, Ordering::SeqCst);
        self.cancel.cancel();
        // A listener that cancels from inside its own on_token already holds the
        // delivery lock on this thread; waiting for it would deadlock.
        if self.worker.get() != Some(&std::thread::current().id()) {
            drop(self.delivery.lock().unwrap_or_else(|p| p.into_inner()));
        }
    }

    /// Forwards a token unless cancellation was requested. A panic or foreign
    /// exception from the listener stops the generation instead of unwinding.
    pub(crate) fn deliver_token(&self, text: &str) {
        let _held = self.delivery.lock().unwrap_or_else(|p| p.into_inner());
        let mut failure = self.listener_failure.lock().unwrap_or_else(|p| p.into_inner());
        if self.cancelled.load(Ordering::SeqCst) || failure.is_some() {
            return;
        }
        let listener = &self.listener;
        if let Err(payload) = catch_unwind(AssertUnwindSafe(|| listener.on_token(text.to_owned()))) {
            let reason = format!("token listener failed: {}", panic_message(payload.as_ref()));
            log::error!("{reason}");
            *failure = Some(MoteError::Internal { reason });
            self.cancel.cancel();
        }
    }

    /// Delivers the single terminal callback. A cancel() that returned before
    /// this point wins over a reply that happened to finish at the same time,
    /// so a cancelled send always ends in `Cancelled`.
    pub(crate) fn finish(&self, result: Result<Reply, MoteError>) {
        let failure = self.listener_failure.lock().unwrap_or_else(|p| p.into_inner()).take();
        let result = match (failure, result) {
            (Some(failure), _) => Err(failure),
            (None, Ok(_)) if self.cancelled.load(Ordering::SeqCst) => Err(MoteError::Cancelled),
            (None, other) => other,
        };
        // Set before the callback so code inside on_complete/on_error already
        // sees the task as finished.
        self.finished.store(true, Ordering::SeqCst);
        let listener = &self.listener;
        let outcome = catch_unwind(AssertUnwindSafe(|| match result {
            Ok(reply) => listener.on_complete(reply),
            Err(error) => listener.on_error(error),
        }));
        if let Err(payload) = outcome {
            log::error!("listener failed on completion: {}", panic_message(payload.as_ref()));
        }
    }
}

/// Controls one `ChatSession.send`. Dropping it does not cancel: the reply
/// still lands in the history (Kotlin/Swift wrappers cancel on collector exit).
#[derive(uniffi::Object)]
pub struct TaskHandle {
    state: Arc<TaskState>,
}

impl TaskHandle {
    pub(crate) fn new(state: Arc<TaskState>) -> Arc<Self> {
        Arc::new(TaskHandle { state })
    }
}

#[uniffi::export]
impl TaskHandle {
    /// Requests cancellation and waits for an in-flight `on_token` to return.
    /// After this returns, no `on_token` follows; the terminal callback is
    /// `on_error(Cancelled)` unless it had already been delivered. Idempotent.
    pub fn cancel(&self) {
        let state = &self.state;
        if let Err(payload) = catch_unwind(AssertUnwindSafe(|| state.request_cancel())) {
            log::error!("cancel failed: {}", panic_message(payload.as_ref()));
        }
    }

    /// True once the outcome is decided: set just before `on_complete` /
    /// `on_error` is called, so it is already true inside those callbacks.
    pub fn is_finished(&self) -> bool {
        self.state.finished.load(Ordering::SeqCst)
    }
}
