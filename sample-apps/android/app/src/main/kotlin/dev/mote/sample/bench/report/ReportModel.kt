package dev.mote.sample.bench.report

// Kotlin mirrors of mote_telemetry's serde types. `mote report` deserializes
// the bench output straight into ReportData, so every field here exists
// because the Rust side requires it:
//   rust/telemetry/src/sample.rs           Sample, ThermalState, Phase, PhaseMark, Trace
//   rust/telemetry/src/integrator/mod.rs   EnergyReport
//   rust/telemetry/src/report/mod.rs       RunRecord, ReportData
// ReportJson.kt holds the field names; change both sides together.

/** Serialized by name, as serde does for unit variants. */
enum class Phase { IdleBefore, Prefill, Decode, IdleAfter }

enum class ThermalState { Nominal, Fair, Serious, Critical, Unknown }

/**
 * One reading, raw as the phone reported it: the names give the nominal unit,
 * but a phone may report mA or mV or an inverted sign. Rust corrects that when
 * it reads the trace (`normalized` stays false), exactly as it did when it
 * integrated the same readings.
 */
data class Sample(
    val tMs: Double,
    val currentUa: Double? = null,
    val powerUw: Double? = null,
    val voltageUv: Double? = null,
    val batteryPct: Float? = null,
    val capacityMah: Double? = null,
    val chargeCounterUah: Double? = null,
    val charging: Boolean? = null,
    val temperatureC: Float? = null,
    val thermal: ThermalState = ThermalState.Unknown,
)

data class PhaseMark(val phase: Phase, val tMs: Double)

data class Trace(
    val source: String,
    val estimate: Boolean,
    val samples: List<Sample>,
    val marks: List<PhaseMark>,
    val endMs: Double,
    val dropped: Long = 0,
    val normalized: Boolean = false,
    val notes: List<String> = emptyList(),
)

data class EnergyReport(
    val source: String,
    val estimate: Boolean,
    val joules: Double = 0.0,
    val joulesPrefill: Double = 0.0,
    val joulesDecode: Double = 0.0,
    val joulesPerToken: Double = 0.0,
    val tokensPerJoule: Double = 0.0,
    val mah: Double = 0.0,
    val batteryPctPerHour: Double? = null,
    val avgWatts: Double = 0.0,
    val uncertaintyPct: Double = 0.0,
    val samples: Long = 0,
    val valid: Boolean,
    val lowConfidence: Boolean = false,
    val flags: List<String> = emptyList(),
    val baselineWatts: Double = 0.0,
    val durationS: Double = 0.0,
    val tokens: Long = 0,
)

data class RunRecord(
    val model: String,
    val quant: String,
    val bitsPerWeight: Double,
    val prefillTokensPerS: Double,
    val decodeTokensPerS: Double,
    val energy: EnergyReport,
    val trace: Trace,
)

data class ReportData(val title: String?, val runs: List<RunRecord>)
