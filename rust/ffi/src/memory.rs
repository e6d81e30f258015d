//! The lifecycle-memory vocabulary of `mote_core::memory`, mapped one to one.
//! Decisions (which level frees what, when a busy session is released) stay
//! in the core; these types only carry them across.

use std::path::PathBuf;

use mote_core::memory as core;

use crate::error::{guard, guard_or, MoteError};

/// How hard the platform is pressing, from mild to severe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum PressureLevel {
    /// Android RUNNING_MODERATE.
    Moderate,
    /// Android RUNNING_LOW.
    Low,
    /// The UI went away (Android UI_HIDDEN / BACKGROUND, iOS didEnterBackground).
    Background,
    /// Android RUNNING_CRITICAL or TRIM_MEMORY_MODERATE, iOS memory warning.
    Critical,
    /// Android TRIM_MEMORY_COMPLETE: next in line to be killed.
    Complete,
}

impl From<PressureLevel> for core::PressureLevel {
    fn from(l: PressureLevel) -> Self {
        match l {
            PressureLevel::Moderate => Self::Moderate,
            PressureLevel::Low => Self::Low,
            PressureLevel::Background => Self::Background,
            PressureLevel::Critical => Self::Critical,
            PressureLevel::Complete => Self::Complete,
        }
    }
}

impl From<core::PressureLevel> for PressureLevel {
    fn from(l: core::PressureLevel) -> Self {
        match l {
            core::PressureLevel::Moderate => Self::Moderate,
            core::PressureLevel::Low => Self::Low,
            core::PressureLevel::Background => Self::Background,
            core::PressureLevel::Critical => Self::Critical,
            core::PressureLevel::Complete => Self::Complete,
        }
    }
}

/// What to free; each is cheaper to undo than the next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct Actions {
    #[uniffi(default = false)]
    pub trim_scratch: bool,
    #[uniffi(default = false)]
    pub trim_kv_cache: bool,
    /// Needs `MemoryPolicy.snapshot_dir`; without it the cache is re-prefilled later.
    #[uniffi(default = false)]
    pub snapshot_sessions: bool,
    #[uniffi(default = false)]
    pub drop_kv_cache: bool,
    /// The next call reloads the weights.
    #[uniffi(default = false)]
    pub unmap_weights: bool,
}

impl From<Actions> for core::Actions {
    fn from(a: Actions) -> Self {
        core::Actions {
            trim_scratch: a.trim_scratch,
            trim_kv_cache: a.trim_kv_cache,
            snapshot_sessions: a.snapshot_sessions,
            drop_kv_cache: a.drop_kv_cache,
            unmap_weights: a.unmap_weights,
        }
    }
}

impl From<core::Actions> for Actions {
    fn from(a: core::Actions) -> Self {
        Actions {
            trim_scratch: a.trim_scratch,
            trim_kv_cache: a.trim_kv_cache,
            snapshot_sessions: a.snapshot_sessions,
            drop_kv_cache: a.drop_kv_cache,
            unmap_weights: a.unmap_weights,
        }
    }
}

/// What a release does to a reply that is being generated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum InFlight {
    /// Let it finish, then release that session.
    Finish,
    /// Cancel it (the partial reply is kept), then release.
    Cancel,
}

/// Which actions each level triggers. Start from `default_memory_policy()` or
/// `Engine.memory_policy()`: UniFFI records cannot default nested records.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct MemoryPolicy {
    pub moderate: Actions,
    pub low: Actions,
    pub background: Actions,
    pub critical: Actions,
    pub complete: Actions,
    pub in_flight: InFlight,
    /// Where session snapshots go; `None` skips snapshots.
    pub snapshot_dir: Option<String>,
}

impl From<MemoryPolicy> for core::MemoryPolicy {
    fn from(p: MemoryPolicy) -> Self {
        core::MemoryPolicy {
            moderate: p.moderate.into(),
            low: p.low.into(),
            background: p.background.into(),
            critical: p.critical.into(),
            complete: p.complete.into(),
            in_flight: match p.in_flight {
                InFlight::Finish => core::InFlight::Finish,
                InFlight::Cancel => core::InFlight::Cancel,
            },
            snapshot_dir: p.snapshot_dir.filter(|d| !d.is_empty()).map(PathBuf::from),
        }
    }
}

impl From<core::MemoryPolicy> for MemoryPolicy {
    fn from(p: core::MemoryPolicy) -> Self {
        MemoryPolicy {
            moderate: p.moderate.into(),
            low: p.low.into(),
            background: p.background.into(),
            critical: p.critical.into(),
            complete: p.complete.into(),
            in_flight: match p.in_flight {
                core::InFlight::Finish => InFlight::Finish,
                core::InFlight::Cancel => InFlight::Cancel,
            },
            snapshot_dir: p.snapshot_dir.map(|d| d.display().to_string()),
        }
    }
}

