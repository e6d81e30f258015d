package dev.mote.sample.bench

import dev.mote.EnergyReport
import dev.mote.EnergySample
import dev.mote.Phase
import dev.mote.ThermalState
import dev.mote.sample.bench.report.EnergyReport as ReportEnergy
import dev.mote.sample.bench.report.Phase as ReportPhase
import dev.mote.sample.bench.report.Sample
import dev.mote.sample.bench.report.ThermalState as ReportThermal

// SDK records to the report's serde mirrors. Spelled out field by field so a
// field added on either side shows up here as a compile error or a visible gap.

internal fun EnergySample.toTraceSample() = Sample(
    tMs = requireNotNull(tMs) { "trace samples are stamped before recording" },
    currentUa = currentUa,
    powerUw = powerUw,
    voltageUv = voltageUv,
    batteryPct = batteryPct,
    capacityMah = capacityMah,
    chargeCounterUah = chargeCounterUah,
    charging = charging,
    temperatureC = temperatureC,
    thermal = thermal?.toReport() ?: ReportThermal.Unknown,
)

internal fun Phase.toReport() = when (this) {
    Phase.IDLE_BEFORE -> ReportPhase.IdleBefore
    Phase.PREFILL -> ReportPhase.Prefill
    Phase.DECODE -> ReportPhase.Decode
    Phase.IDLE_AFTER -> ReportPhase.IdleAfter
}

internal fun ThermalState.toReport() = when (this) {
    ThermalState.NOMINAL -> ReportThermal.Nominal
    ThermalState.FAIR -> ReportThermal.Fair
    ThermalState.SERIOUS -> ReportThermal.Serious
    ThermalState.CRITICAL -> ReportThermal.Critical
    ThermalState.UNKNOWN -> ReportThermal.Unknown
}

internal fun EnergyReport.toReport() = ReportEnergy(
    source = source,
    estimate = estimate,
    joules = joules,
    joulesPrefill = joulesPrefill,
    joulesDecode = joulesDecode,
    joulesPerToken = joulesPerToken,
    tokensPerJoule = tokensPerJoule,
    mah = mah,
    batteryPctPerHour = batteryPctPerHour,
    avgWatts = avgWatts,
    uncertaintyPct = uncertaintyPct,
    samples = samples,
    valid = valid,
    lowConfidence = lowConfidence,
    flags = flags,
    baselineWatts = baselineWatts,
    durationS = durationS,
    tokens = tokens,
)
