//! A loaded model. Cheap to share: sessions keep it alive, so its memory is
//! released only when the engine and all its sessions are gone.

use std::path::Path;
use std::sync::Arc;

use crate::error::{guard, MoteError};
use crate::memory::{Actions, MemoryPolicy, MemoryReport, PressureLevel, ReleaseReport, UnfinishedLoad};
use crate::records::{LoadOptions, ModelInfo};
use crate::session::ChatSession;

#[derive(uniffi::Object)]
pub struct Engine {
    inner: mote_core::Engine,
}

#[uniffi::export]
impl Engine {
    /// Maps and prepares the model. Blocks for as long as loading takes
    /// (hundreds of milliseconds to seconds): never call it on a UI thread.
    /// Fails with `InsufficientMemory` when the model would not fit.
    #[uniffi::constructor]
    pub fn load(path: String, options: LoadOptions) -> Result<Arc<Self>, MoteError> {
        crate::logging::init();
        guard(|| {
            let inner = mote_core::Engine::load(Path::new(&path), options.into())?;
            log::info!("loaded model {path}");
            Ok(Arc::new(Engine { inner }))
        })
    }

    pub fn info(&self) -> Result<ModelInfo, MoteError> {
        guard(|| Ok(self.inner.info().clone().into()))
    }

    /// A new conversation with its own history and KV cache. Sessions of one
    /// engine may be used from different threads at the same time.
    pub fn new_session(&self) -> Result<Arc<ChatSession>, MoteError> {
        guard(|| Ok(ChatSession::new(self.inner.new_session())))
    }

    /// A session continued from a snapshot (`ChatSession.save_snapshot`, or one
    /// the memory policy wrote), e.g. after the OS killed the app.
    pub fn restore_session(&self, path: String) -> Result<Arc<ChatSession>, MoteError> {
        guard(|| Ok(ChatSession::new(self.inner.restore_session(Path::new(&path))?)))
    }

    /// Set when the previous load with the same `state_dir` never finished.
    pub fn unfinished_load(&self) -> Result<Option<UnfinishedLoad>, MoteError> {
        guard(|| Ok(self.inner.unfinished_load().map(Into::into)))
    }

    /// Applies the memory policy's actions for `level`. Returns at once even
    /// while replies are generating: those sessions are released when their
    /// reply ends (`sessions_deferred`).
    pub fn on_memory_pressure(&self, level: PressureLevel) -> Result<ReleaseReport, MoteError> {
        guard(|| Ok(self.inner.on_memory_pressure(level.into()).into()))
    }

    /// `on_memory_pressure` for a `ComponentCallbacks2.onTrimMemory` level;
    /// `None` (nothing done) for levels that ask nothing.
    pub fn on_android_trim_memory(&self, level: i32) -> Result<Option<ReleaseReport>, MoteError> {
        guard(|| {
            Ok(mote_core::memory::PressureLevel::from_android_trim_level(level)
                .map(|l| self.inner.on_memory_pressure(l).into()))
        })
    }

    /// Frees what `actions` name, whatever the policy says.
    pub fn release(&self, actions: Actions) -> Result<ReleaseReport, MoteError> {
        guard(|| Ok(self.inner.release(actions.into()).into()))
    }

    pub fn memory_report(&self) -> Result<MemoryReport, MoteError> {
        guard(|| Ok(self.inner.memory_report().into()))
    }

    pub fn memory_policy(&self) -> Result<MemoryPolicy, MoteError> {
        guard(|| Ok(self.inner.memory_policy().into()))
    }

    pub fn set_memory_policy(&self, policy: MemoryPolicy) -> Result<(), MoteError> {
        guard(|| {
            self.inner.set_memory_policy(policy.into());
            Ok(())
        })
    }

    /// False after a release unmapped the weights; the next call reloads them.
    pub fn is_loaded(&self) -> Result<bool, MoteError> {
        guard(|| Ok(self.inner.is_loaded()))
    }

    pub fn threads(&self) -> Result<u32, MoteError> {
        guard(|| Ok(self.inner.threads() as u32))
    }

    /// Changes the inference threads, e.g. when the device runs hot.
    pub fn set_threads(&self, threads: u32) -> Result<(), MoteError> {
        guard(|| {
            if threads == 0 {
                return Err(MoteError::InvalidArgument { reason: "threads must be at least 1".into() });
            }
            self.inner.set_threads(threads as usize);
            Ok(())
        })
    }
}
