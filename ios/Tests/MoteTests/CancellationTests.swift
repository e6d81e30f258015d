import Foundation
import Mote
import MoteBindings
import XCTest

final class CancellationTests: XCTestCase {
    /// Pins the native contract the async wrappers rely on.
    private final class Recorder: TokenListener, @unchecked Sendable {
        let tokens = Collected<String>()
        let terminal = Collected<Result<Reply, MoteBindings.MoteError>>()
        let threeTokens = DispatchSemaphore(value: 0)
        let done = DispatchSemaphore(value: 0)

        func onToken(text: String) {
            tokens.append(text)
            if tokens.all.count == 3 { threeTokens.signal() }
        }
        func onComplete(reply: Reply) { terminal.append(.success(reply)); done.signal() }
        func onError(error: MoteBindings.MoteError) { terminal.append(.failure(error)); done.signal() }
    }

    func testNoTokenArrivesAfterCancelReturns() throws {
        let engine = try Engine.load(path: TestModel.path, options: LoadOptions())
        let session = try engine.newSession()
        let recorder = Recorder()
        let handle = session.send(message: "Count from one to one hundred.", config: TestModel.greedy(200), listener: recorder)
        XCTAssertEqual(recorder.threeTokens.wait(timeout: .now() + 60), .success)
        handle.cancel()
        let seenAtCancel = recorder.tokens.all.count
        XCTAssertEqual(recorder.done.wait(timeout: .now() + 30), .success)
        XCTAssertEqual(recorder.tokens.all.count, seenAtCancel, "a token arrived after cancel() returned")
        guard case .failure(.Cancelled) = recorder.terminal.all.first else {
            return XCTFail("expected Cancelled, got \(recorder.terminal.all)")
        }
        XCTAssertEqual(recorder.terminal.all.count, 1)
        XCTAssertTrue(handle.isFinished())
        // The terminal callback came after the session went idle.
        XCTAssertFalse(session.isGenerating())
        let history = try session.history()
        XCTAssertEqual(history.count, 2)
        XCTAssert(history[1].content.hasPrefix(recorder.tokens.all.joined()))
    }

    func testCancellingTheTaskThrowsCancellationErrorAndLeavesTheSessionIdle() async throws {
        let engine = try await TestModel.load()
        let session = try engine.newSession()
        let maxTokens = 200
        let (started, signal) = AsyncStream.makeStream(of: Void.self)
        let seen = Collected<String>()
        let task = Task {
            try await session.send("Tell me everything about the sea.", config: TestModel.greedy(maxTokens)) { piece in
                seen.append(piece)
                if seen.all.count == 3 { signal.finish() }
            }
        }
        for await _ in started {}
        task.cancel()
        do {
            _ = try await task.value
            XCTFail("a cancelled send returned a reply")
        } catch is CancellationError {
        } catch {
            XCTFail("expected CancellationError, got \(error)")
        }
        // Structured: no waiting. The session is idle the moment send threw,
        // so calls that refuse a busy session succeed at once.
        XCTAssertFalse(session.isGenerating)
        let partial = try session.history
        XCTAssertEqual(partial.count, 2)
        XCTAssert(partial[1].content.hasPrefix(seen.all.joined()))
        // Cancelling stopped the generation, not just the wait for it.
        let generated = try engine.countTokens(partial[1].content)
        XCTAssertLessThan(generated, maxTokens / 4, "generation ran on after cancellation: \(generated) tokens")
        try session.truncateHistory(to: 2)
        let next = try await session.send("Thanks.", config: TestModel.greedy(4))
        XCTAssertGreaterThan(next.stats.generatedTokens, 0)
        try session.reset()
    }

    func testAnAlreadyCancelledTaskStartsNoTurn() async throws {
        let engine = try await TestModel.load()
        let session = try engine.newSession()
        let task = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await session.send("Hello", config: TestModel.greedy(4))
        }
        await XCTAssertThrowsAsync(try await task.value) { XCTAssert($0 is CancellationError, "\($0)") }
        XCTAssertEqual(try session.history.count, 0)
    }

    func testBreakingOutOfTheStreamCancelsGeneration() async throws {
        let engine = try await TestModel.load()
        let session = try engine.newSession()
        var pieces: [String] = []
        for try await piece in session.stream("Write a long story about a cat.", config: TestModel.greedy(200)) {
            pieces.append(piece)
            if pieces.count == 3 { break }
        }
        // The stream's loop may end before the worker lets go of the session;
        // the next send waits for that instead of failing with .busy.
        _ = try await session.send("Thanks.", config: TestModel.greedy(4))
        let reply = try session.history[1].content
        XCTAssert(reply.hasPrefix(pieces.joined()), "history \(reply) vs \(pieces)")
        XCTAssertLessThan(try engine.countTokens(reply), 50, "generation ran on after cancellation")
    }

    func testSecondSendWhileGeneratingIsBusy() async throws {
        let engine = try await TestModel.load()
        let session = try engine.newSession()
        for try await event in session.events("Describe the moon in detail.", config: TestModel.greedy(200)) {
            guard case .token = event else { return XCTFail("the reply ended before the test could race it") }
            await XCTAssertThrowsAsync(try await session.send("And the sun?", config: TestModel.greedy(4))) {
                XCTAssertEqual($0 as? Mote.MoteError, .busy)
            }
            XCTAssertThrowsError(try session.reset()) { XCTAssertEqual($0 as? Mote.MoteError, .busy) }
            XCTAssertThrowsError(try session.removeMessage(at: 0)) { XCTAssertEqual($0 as? Mote.MoteError, .busy) }
            break
        }
        // Leaving the loop cancelled the first reply; only it is in the history.
        _ = try await session.send("Thanks.", config: TestModel.greedy(4))
        XCTAssertEqual(try session.history.first?.content, "Describe the moon in detail.")
        XCTAssertEqual(try session.history.count, 4)
    }
}

/// XCTAssertThrowsError for async expressions.
func XCTAssertThrowsAsync<T>(
    _ expression: @autoclosure () async throws -> T,
    file: StaticString = #filePath, line: UInt = #line,
    _ check: (Error) -> Void = { _ in }
) async {
    do {
        _ = try await expression()
        XCTFail("no error thrown", file: file, line: line)
    } catch {
        check(error)
    }
}
