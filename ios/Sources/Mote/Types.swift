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

public typealias ContextPolicy = MoteBindings.ContextPolicy

extension GenerationConfig {
    /// Deterministic decoding: always the most likely token.
    public static func greedy(maxTokens: Int = 256) -> GenerationConfig {
        GenerationConfig(maxTokens: ffiCount32(maxTokens), temperature: 0, topK: 0, topP: 1, minP: 0, repetitionPenalty: 1)
    }
}

/// How full a session's context is, as of its last completed call. Its own
/// type rather than the generated one so the counts are `Int`, like the rest
/// of the Swift API.
public struct ContextStatus: Sendable, Equatable {
    /// Tokens the conversation the model sees takes.
    public var used: Int
    /// The context length.
    public var limit: Int
    public var remaining: Int
    /// Oldest history messages the model no longer sees (`.dropOldest`, `.shift`).
    public var droppedMessages: Int

    init(_ raw: MoteBindings.ContextStatus) {
        used = Int(raw.used)
        limit = Int(raw.limit)
        remaining = Int(raw.remaining)
        droppedMessages = Int(raw.droppedMessages)
    }
}

/// One reply as a sequence: its pieces, then exactly one `.done`.
public enum ChatEvent: Sendable {
    case token(String)
    /// The last event; `reply.text` is the pieces joined.
    case done(Reply)
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

// Thermal throttling (see MoteEngine.onThermalState and MoteLifecycle).
public typealias ThermalPolicy = MoteBindings.ThermalPolicy
public typealias ThermalAction = MoteBindings.ThermalAction
public typealias ThermalDecision = MoteBindings.ThermalDecision

extension ThermalPolicy {
    /// The core's default: two threads when serious, 100 ms between tokens when critical.
    public static var `default`: ThermalPolicy { defaultThermalPolicy() }
}
