//! Battery-drain telemetry for Mote: read power from whatever the platform
//! offers, mark the phases of a generation, and attribute energy to it with
//! the uncertainty and honesty flags needed to trust (or distrust) the number.

pub mod clock;
mod error;
pub mod import;
pub mod integrator;
pub mod normalize;
pub mod report;
mod sample;
pub mod sampler;
pub mod source;
pub mod thermal;
pub mod trace_csv;

pub use error::TelemetryError;
pub use integrator::{EnergyReport, Integrator, IntegratorConfig};
pub use normalize::{normalize, NormalizeConfig, NormalizeOutcome};
pub use report::{render_html, ReportData, RunRecord};
pub use sample::{Phase, PhaseMark, Sample, ThermalState, Trace};
pub use sampler::{Sampler, SamplerConfig};
pub use source::{auto_source, EnergySource};
pub use thermal::{Action, ThermalDecision, ThermalPolicy};
