//! A loaded model. Cheap to share: sessions keep it alive, so its memory is
//! released only when the engine and all its sessions are gone.

use std::path::Path;
use std::sync::{Arc, Mutex};

use crate::error::{guard, MoteError};
use crate::memory::{Actions, MemoryPolicy, MemoryReport, PressureLevel, ReleaseReport, UnfinishedLoad};
use crate::energy::ThermalState;
use crate::records::{ChatMessage, LoadOptions, ModelInfo};
use crate::session::ChatSession;
use crate::thermal::{ThermalDecision, ThermalPolicy};

#[derive(uniffi::Object)]
pub struct Engine {
    inner: mote_core::Engine,
    thermal: Mutex<mote_telemetry::ThermalPolicy>,
    /// The vocabulary indexed for grammars, built on first use.
    #[cfg(feature = "structured")]
    structured: once_cell::sync::OnceCell<mote_structured::Structured>,
}

impl Engine {
    pub(crate) fn wrap(inner: mote_core::Engine) -> Arc<Self> {
        Arc::new(Engine {
            inner,
            thermal: Mutex::default(),
            #[cfg(feature = "structured")]
            structured: Default::default(),
        })
    }

    pub(crate) fn core(&self) -> &mote_core::Engine {
        &self.inner
    }

    #[cfg(feature = "structured")]
    pub(crate) fn structured(&self) -> Result<&mote_structured::Structured, mote_structured::StructuredError> {
        self.structured.get_or_try_init(|| mote_structured::Structured::new(&self.inner.text().0))
    }
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
            let inner = mote_core::Engine::load(Path::new(&path), options.try_into()?)?;
            log::info!("loaded model {path}");
            Ok(Engine::wrap(inner))
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

    /// Inference threads running now (a thermal decision may run fewer than configured).
    pub fn threads(&self) -> Result<i32, MoteError> {
        guard(|| Ok(crate::records::to_i32(self.inner.threads())))
    }

    /// Changes the inference threads the app wants. A thermal decision in
    /// force still caps them until the device cools.
    pub fn set_threads(&self, threads: i32) -> Result<(), MoteError> {
        guard(|| {
            if threads < 1 {
                return Err(MoteError::InvalidArgument { reason: "threads must be at least 1".into() });
            }
            self.inner.set_threads(threads as usize);
            Ok(())
        })
    }

    pub fn thermal_policy(&self) -> ThermalPolicy {
        crate::error::guard_or(crate::thermal::default_thermal_policy(), || {
            (*self.thermal.lock().unwrap_or_else(|p| p.into_inner())).into()
        })
    }

    /// Replaces the thermal policy; applied from the next `on_thermal_state`.
    pub fn set_thermal_policy(&self, policy: ThermalPolicy) {
        crate::error::guard_or((), || *self.thermal.lock().unwrap_or_else(|p| p.into_inner()) = policy.into())
    }

    /// Applies the thermal policy for `state` (call it whenever the platform
    /// reports a change; the wrappers' lifecycle helpers do). Serious or
    /// critical lowers the threads or paces tokens, also mid-reply; a cooler
    /// state lifts the throttle. Returns what is now in force.
    pub fn on_thermal_state(&self, state: ThermalState) -> Result<ThermalDecision, MoteError> {
        guard(|| {
            let policy = *self.thermal.lock().unwrap_or_else(|p| p.into_inner());
            let d = policy.decide(state.into(), self.inner.configured_threads());
            let cap = matches!(d.applied, mote_telemetry::Action::LowerThreads(_)).then_some(d.threads);
            self.inner.set_throttle(cap, d.pace_ms);
            Ok(d.into())
        })
    }

    /// Tokens `text` takes as message content.
    pub fn count_tokens(&self, text: String) -> Result<i64, MoteError> {
        guard(|| Ok(crate::records::to_i64(self.inner.count_tokens(&text)?)))
    }

    /// Tokens `messages` take as a prompt in the model's chat template
    /// (with the assistant's turn opened, as `send` feeds them).
    pub fn count_message_tokens(&self, messages: Vec<ChatMessage>) -> Result<i64, MoteError> {
        guard(|| {
            let m: Vec<mote_core::ChatMessage> = messages.into_iter().map(Into::into).collect();
            Ok(crate::records::to_i64(self.inner.count_message_tokens(&m)?))
        })
    }
}
