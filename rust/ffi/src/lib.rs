//! Mote's foreign-function layer. Only type mapping and threading live here:
//! every decision about models and generation belongs to `mote-core`, so the
//! Kotlin and Swift SDKs behave exactly like the Rust API.
//!
//! Contract (see docs/adr/0002-bindings.md):
//! - `Engine.load` blocks; wrappers call it off the main thread.
//! - `ChatSession.send` never blocks and never throws: it starts a worker
//!   thread and reports through `TokenListener`, calling exactly one of
//!   `on_complete` / `on_error`, including for `Busy`. Whether a session is
//!   busy is decided only by the core session's state machine; a reply that
//!   was cancelled, or a release in progress, is waited for, never `Busy`.
//! - After `TaskHandle.cancel()` returns, `on_token` is never called again.
//! - No Rust panic crosses the boundary: exported calls and the worker run
//!   under `catch_unwind` and surface `MoteError::Internal`.
//! - Memory releases (`Engine.on_memory_pressure`, `release`) never block on a
//!   generation: busy sessions are released when their reply ends.

uniffi::setup_scaffolding!();

mod energy;
mod engine;
mod error;
mod logging;
mod memory;
#[cfg(feature = "models")]
mod models;
mod quality;
mod records;
mod session;
#[cfg(feature = "structured")]
mod structured;
mod task;
mod thermal;

pub use energy::{
    default_cpu_power_model, energy_clock_ms, thermal_state_from_android_status, thermal_state_from_ios,
    CpuPowerModel, EnergyMeter, EnergyReport, EnergySample, Phase, ThermalState,
};
pub use engine::Engine;
pub use error::MoteError;
pub use memory::{
    default_memory_policy, pressure_level_from_android_trim, Actions, InFlight, MemoryPolicy, MemoryReport,
    PressureLevel, ReleaseReport, UnfinishedLoad,
};
pub use records::{
    ChatMessage, ContextPolicy, ContextStatus, FinishReason, GenerationConfig, LoadOptions, ModelInfo, Reply, Role,
    Stats,
};
#[cfg(feature = "downloads")]
pub use models::{DownloadHandle, DownloadListener};
#[cfg(feature = "models")]
pub use models::{
    CatalogueEntry, DamagedVersion, DownloadProgress, ModelError, ModelManager, ModelSet, ModelVersion, PullResult, ResidentModel,
    VersionStatus,
};
pub use quality::{quantize_model, quantize_types, QualitySummary, QuantizeSummary};
pub use session::ChatSession;
#[cfg(feature = "structured")]
pub use structured::{StructuredError, ToolCall, ToolCallError, ToolChoice, ToolHandler, ToolRun, ToolSpec};
pub use task::{TaskHandle, TokenListener};
pub use thermal::{default_thermal_policy, ThermalAction, ThermalDecision, ThermalPolicy};