/// Where the memory goes, in bytes.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct MemoryReport {
    /// Weight tensors the engine holds (0 once unmapped).
    pub weights_bytes: i64,
    pub weights_resident_bytes: i64,
    /// KV cache allocated across live sessions.
    pub kv_cache_bytes: i64,
    pub kv_cache_used_bytes: i64,
    pub scratch_bytes: i64,
    /// What the OS counts against the app (RSS, or `phys_footprint` on Apple).
    pub process_footprint_bytes: i64,
}

impl From<core::accounting::MemoryReport> for MemoryReport {
    fn from(r: core::accounting::MemoryReport) -> Self {
        MemoryReport {
            weights_bytes: crate::records::to_i64(r.weights_bytes),
            weights_resident_bytes: crate::records::to_i64(r.weights_resident_bytes),
            kv_cache_bytes: crate::records::to_i64(r.kv_cache_bytes),
            kv_cache_used_bytes: crate::records::to_i64(r.kv_cache_used_bytes),
            scratch_bytes: crate::records::to_i64(r.scratch_bytes),
            process_footprint_bytes: crate::records::to_i64(r.process_footprint_bytes),
        }
    }
}

/// What one release did.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct ReleaseReport {
    /// The platform signal, or `None` for a direct `Engine.release`.
    pub level: Option<PressureLevel>,
    pub actions: Actions,
    pub sessions_released: i32,
    /// Sessions busy generating: released when their reply ends.
    pub sessions_deferred: i32,
    pub snapshots_written: i32,
    /// Failed snapshots (e.g. a full disk); those sessions kept their cache.
    pub snapshot_errors: Vec<String>,
    pub before: MemoryReport,
    pub after: MemoryReport,
}

impl From<core::ReleaseReport> for ReleaseReport {
    fn from(r: core::ReleaseReport) -> Self {
        ReleaseReport {
            level: r.level.map(Into::into),
            actions: r.actions.into(),
            sessions_released: crate::records::to_i32(r.sessions_released),
            sessions_deferred: crate::records::to_i32(r.sessions_deferred),
            snapshots_written: crate::records::to_i32(r.snapshots_written),
            snapshot_errors: r.snapshot_errors,
            before: r.before.into(),
            after: r.after.into(),
        }
    }
}

/// A load that started and never finished: the OS probably killed the app
/// while it loaded (see `LoadOptions.state_dir`).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct UnfinishedLoad {
    pub model: String,
    pub context_length: i32,
    pub started_unix_ms: i64,
}

impl From<&core::guard::UnfinishedLoad> for UnfinishedLoad {
    fn from(u: &core::guard::UnfinishedLoad) -> Self {
        UnfinishedLoad {
            model: u.model.clone(),
            context_length: crate::records::to_i32(u.context_length),
            started_unix_ms: crate::records::to_i64(u.started_unix_ms),
        }
    }
}

/// The core's default policy: mild levels trim, Background snapshots the
/// sessions and drops their caches, Critical and Complete also unmap the weights.
#[uniffi::export]
pub fn default_memory_policy() -> Result<MemoryPolicy, MoteError> {
    guard(|| Ok(core::MemoryPolicy::default().into()))
}

/// Maps `ComponentCallbacks2.onTrimMemory` levels; `None` for levels that ask nothing.
#[uniffi::export]
pub fn pressure_level_from_android_trim(level: i32) -> Option<PressureLevel> {
    guard_or(None, || core::PressureLevel::from_android_trim_level(level).map(Into::into))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_round_trips_through_the_foreign_record() {
        let mut core_policy = core::MemoryPolicy::default();
        core_policy.in_flight = core::InFlight::Cancel;
        core_policy.snapshot_dir = Some(PathBuf::from("/tmp/snaps"));
        let ours: MemoryPolicy = core_policy.clone().into();
        assert_eq!(ours.snapshot_dir.as_deref(), Some("/tmp/snaps"));
        let back: core::MemoryPolicy = ours.into();
        for level in [
            core::PressureLevel::Moderate,
            core::PressureLevel::Low,
            core::PressureLevel::Background,
            core::PressureLevel::Critical,
            core::PressureLevel::Complete,
        ] {
            assert_eq!(back.actions_for(level), core_policy.actions_for(level), "{level:?}");
        }
        assert_eq!(back.in_flight, core::InFlight::Cancel);
        assert_eq!(back.snapshot_dir, core_policy.snapshot_dir);
    }

    #[test]
    fn an_empty_snapshot_dir_means_none() {
        let mut p = default_memory_policy().unwrap();
        p.snapshot_dir = Some(String::new());
        assert_eq!(core::MemoryPolicy::from(p).snapshot_dir, None);
    }
}
