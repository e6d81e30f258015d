//! What the engine should do when the device heats up. Pure: the engine
//! applies the decision and reports it in its stats.

use serde::{Deserialize, Serialize};

use crate::sample::ThermalState;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Action {
    None,
    /// Cap the worker threads at this many (never below one).
    LowerThreads(usize),
    /// Sleep this long between generated tokens.
    PaceTokens {
        ms: u32,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThermalPolicy {
    pub at_serious: Action,
    pub at_critical: Action,
}

impl Default for ThermalPolicy {
    fn default() -> Self {
        ThermalPolicy {
            at_serious: Action::LowerThreads(2),
            at_critical: Action::PaceTokens { ms: 100 },
        }
    }
}

/// The decision for the current state. `applied` is what actually changes
/// compared with the configuration, so stats never claim a throttle that was
/// a no-op (e.g. "lower to 4 threads" when 2 are configured).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThermalDecision {
    pub threads: usize,
    pub pace_ms: u32,
    pub applied: Action,
}

impl ThermalPolicy {
    pub fn decide(&self, state: ThermalState, configured_threads: usize) -> ThermalDecision {
        let configured = configured_threads.max(1);
        let action = match state {
            ThermalState::Serious => self.at_serious,
            ThermalState::Critical => self.at_critical,
            // Unknown means "no signal": throttling on ignorance would slow
            // every platform without a thermal API.
            ThermalState::Nominal | ThermalState::Fair | ThermalState::Unknown => Action::None,
        };
        match action {
            Action::LowerThreads(n) if n.max(1) < configured => {
                let threads = n.max(1);
                ThermalDecision {
                    threads,
                    pace_ms: 0,
                    applied: Action::LowerThreads(threads),
                }
            }
            Action::PaceTokens { ms } if ms > 0 => ThermalDecision {
                threads: configured,
                pace_ms: ms,
                applied: Action::PaceTokens { ms },
            },
            _ => ThermalDecision {
                threads: configured,
                pace_ms: 0,
                applied: Action::None,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cool_or_unknown_states_change_nothing() {
        let p = ThermalPolicy::default();
        for s in [
            ThermalState::Nominal,
            ThermalState::Fair,
            ThermalState::Unknown,
        ] {
            assert_eq!(
                p.decide(s, 4),
                ThermalDecision {
                    threads: 4,
                    pace_ms: 0,
                    applied: Action::None
                }
            );
        }
    }

    #[test]
    fn serious_lowers_threads_and_critical_paces() {
        let p = ThermalPolicy {
            at_serious: Action::LowerThreads(2),
            at_critical: Action::PaceTokens { ms: 80 },
        };
        assert_eq!(p.decide(ThermalState::Serious, 6).threads, 2);
        assert_eq!(
            p.decide(ThermalState::Serious, 6).applied,
            Action::LowerThreads(2)
        );
        let c = p.decide(ThermalState::Critical, 6);
        assert_eq!(
            (c.threads, c.pace_ms, c.applied),
            (6, 80, Action::PaceTokens { ms: 80 })
        );
    }

    #[test]
    fn lowering_to_more_threads_than_configured_is_reported_as_no_action() {
        let p = ThermalPolicy {
            at_serious: Action::LowerThreads(4),
            at_critical: Action::None,
        };
        assert_eq!(
            p.decide(ThermalState::Serious, 2),
            ThermalDecision {
                threads: 2,
                pace_ms: 0,
                applied: Action::None
            }
        );
    }

    #[test]
    fn zero_threads_is_clamped_to_one() {
        let p = ThermalPolicy {
            at_serious: Action::LowerThreads(0),
            at_critical: Action::PaceTokens { ms: 0 },
        };
        assert_eq!(p.decide(ThermalState::Serious, 0).threads, 1);
        assert_eq!(
            p.decide(ThermalState::Serious, 3).applied,
            Action::LowerThreads(1)
        );
        assert_eq!(p.decide(ThermalState::Critical, 3).applied, Action::None);
    }
}
