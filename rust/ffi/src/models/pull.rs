//! One running pull: the listener the app gave, the handle it holds, and the
//! worker thread that downloads. Same contract as a chat `send`: the call
//! returns at once, events come on a Mote thread, and exactly one of
//! `on_complete` / `on_error` ends it.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::records::{DownloadProgress, ModelError, PullResult};
use crate::error::panic_message;

/// Receives one pull's events, on a Mote worker thread: implementations must
/// be thread-safe and return quickly.
#[uniffi::export(with_foreign)]
pub trait DownloadListener: Send + Sync {
    fn on_progress(&self, progress: DownloadProgress);
    /// Installed and verified; the model's files are in the store.
    fn on_complete(&self, result: PullResult);
    /// Failed, or `Cancelled` (paused: the partial file is kept).
    fn on_error(&self, error: ModelError);
}

/// Controls one pull. Dropping it does not cancel (the wrappers cancel when
/// their collector goes away).
#[derive(uniffi::Object)]
pub struct DownloadHandle {
    cancel: Arc<AtomicBool>,
    finished: Arc<AtomicBool>,
}

#[uniffi::export]
impl DownloadHandle {
    /// Pauses the pull: it ends soon with `on_error(Cancelled)` and keeps its
    /// partial file, so pulling the same model again resumes. Idempotent.
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::SeqCst);
    }

    /// True once the outcome is decided (set just before the terminal callback).
    pub fn is_finished(&self) -> bool {
        self.finished.load(Ordering::SeqCst)
    }
}

/// Progress events closer together than this are dropped (the last one of a
/// pull always arrives as `on_complete`): a 1 GB download reports every
/// 256 KiB chunk, far more than a progress bar can show.
const PROGRESS_INTERVAL: Duration = Duration::from_millis(50);

/// Starts `work` on a worker thread and returns its handle.
pub(crate) fn spawn(
    listener: Arc<dyn DownloadListener>,
    work: impl FnOnce(&AtomicBool, &mut dyn FnMut(mote_models::Progress)) -> Result<PullResult, ModelError> + Send + 'static,
) -> Arc<DownloadHandle> {
    let cancel = Arc::new(AtomicBool::new(false));
    let finished = Arc::new(AtomicBool::new(false));
    let handle = Arc::new(DownloadHandle { cancel: cancel.clone(), finished: finished.clone() });
    let finished_for_worker = finished.clone();
    let listener_for_worker = listener.clone();
    let spawned = std::thread::Builder::new().name("mote-download".into()).spawn(move || {
        let listener = listener_for_worker;
        let mut last: Option<Instant> = None;
        let mut listener_failed = false;
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            work(&cancel, &mut |p| {
                if listener_failed || last.is_some_and(|t| t.elapsed() < PROGRESS_INTERVAL) {
                    return;
                }
                last = Some(Instant::now());
                if let Err(payload) = catch_unwind(AssertUnwindSafe(|| listener.on_progress(p.into()))) {
                    // A throwing listener stops the pull; it has no one left to tell.
                    log::error!("download listener failed: {}", panic_message(payload.as_ref()));
                    listener_failed = true;
                    cancel.store(true, Ordering::SeqCst);
                }
            })
        }));
        let result = outcome.unwrap_or_else(|payload| Err(ModelError::Internal { reason: panic_message(payload.as_ref()) }));
        finish(&finished_for_worker, listener.as_ref(), result);
    });
    if let Err(e) = spawned {
        finish(&finished, listener.as_ref(), Err(ModelError::Internal { reason: format!("cannot start a download thread: {e}") }));
    }
    handle
}

fn finish(finished: &AtomicBool, listener: &dyn DownloadListener, result: Result<PullResult, ModelError>) {
    finished.store(true, Ordering::SeqCst);
    let delivered = catch_unwind(AssertUnwindSafe(|| match result {
        Ok(r) => listener.on_complete(r),
        Err(e) => listener.on_error(e),
    }));
    if let Err(payload) = delivered {
        log::error!("download listener failed on completion: {}", panic_message(payload.as_ref()));
    }
}
