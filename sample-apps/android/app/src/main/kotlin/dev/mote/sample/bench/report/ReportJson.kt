package dev.mote.sample.bench.report

// The serde field names of the Rust types (see ReportModel.kt). Option fields
// are written as explicit nulls so a missing reading is visibly "not measured".

fun ReportData.toJson(): String = Json.encode(
    linkedMapOf(
        "title" to title,
        "runs" to runs.map { it.toMap() },
    ),
)

private fun RunRecord.toMap() = linkedMapOf(
    "model" to model,
    "quant" to quant,
    "bits_per_weight" to bitsPerWeight,
    "prefill_tokens_per_s" to prefillTokensPerS,
    "decode_tokens_per_s" to decodeTokensPerS,
    "energy" to energy.toMap(),
    "trace" to trace.toMap(),
)

private fun EnergyReport.toMap() = linkedMapOf(
    "source" to source,
    "estimate" to estimate,
    "joules" to joules,
    "joules_prefill" to joulesPrefill,
    "joules_decode" to joulesDecode,
    "joules_per_token" to joulesPerToken,
    "tokens_per_joule" to tokensPerJoule,
    "mah" to mah,
    "battery_pct_per_hour" to batteryPctPerHour,
    "avg_watts" to avgWatts,
    "uncertainty_pct" to uncertaintyPct,
    "samples" to samples,
    "valid" to valid,
    "low_confidence" to lowConfidence,
    "flags" to flags,
    "baseline_watts" to baselineWatts,
    "duration_s" to durationS,
    "tokens" to tokens,
)

private fun Trace.toMap() = linkedMapOf(
    "source" to source,
    "estimate" to estimate,
    "samples" to samples.map { it.toMap() },
    "marks" to marks.map { linkedMapOf("phase" to it.phase.name, "t_ms" to it.tMs) },
    "end_ms" to endMs,
    "dropped" to dropped,
    "normalized" to normalized,
    "notes" to notes,
)

private fun Sample.toMap() = linkedMapOf(
    "t_ms" to tMs,
    "current_ua" to currentUa,
    "power_uw" to powerUw,
    "voltage_uv" to voltageUv,
    "battery_pct" to batteryPct,
    "capacity_mah" to capacityMah,
    "charge_counter_uah" to chargeCounterUah,
    "charging" to charging,
    "temperature_c" to temperatureC,
    "thermal" to thermal.name,
)
