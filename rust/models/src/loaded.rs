//! Several engines under one memory budget, least recently used first out.
//!
//! Admission uses mote-core's own pre-load estimate (`Engine::estimate_load_bytes`,
//! what `Engine::load`'s memory check compares): a model is admitted when its
//! estimate fits in the budget beside the other resident models, after
//! evicting the least recently used ones if needed. Eviction is the lifecycle
//! release (`Actions::all()`: sessions snapshotted, KV caches freed, weights
//! unmapped): the `Engine` and its sessions stay valid, and the next use
//! reloads the weights and restores each session's conversation.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use mote_core::memory::Actions;
use mote_core::{Engine, LoadOptions};

use crate::error::{ModelError, Result};

struct Slot {
    name: String,
    path: PathBuf,
    engine: Arc<Engine>,
    /// The pre-load estimate this model was admitted with.
    need: u64,
}

/// A row of [`EngineSet::state`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resident {
    pub name: String,
    pub need_bytes: u64,
    pub loaded: bool,
}

pub struct EngineSet {
    budget: u64,
    options: LoadOptions,
    /// Least recently used first.
    slots: Mutex<Vec<Slot>>,
}

impl EngineSet {
    /// `options` are used for every load, except that the memory check is
    /// made against this set's budget.
    pub fn new(budget_bytes: u64, options: LoadOptions) -> EngineSet {
        EngineSet { budget: budget_bytes, options, slots: Mutex::new(Vec::new()) }
    }

    pub fn budget_bytes(&self) -> u64 {
        self.budget
    }

    /// The engine for `name` (the model file at `path`), loading it or
    /// bringing its weights back, after evicting least recently used models
    /// until it fits. `InsufficientMemory` if it cannot fit even alone.
    pub fn get(&self, name: &str, path: &Path) -> Result<Arc<Engine>> {
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(i) = slots.iter().position(|s| s.name == name && s.path == path) {
            let slot = slots.remove(i);
            if !slot.engine.is_loaded() {
                Self::make_room(&mut slots, self.budget, slot.need)?;
                // Reload now, under the lock, so two callers cannot both count on the same room.
                if let Err(e) = slot.engine.loaded() {
                    slots.insert(0, slot);
                    return Err(e.into());
                }
            }
            let engine = slot.engine.clone();
            slots.push(slot);
            return Ok(engine);
        }
        // The same name with another file (a new version): drop the old engine.
        slots.retain(|s| s.name != name);
        let need = Engine::estimate_load_bytes(path, &self.options)?;
        if need > self.budget {
            return Err(ModelError::Engine(mote_core::Error::InsufficientMemory { needed: need, available: self.budget }));
        }
        let available = Self::make_room(&mut slots, self.budget, need)?;
        let options = LoadOptions { available_memory_bytes: Some(available), skip_memory_check: false, ..self.options.clone() };
        let engine = Arc::new(Engine::load(path, options)?);
        slots.push(Slot { name: name.to_string(), path: path.to_path_buf(), engine: engine.clone(), need });
        Ok(engine)
    }

    /// Evicts least recently used resident models until `need` fits; returns the room left.
    fn make_room(slots: &mut [Slot], budget: u64, need: u64) -> Result<u64> {
        let used = |slots: &[Slot]| slots.iter().filter(|s| s.engine.is_loaded()).map(|s| s.need).sum::<u64>();
        for s in slots.iter() {
            if budget.saturating_sub(used(slots)) >= need {
                break;
            }
            if s.engine.is_loaded() {
                let report = s.engine.release(Actions::all());
                log::info!("evicted {} ({} bytes estimated): {} sessions released", s.name, s.need, report.sessions_released);
            }
        }
        let room = budget.saturating_sub(used(slots));
        if room < need {
            return Err(ModelError::Engine(mote_core::Error::InsufficientMemory { needed: need, available: room }));
        }
        Ok(room)
    }

    /// Evicts `name`'s weights now (e.g. the app knows it is done with it).
    pub fn evict(&self, name: &str) -> bool {
        let slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        slots.iter().filter(|s| s.name == name && s.engine.is_loaded()).map(|s| s.engine.release(Actions::all())).count() > 0
    }

    /// Every model the set knows, least recently used first.
    pub fn state(&self) -> Vec<Resident> {
        let slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        slots.iter().map(|s| Resident { name: s.name.clone(), need_bytes: s.need, loaded: s.engine.is_loaded() }).collect()
    }
}
