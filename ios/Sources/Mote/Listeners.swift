import Foundation
import MoteBindings

// The native side calls a listener's onToken zero or more times, then exactly
// one of onComplete/onError, after which the session is idle. Both listeners
// below rely on that: a stream is finished and a continuation resumed once.

/// Feeds an AsyncThrowingStream; `done` may add a last element for the reply.
final class StreamListener<Element: Sendable>: TokenListener, Sendable {
    let continuation: AsyncThrowingStream<Element, Error>.Continuation
    let piece: @Sendable (String) -> Element
    let done: @Sendable (Reply) -> Element?

    init(
        _ continuation: AsyncThrowingStream<Element, Error>.Continuation,
        piece: @escaping @Sendable (String) -> Element,
        done: @escaping @Sendable (Reply) -> Element?
    ) {
        self.continuation = continuation
        self.piece = piece
        self.done = done
    }

    func onToken(text: String) { continuation.yield(piece(text)) }

    func onComplete(reply: Reply) {
        if let last = done(reply) { continuation.yield(last) }
        continuation.finish()
    }

    func onError(error: MoteBindings.MoteError) { continuation.finish(throwing: MoteError(error)) }
}

/// Resumes `send`'s continuation from the terminal callback.
final class ReplyListener: TokenListener, Sendable {
    let continuation: CheckedContinuation<Reply, Error>
    let onToken: (@Sendable (String) -> Void)?

    init(continuation: CheckedContinuation<Reply, Error>, onToken: (@Sendable (String) -> Void)?) {
        self.continuation = continuation
        self.onToken = onToken
    }

    func onToken(text: String) { onToken?(text) }
    func onComplete(reply: Reply) { continuation.resume(returning: reply) }
    func onError(error: MoteBindings.MoteError) { continuation.resume(throwing: MoteError(error)) }
}

/// Task cancellation can fire before `send` has returned its handle; the slot
/// remembers it and cancels the handle as soon as it arrives. It also records
/// that the task asked, so `send` can tell that `.cancelled` apart from one
/// nobody in Swift requested.
final class HandleSlot: @unchecked Sendable {
    private let lock = NSLock()
    private var handle: TaskHandle?
    private var cancelled = false

    var cancelledByTask: Bool { lock.withLock { cancelled } }

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
