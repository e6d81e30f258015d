//! Lifecycle-aware memory: what to free when the OS says memory is short or
//! the app goes to the background, and how to come back without losing the
//! conversation.
//!
//! Platform signals map onto [`PressureLevel`]s; a [`MemoryPolicy`] maps each
//! level onto [`Actions`]. The engine applies them to itself and to every live
//! session; a session that is generating applies them when its reply ends (or
//! is cancelled first, if the policy says so).

pub mod accounting;
pub mod guard;
pub mod model_hash;
pub mod snapshot;

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// How hard the platform is pressing, from mild to severe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum PressureLevel {
    /// Android RUNNING_MODERATE: the system is getting low while we run.
    Moderate,
    /// Android RUNNING_LOW.
    Low,
    /// The UI went away (Android TRIM_MEMORY_UI_HIDDEN / BACKGROUND, iOS didEnterBackground).
    Background,
    /// Android RUNNING_CRITICAL or TRIM_MEMORY_MODERATE, iOS memory warning.
    Critical,
    /// Android TRIM_MEMORY_COMPLETE: next in line to be killed.
    Complete,
}

impl PressureLevel {
    /// Maps `ComponentCallbacks2.onTrimMemory` levels (including the deprecated ones apps still receive).
    pub fn from_android_trim_level(level: i32) -> Option<Self> {
        Some(match level {
            80.. => Self::Complete,        // TRIM_MEMORY_COMPLETE
            60..=79 => Self::Critical,     // TRIM_MEMORY_MODERATE
            20..=59 => Self::Background,   // TRIM_MEMORY_UI_HIDDEN, TRIM_MEMORY_BACKGROUND
            15..=19 => Self::Critical,     // TRIM_MEMORY_RUNNING_CRITICAL
            10..=14 => Self::Low,          // TRIM_MEMORY_RUNNING_LOW
            5..=9 => Self::Moderate,       // TRIM_MEMORY_RUNNING_MODERATE
            _ => return None,
        })
    }
}

/// What to free. Each is cheaper to undo than the next.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actions {
    /// Return working buffers the next call can reallocate.
    pub trim_scratch: bool,
    /// Shrink each KV cache's allocation to the tokens it holds.
    pub trim_kv_cache: bool,
    /// Write each session (tokens and KV cache) to the snapshot directory.
    pub snapshot_sessions: bool,
    /// Free each KV cache; the next turn restores it from the snapshot or re-prefills.
    pub drop_kv_cache: bool,
    /// Unmap the weights; the next call reloads them.
    pub unmap_weights: bool,
}

impl Actions {
    pub fn union(self, o: Actions) -> Actions {
        Actions {
            trim_scratch: self.trim_scratch || o.trim_scratch,
            trim_kv_cache: self.trim_kv_cache || o.trim_kv_cache,
            snapshot_sessions: self.snapshot_sessions || o.snapshot_sessions,
            drop_kv_cache: self.drop_kv_cache || o.drop_kv_cache,
            unmap_weights: self.unmap_weights || o.unmap_weights,
        }
    }

    pub fn is_empty(&self) -> bool {
        *self == Actions::default()
    }

    /// Everything: what a full release does.
    pub fn all() -> Actions {
        Actions { trim_scratch: true, trim_kv_cache: true, snapshot_sessions: true, drop_kv_cache: true, unmap_weights: true }
    }
}

/// What to do with a reply being generated when a release arrives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum InFlight {
    /// Let it finish, then release.
    Finish,
    /// Cancel it (the partial reply is kept), then release.
    Cancel,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MemoryPolicy {
    pub moderate: Actions,
    pub low: Actions,
    pub background: Actions,
    pub critical: Actions,
    pub complete: Actions,
    pub in_flight: InFlight,
    /// Where session snapshots go; without one, snapshots are skipped and a
    /// dropped KV cache is rebuilt by re-prefilling the conversation.
    pub snapshot_dir: Option<PathBuf>,
}

impl Default for MemoryPolicy {
    /// Mild signals trim; leaving the foreground saves the sessions and frees
    /// the caches; critical and complete also unmap the weights, because
    /// that is what keeps the process alive.
    fn default() -> Self {
        let trim = Actions { trim_scratch: true, trim_kv_cache: true, ..Default::default() };
        let park = Actions { snapshot_sessions: true, drop_kv_cache: true, ..trim };
        let full = Actions::all();
        Self { moderate: trim, low: trim, background: park, critical: full, complete: full, in_flight: InFlight::Finish, snapshot_dir: None }
    }
}

impl MemoryPolicy {
    pub fn actions_for(&self, level: PressureLevel) -> Actions {
        match level {
            PressureLevel::Moderate => self.moderate,
            PressureLevel::Low => self.low,
            PressureLevel::Background => self.background,
            PressureLevel::Critical => self.critical,
            PressureLevel::Complete => self.complete,
        }
    }
}

/// What a release did, with the memory figures around it.
#[derive(Debug, Clone, Serialize)]
pub struct ReleaseReport {
    pub level: Option<PressureLevel>,
    pub actions: Actions,
    /// Sessions released now.
    pub sessions_released: u32,
    /// Sessions busy generating: released when their reply ends.
    pub sessions_deferred: u32,
    pub snapshots_written: u32,
    /// Snapshot failures (e.g. a full disk); the sessions themselves are intact.
    pub snapshot_errors: Vec<String>,
    pub before: accounting::MemoryReport,
    pub after: accounting::MemoryReport,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn android_trim_levels_map_to_pressure() {
        let l = PressureLevel::from_android_trim_level;
        assert_eq!(l(5), Some(PressureLevel::Moderate));
        assert_eq!(l(10), Some(PressureLevel::Low));
        assert_eq!(l(15), Some(PressureLevel::Critical));
        assert_eq!(l(20), Some(PressureLevel::Background));
        assert_eq!(l(40), Some(PressureLevel::Background));
        assert_eq!(l(60), Some(PressureLevel::Critical));
        assert_eq!(l(80), Some(PressureLevel::Complete));
        assert_eq!(l(0), None);
    }

    #[test]
    fn default_policy_escalates() {
        let p = MemoryPolicy::default();
        let bg = p.actions_for(PressureLevel::Background);
        assert!(bg.snapshot_sessions && bg.drop_kv_cache && !bg.unmap_weights);
        assert!(p.actions_for(PressureLevel::Critical).unmap_weights);
        assert!(p.actions_for(PressureLevel::Complete).unmap_weights);
        let m = p.actions_for(PressureLevel::Moderate);
        assert!(m.trim_kv_cache && !m.drop_kv_cache);
    }
}
