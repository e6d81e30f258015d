import MoteBindings

// The generated value types are already Sendable, Equatable structs and enums
// with defaulted initializers; aliasing them keeps one source of truth and lets
// apps `import Mote` alone.

public typealias LoadOptions = MoteBindings.LoadOptions
public typealias GenerationConfig = MoteBindings.GenerationConfig
public typealias Reply = MoteBindings.Reply
public typealias Stats = MoteBindings.Stats
public typealias ChatMessage = MoteBindings.ChatMessage
public typealias Role = MoteBindings.Role
public typealias FinishReason = MoteBindings.FinishReason
public typealias ModelInfo = MoteBindings.ModelInfo

/// Every failure the SDK reports: `.modelUnreadable`, `.busy`, `.cancelled`, …
/// Branch on the cases you can act on; `.internal` carries a message for logs.
public typealias MoteError = MoteBindings.MoteError

extension GenerationConfig {
    /// Deterministic decoding: always the most likely token.
    public static func greedy(maxTokens: UInt32 = 256) -> GenerationConfig {
        GenerationConfig(maxTokens: maxTokens, temperature: 0, topK: 0, topP: 1, minP: 0, repetitionPenalty: 1)
    }
}

// Lifecycle-aware memory (see MoteLifecycle and docs/adr/0003-lifecycle-memory.md).
public typealias PressureLevel = MoteBindings.PressureLevel
public typealias Actions = MoteBindings.Actions
public typealias InFlight = MoteBindings.InFlight
public typealias MemoryPolicy = MoteBindings.MemoryPolicy
public typealias MemoryReport = MoteBindings.MemoryReport
public typealias ReleaseReport = MoteBindings.ReleaseReport
public typealias UnfinishedLoad = MoteBindings.UnfinishedLoad

// Battery telemetry (see EnergyMeter and CpuEnergySampler).
public typealias EnergySample = MoteBindings.EnergySample
public typealias EnergyReport = MoteBindings.EnergyReport
public typealias ThermalState = MoteBindings.ThermalState
public typealias Phase = MoteBindings.Phase
public typealias CpuPowerModel = MoteBindings.CpuPowerModel
