//! The thermal policy as the apps see it. The decision is pure
//! (`mote_telemetry::ThermalPolicy`); `Engine.on_thermal_state` applies it:
//! fewer inference threads (the surplus workers sleep) or a pause between
//! tokens, lifted again when the device cools.

use mote_telemetry as tel;

/// One throttling step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum ThermalAction {
    None,
    /// Run at most this many inference threads (never below one).
    LowerThreads { threads: i32 },
    /// Sleep this long between generated tokens.
    PaceTokens { ms: i32 },
}

/// What to do at each hot state; cooler states always run unthrottled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct ThermalPolicy {
    pub at_serious: ThermalAction,
    pub at_critical: ThermalAction,
}

/// What the engine now runs with, and which action that took (`None` when
/// the policy's step would change nothing, e.g. "lower to 4" with 2 configured).
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct ThermalDecision {
    pub threads: i32,
    pub pace_ms: i32,
    pub applied: ThermalAction,
}

impl From<ThermalAction> for tel::Action {
    fn from(a: ThermalAction) -> Self {
        match a {
            ThermalAction::None => Self::None,
            ThermalAction::LowerThreads { threads } => Self::LowerThreads(threads.max(1) as usize),
            ThermalAction::PaceTokens { ms } => Self::PaceTokens { ms: ms.max(0) as u32 },
        }
    }
}

impl From<tel::Action> for ThermalAction {
    fn from(a: tel::Action) -> Self {
        match a {
            tel::Action::None => Self::None,
            tel::Action::LowerThreads(n) => Self::LowerThreads { threads: crate::records::to_i32(n) },
            tel::Action::PaceTokens { ms } => Self::PaceTokens { ms: crate::records::to_i32(ms) },
        }
    }
}

impl From<ThermalPolicy> for tel::ThermalPolicy {
    fn from(p: ThermalPolicy) -> Self {
        tel::ThermalPolicy { at_serious: p.at_serious.into(), at_critical: p.at_critical.into() }
    }
}

impl From<tel::ThermalPolicy> for ThermalPolicy {
    fn from(p: tel::ThermalPolicy) -> Self {
        ThermalPolicy { at_serious: p.at_serious.into(), at_critical: p.at_critical.into() }
    }
}

impl From<tel::ThermalDecision> for ThermalDecision {
    fn from(d: tel::ThermalDecision) -> Self {
        ThermalDecision { threads: crate::records::to_i32(d.threads), pace_ms: crate::records::to_i32(d.pace_ms), applied: d.applied.into() }
    }
}

/// The default policy: two threads when serious, 100 ms between tokens when critical.
#[uniffi::export]
pub fn default_thermal_policy() -> ThermalPolicy {
    tel::ThermalPolicy::default().into()
}
