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
