import Foundation
import Mote
import MoteBindings
import XCTest

final class CancellationTests: XCTestCase {
    /// Pins the native contract the async wrappers rely on.
    private final class Recorder: TokenListener, @unchecked Sendable {
        let tokens = Collected<String>()
        let terminal = Collected<Result<Reply, MoteError>>()
        let threeTokens = DispatchSemaphore(value: 0)
        let done = DispatchSemaphore(value: 0)

        func onToken(text: String) {
            tokens.append(text)
            if tokens.all.count == 3 { threeTokens.signal() }
        }
        func onComplete(reply: Reply) { terminal.append(.success(reply)); done.signal() }
        func onError(error: MoteError) { terminal.append(.failure(error)); done.signal() }
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
        // The partial reply is kept and starts with what was delivered.
        let history = try session.history()
        XCTAssertEqual(history.count, 2)
        XCTAssert(history[1].content.hasPrefix(recorder.tokens.all.joined()))
    }

    func testBreakingOutOfTheStreamCancelsGeneration() async throws {
        let engine = try await TestModel.load()
        let session = try engine.newSession()
        var pieces: [String] = []
        for try await piece in session.stream("Write a long story about a cat.", config: TestModel.greedy(200)) {
            pieces.append(piece)
            if pieces.count == 3 { break }
        }
        try await waitUntilIdle(session)
        let reply = try session.history[1].content
        XCTAssert(reply.hasPrefix(pieces.joined()), "history \(reply) vs \(pieces)")
        XCTAssertLessThan(reply.count, 600, "generation ran on after cancellation")
    }

    func testCancellingTheTaskCancelsSend() async throws {
        let engine = try await TestModel.load()
        let session = try engine.newSession()
        let task = Task { try await session.send("Tell me everything about the sea.", config: TestModel.greedy(200)) }
        while !session.isGenerating { try await Task.sleep(nanoseconds: 5_000_000) }
        try await Task.sleep(nanoseconds: 200_000_000)
        task.cancel()
        do {
            _ = try await task.value
            XCTFail("a cancelled send returned a reply")
        } catch MoteError.Cancelled {}
        try await waitUntilIdle(session)
        XCTAssertEqual(try session.history.count, 2)
    }

    func testSecondSendWhileGeneratingIsBusy() async throws {
        let engine = try await TestModel.load()
        let session = try engine.newSession()
        let first = Task { try await session.send("Describe the moon.", config: TestModel.greedy(24)) }
        while !session.isGenerating { try await Task.sleep(nanoseconds: 5_000_000) }
        do {
            _ = try await session.send("And the sun?", config: TestModel.greedy(4))
            XCTFail("second send was not rejected")
        } catch MoteError.Busy {}
        XCTAssertThrowsError(try session.reset())
        _ = try await first.value
        XCTAssertEqual(try session.history.count, 2)
    }

    private func waitUntilIdle(_ session: Mote.ChatSession) async throws {
        let deadline = Date().addingTimeInterval(30)
        while session.isGenerating && Date() < deadline {
            try await Task.sleep(nanoseconds: 10_000_000)
        }
        XCTAssertFalse(session.isGenerating)
    }
}
