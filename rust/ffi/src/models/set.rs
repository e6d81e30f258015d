//! `ModelSet`: several engines under one memory budget, least recently used
//! evicted first (`mote_models::EngineSet`).

use std::path::Path;
use std::sync::Arc;

use crate::engine::Engine;
use crate::error::{guard, MoteError};
use crate::records::{to_i64, LoadOptions};

use super::records::ResidentModel;

#[derive(uniffi::Object)]
pub struct ModelSet {
    inner: mote_models::EngineSet,
}

fn mote_error(e: mote_models::ModelError) -> MoteError {
    match e {
        mote_models::ModelError::Engine(e) => e.into(),
        other => MoteError::Internal { reason: other.to_string() },
    }
}

#[uniffi::export]
impl ModelSet {
    /// A set whose resident models together stay under `budget_bytes`, each
    /// loaded with `options` (their memory check is made against the budget).
    #[uniffi::constructor]
    pub fn new(budget_bytes: i64, options: LoadOptions) -> Result<Arc<Self>, MoteError> {
        guard(|| {
            let budget = crate::records::count(budget_bytes, "budget_bytes")? as u64;
            Ok(Arc::new(ModelSet { inner: mote_models::EngineSet::new(budget, options.try_into()?) }))
        })
    }

    /// The engine for `name` (the file at `path`, e.g. from
    /// `ModelManager.resolve`): loaded, or its weights mapped again, after
    /// evicting the least recently used models until it fits. Blocks for a
    /// load. An evicted engine's sessions stay valid: their conversations
    /// come back with the weights. Call this each time the app turns to a
    /// model, so the set knows which one is in use.
    /// `InsufficientMemory` if the model cannot fit even alone.
    pub fn get(&self, name: String, path: String) -> Result<Arc<Engine>, MoteError> {
        guard(|| {
            let engine = self.inner.get(&name, Path::new(&path)).map_err(mote_error)?;
            Ok(Engine::wrap((*engine).clone()))
        })
    }

    /// Unmaps `name`'s weights now (its sessions are kept); false if it was not loaded.
    pub fn evict(&self, name: String) -> bool {
        crate::error::guard_or(false, || self.inner.evict(&name))
    }

    /// Every model the set knows, least recently used first.
    pub fn residents(&self) -> Vec<ResidentModel> {
        crate::error::guard_or(Vec::new(), || {
            self.inner.state().into_iter().map(|r| ResidentModel { name: r.name, need_bytes: to_i64(r.need_bytes), loaded: r.loaded }).collect()
        })
    }

    pub fn budget_bytes(&self) -> i64 {
        to_i64(self.inner.budget_bytes())
    }
}
