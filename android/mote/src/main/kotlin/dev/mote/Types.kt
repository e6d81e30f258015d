package dev.mote

// The generated records are already idiomatic data classes with defaults;
// aliasing them keeps one source of truth and lets apps import only dev.mote.

typealias LoadOptions = dev.mote.ffi.LoadOptions
typealias GenerationConfig = dev.mote.ffi.GenerationConfig
typealias Reply = dev.mote.ffi.Reply
typealias Stats = dev.mote.ffi.Stats
typealias ChatMessage = dev.mote.ffi.ChatMessage
typealias Role = dev.mote.ffi.Role
typealias FinishReason = dev.mote.ffi.FinishReason
typealias ModelInfo = dev.mote.ffi.ModelInfo

// The context window (see ChatSession.contextPolicy and ChatSession.contextStatus).
typealias ContextPolicy = dev.mote.ffi.ContextPolicy
typealias ContextStatus = dev.mote.ffi.ContextStatus

// Lifecycle-aware memory (see MoteLifecycle and docs/adr/0003-lifecycle-memory.md).
typealias PressureLevel = dev.mote.ffi.PressureLevel
typealias Actions = dev.mote.ffi.Actions
typealias InFlight = dev.mote.ffi.InFlight
typealias MemoryPolicy = dev.mote.ffi.MemoryPolicy
typealias MemoryReport = dev.mote.ffi.MemoryReport
typealias ReleaseReport = dev.mote.ffi.ReleaseReport
typealias UnfinishedLoad = dev.mote.ffi.UnfinishedLoad

// Battery telemetry (see EnergyMeter and BatterySampler).
typealias EnergySample = dev.mote.ffi.EnergySample
typealias EnergyReport = dev.mote.ffi.EnergyReport
typealias ThermalState = dev.mote.ffi.ThermalState
typealias Phase = dev.mote.ffi.Phase

// Thermal throttling (see MoteEngine.onThermalState and MoteLifecycle).
typealias ThermalPolicy = dev.mote.ffi.ThermalPolicy
typealias ThermalAction = dev.mote.ffi.ThermalAction
typealias ThermalDecision = dev.mote.ffi.ThermalDecision

// Kotlin cannot reach a sealed class's cases through a typealias
// (ThermalAction.LowerThreads does not resolve), so the cases get their own.
typealias LowerThreads = dev.mote.ffi.ThermalAction.LowerThreads
typealias PaceTokens = dev.mote.ffi.ThermalAction.PaceTokens
typealias NoThrottle = dev.mote.ffi.ThermalAction.None

/** Two threads when serious, 100 ms between tokens when critical: what an engine starts with. */
fun defaultThermalPolicy(): ThermalPolicy = dev.mote.ffi.defaultThermalPolicy()
