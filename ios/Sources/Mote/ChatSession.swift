import Foundation
import MoteBindings

/// One conversation: its history and KV cache. A session generates one reply at
/// a time; starting another while one runs fails with `MoteError.busy`.
/// Generation runs on a Rust worker thread, never on Swift's cooperative pool.
public final class ChatSession: Sendable {
    let inner: MoteBindings.ChatSession

    init(inner: MoteBindings.ChatSession) {
        self.inner = inner
    }

    /// Streams the reply to `message` piece by piece. Ending the iteration early
    /// (break, or cancelling the consuming task) cancels generation; once that
    /// cancellation completes no further piece arrives, and the partial reply
    /// stays in `history`.
    public func stream(_ message: String, config: GenerationConfig = GenerationConfig()) -> AsyncThrowingStream<String, Error> {
        // Unbounded: a slow consumer must never lose tokens.
        AsyncThrowingStream(bufferingPolicy: .unbounded) { continuation in
            let handle = inner.send(message: message, config: config, listener: StreamListener(continuation))
            continuation.onTermination = { _ in handle.cancel() }
        }
    }

    /// Generates the full reply to `message`. `onToken` (optional) sees each piece
    /// as it arrives, on the worker thread. Cancelling the calling task cancels
    /// the generation and throws `MoteError.cancelled`.
    public func send(
        _ message: String,
        config: GenerationConfig = GenerationConfig(),
        onToken: (@Sendable (String) -> Void)? = nil
    ) async throws -> Reply {
        let slot = HandleSlot()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                let listener = ReplyListener(continuation: continuation, onToken: onToken)
                slot.set(inner.send(message: message, config: config, listener: listener))
            }
        } onCancel: {
            slot.cancel()
        }
    }

    /// True while a reply is being generated.
    public var isGenerating: Bool {
        inner.isGenerating()
    }

    /// The conversation so far, without the system prompt. While a reply is
    /// being generated this is the history from before that turn.
    public var history: [ChatMessage] {
        get throws { try inner.history() }
    }

    /// Replaces the system prompt; `nil` removes it. Throws `.busy` while generating.
    public func setSystemPrompt(_ prompt: String?) throws {
        try inner.setSystemPrompt(prompt: prompt)
    }

    /// Forgets the conversation, keeping the system prompt. Throws `.busy` while generating.
    public func reset() throws {
        try inner.reset()
    }

    /// Writes the conversation and its KV cache to `path`, for
    /// `MoteEngine.restoreSession(path:)` in this or a later process.
    public func saveSnapshot(to path: String) throws {
        try inner.saveSnapshot(path: path)
    }

    /// Whether the KV cache is in memory; false after a release dropped it.
    public var hasKvCache: Bool {
        get throws { try inner.hasKvCache() }
    }

    /// Tokens whose keys and values are cached, in memory or in a snapshot.
    public var cachedTokens: UInt64 {
        get throws { try inner.cachedTokens() }
    }
}

private final class StreamListener: TokenListener, Sendable {
    let continuation: AsyncThrowingStream<String, Error>.Continuation

    init(_ continuation: AsyncThrowingStream<String, Error>.Continuation) {
        self.continuation = continuation
    }

    func onToken(text: String) { continuation.yield(text) }
    func onComplete(reply: Reply) { continuation.finish() }
    func onError(error: MoteError) { continuation.finish(throwing: error) }
}

private final class ReplyListener: TokenListener, Sendable {
    // The native side calls exactly one of onComplete/onError, so the
    // continuation is resumed exactly once.
    let continuation: CheckedContinuation<Reply, Error>
    let onToken: (@Sendable (String) -> Void)?

    init(continuation: CheckedContinuation<Reply, Error>, onToken: (@Sendable (String) -> Void)?) {
        self.continuation = continuation
        self.onToken = onToken
    }

    func onToken(text: String) { onToken?(text) }
    func onComplete(reply: Reply) { continuation.resume(returning: reply) }
    func onError(error: MoteError) { continuation.resume(throwing: error) }
}

/// Task cancellation can fire before `send` has returned its handle; the slot
/// remembers it and cancels the handle as soon as it arrives.
private final class HandleSlot: @unchecked Sendable {
    private let lock = NSLock()
    private var handle: TaskHandle?
    private var cancelled = false

    func set(_ handle: TaskHandle) {
        let cancelNow = lock.withLock {
            self.handle = handle
            return cancelled
        }
        if cancelNow { handle.cancel() }
    }

    func cancel() {
        let handle = lock.withLock {
            cancelled = true
            return self.handle
        }
        handle?.cancel()
    }
}
