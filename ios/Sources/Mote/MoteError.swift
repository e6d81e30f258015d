import Foundation
import MoteBindings

/// Every failure the SDK reports. Branch on the cases you can act on;
/// `.internal` carries a message for logs and bug reports.
///
/// The generated `MoteBindings.MoteError` spells its cases in UpperCamelCase
/// (UniFFI copies the Rust names); this enum is what Swift code expects, and
/// every throwing call of the `Mote` module maps to it.
public enum MoteError: Error, Sendable, Equatable {
    /// The model file could not be opened or read (missing, no permission).
    case modelUnreadable(path: String, reason: String)
    /// The file is not a valid GGUF model (corrupt or truncated).
    case invalidModel(reason: String)
    /// A valid model this build cannot run (architecture, quantization).
    case unsupportedModel(reason: String)
    /// Not enough memory to load the model (bytes).
    case insufficientMemory(needed: Int, available: Int)
    /// The new message alone does not fit in the context window.
    case promptTooLong(tokens: Int, context: Int)
    /// Under `ContextPolicy.fail`, the conversation plus the new message does
    /// not fit. The history is unchanged: remove or truncate messages,
    /// `reset()`, or switch policy.
    case contextFull(context: Int)
    /// The generation was cancelled by something other than the calling task
    /// (e.g. a memory policy with `inFlight = .cancel`); the partial reply
    /// stays in the history. A cancelled Swift task gets `CancellationError`.
    case cancelled
    /// The session is already generating a reply.
    case busy
    /// An argument was out of range (for example a negative `maxTokens`).
    case invalidArgument(reason: String)
    /// Persisting state failed; the in-memory session is unchanged.
    case storage(reason: String)
    /// A snapshot file is damaged, truncated, of another format or not a
    /// snapshot; nothing was restored from it.
    case invalidSnapshot(reason: String)
    /// A bug or an unexpected failure inside the engine.
    case `internal`(reason: String)

    init(_ raw: MoteBindings.MoteError) {
        // Int64 → Int is lossless on the 64-bit platforms the package supports.
        switch raw {
        case .ModelUnreadable(let path, let reason): self = .modelUnreadable(path: path, reason: reason)
        case .InvalidModel(let reason): self = .invalidModel(reason: reason)
        case .UnsupportedModel(let reason): self = .unsupportedModel(reason: reason)
        case .InsufficientMemory(let needed, let available):
            self = .insufficientMemory(needed: Int(needed), available: Int(available))
        case .PromptTooLong(let tokens, let context): self = .promptTooLong(tokens: Int(tokens), context: Int(context))
        case .ContextFull(let context): self = .contextFull(context: Int(context))
        case .Cancelled: self = .cancelled
        case .Busy: self = .busy
        case .InvalidArgument(let reason): self = .invalidArgument(reason: reason)
        case .Storage(let reason): self = .storage(reason: reason)
        case .InvalidSnapshot(let reason): self = .invalidSnapshot(reason: reason)
        case .Internal(let reason): self = .internal(reason: reason)
        }
    }
}

/// Runs a generated call and rethrows its error as `Mote.MoteError`, so no
/// generated error type escapes the public API.
func mapped<T>(_ call: () throws -> T) throws -> T {
    do {
        return try call()
    } catch let raw as MoteBindings.MoteError {
        throw MoteError(raw)
    }
}

/// A count handed to the native side: out-of-range values stay out of range
/// (clamped), so the core answers `.invalidArgument` rather than Swift trapping.
func ffiCount(_ n: Int) -> Int64 { Int64(clamping: n) }
func ffiCount32(_ n: Int) -> Int32 { Int32(clamping: n) }

extension MoteError: LocalizedError {
    /// For logs and `localizedDescription`; not meant to be shown as is.
    public var errorDescription: String? {
        String(describing: self)
    }
}
