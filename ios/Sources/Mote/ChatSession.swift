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
    /// stays in `history`. The loop can end a moment before the native side
    /// lets go of the session; a following `send`/`stream` waits for that
    /// instead of failing with `.busy`.
    public func stream(_ message: String, config: GenerationConfig = GenerationConfig()) -> AsyncThrowingStream<String, Error> {
        start(message, config, piece: { $0 }, done: { _ in nil })
    }

    /// Like `stream`, with the `Reply` (finish reason, stats) at the end:
    /// `.token` pieces, then exactly one `.done`. A reply that fills the
    /// context mid-generation is a normal `.done` with `finish == .contextFull`.
    public func events(_ message: String, config: GenerationConfig = GenerationConfig()) -> AsyncThrowingStream<ChatEvent, Error> {
        start(message, config, piece: { .token($0) }, done: { .done($0) })
    }

    private func start<Element: Sendable>(
        _ message: String,
        _ config: GenerationConfig,
        piece: @escaping @Sendable (String) -> Element,
        done: @escaping @Sendable (Reply) -> Element?
    ) -> AsyncThrowingStream<Element, Error> {
        // Unbounded: a slow consumer must never lose tokens.
        AsyncThrowingStream(bufferingPolicy: .unbounded) { continuation in
            let listener = StreamListener(continuation, piece: piece, done: done)
            let handle = inner.send(message: message, config: config, listener: listener)
            continuation.onTermination = { reason in
                // Only a consumer that left early needs the generation stopped.
                if case .cancelled = reason { handle.cancel() }
            }
        }
    }

    /// Generates the full reply to `message`. `onToken` (optional) sees each piece
    /// as it arrives, on the worker thread.
    ///
    /// Structured: it returns (or throws) only after the native side has
    /// finished with the session, so the session is idle then and an
    /// immediate `send`, `reset()` or history edit cannot meet `.busy`.
    /// Cancelling the calling task cancels the generation and throws
    /// `CancellationError`; the partial reply stays in `history`.
    public func send(
        _ message: String,
        config: GenerationConfig = GenerationConfig(),
        onToken: (@Sendable (String) -> Void)? = nil
    ) async throws -> Reply {
        // An already-cancelled task does not start a turn at all.
        try Task.checkCancellation()
        let slot = HandleSlot()
        do {
            return try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { continuation in
                    let listener = ReplyListener(continuation: continuation, onToken: onToken)
                    slot.set(inner.send(message: message, config: config, listener: listener))
                }
            } onCancel: {
                slot.cancel()
            }
        } catch MoteError.cancelled where slot.cancelledByTask {
            // Swift code expects task cancellation to surface as CancellationError;
            // `.cancelled` stays for cancellations the task did not ask for.
            throw CancellationError()
        }
    }

    /// True while a reply is being generated. For display only: `send` is
    /// structured, so code never needs to wait on this.
    public var isGenerating: Bool {
        inner.isGenerating()
    }

    /// The conversation so far, without the system prompt. While a reply is
    /// being generated this is the history from before that turn.
    public var history: [ChatMessage] {
        get throws { try mapped { try inner.history() } }
    }

    /// Replaces the system prompt; `nil` removes it. Throws `.busy` while generating.
    public func setSystemPrompt(_ prompt: String?) throws {
        try mapped { try inner.setSystemPrompt(prompt: prompt) }
    }

    /// Forgets the conversation, keeping the system prompt, and deletes the
    /// session's own snapshot. Throws `.busy` while generating.
    public func reset() throws {
        try mapped { try inner.reset() }
    }

    /// Writes the conversation and its KV cache to `path`, for
    /// `MoteEngine.restoreSession(path:)` in this or a later process.
    public func saveSnapshot(to path: String) throws {
        try mapped { try inner.saveSnapshot(path: path) }
    }

    /// The snapshot a memory release wrote for this session, if any. It is
    /// deleted by `reset()` and when the session goes away; pass it to
    /// `MoteEngine.restoreSession(path:)` after the app was killed.
    public var snapshotPath: String? {
        inner.snapshotPath()
    }

    /// Whether the KV cache is in memory; false after a release dropped it.
    public var hasKvCache: Bool {
        get throws { try mapped { try inner.hasKvCache() } }
    }

    /// Tokens whose keys and values are cached, in memory or in a snapshot.
    public var cachedTokens: Int {
        get throws { Int(try mapped { try inner.cachedTokens() }) }
    }
}

// History editing and the context window (ContextPolicy).
extension ChatSession {
    /// Removes history message `index` (0 = the first after the system prompt).
    /// Throws `.busy` while generating, `.invalidArgument` for a bad index.
    public func removeMessage(at index: Int) throws {
        try mapped { try inner.removeMessage(index: ffiCount(index)) }
    }

    /// Replaces history message `index`. Throws `.busy` while generating.
    public func replaceMessage(at index: Int, with message: ChatMessage) throws {
        try mapped { try inner.replaceMessage(index: ffiCount(index), message: message) }
    }

    /// Keeps the first `count` history messages. Throws `.busy` while generating.
    public func truncateHistory(to count: Int) throws {
        try mapped { try inner.truncateHistory(len: ffiCount(count)) }
    }

    /// How much of the context the conversation takes, as of the last completed call.
    public var contextStatus: ContextStatus {
        get throws { ContextStatus(try mapped { try inner.contextStatus() }) }
    }

    /// What happens when the conversation outgrows the context (default `.dropOldest`).
    public var contextPolicy: ContextPolicy {
        get throws { try mapped { try inner.contextPolicy() } }
    }

    /// Throws `.busy` while generating (a property cannot throw from its setter).
    public func setContextPolicy(_ policy: ContextPolicy) throws {
        try mapped { try inner.setContextPolicy(policy: policy) }
    }
}
