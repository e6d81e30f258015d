import Foundation
import Mote
import XCTest

/// Errors, events, history editing, token counts and thermal throttling as the
/// `Mote` module exposes them.
final class SessionApiTests: XCTestCase {
    func testErrorsAreTheWrappersLowerCamelCaseCases() async throws {
        await XCTAssertThrowsAsync(try await MoteEngine.load(path: "/nonexistent/model.gguf")) { error in
            guard case .modelUnreadable(let path, _)? = error as? MoteError else {
                return XCTFail("expected Mote.MoteError.modelUnreadable, got \(type(of: error)) \(error)")
            }
            XCTAssertEqual(path, "/nonexistent/model.gguf")
        }
        let engine = try await TestModel.load()
        let session = try engine.newSession()
        // Counts are signed at the boundary; a negative one is an argument error.
        await XCTAssertThrowsAsync(try await session.send("Hi", config: TestModel.greedy(-1))) {
            guard case .invalidArgument? = $0 as? MoteError else { return XCTFail("\($0)") }
        }
        XCTAssertThrowsError(try session.removeMessage(at: -1)) {
            guard case .invalidArgument? = $0 as? MoteError else { return XCTFail("\($0)") }
        }
        XCTAssertThrowsError(try engine.setThreads(0)) {
            guard case .invalidArgument? = $0 as? MoteError else { return XCTFail("\($0)") }
        }
        let garbage = FileManager.default.temporaryDirectory.appendingPathComponent("not-a-snapshot-\(UUID().uuidString)")
        try Data("not a snapshot".utf8).write(to: garbage)
        defer { try? FileManager.default.removeItem(at: garbage) }
        XCTAssertThrowsError(try engine.restoreSession(path: garbage.path)) {
            guard case .invalidSnapshot? = $0 as? MoteError else { return XCTFail("\($0)") }
        }
    }

    func testEventsEndWithExactlyOneDoneCarryingTheReply() async throws {
        let engine = try await TestModel.load()
        let session = try engine.newSession()
        var events: [ChatEvent] = []
        for try await event in session.events("Name a colour.", config: TestModel.greedy(12)) {
            events.append(event)
        }
        let pieces = events.compactMap { (e: ChatEvent) -> String? in
            if case .token(let p) = e { return p } else { return nil }
        }
        let replies = events.compactMap { (e: ChatEvent) -> Reply? in
            if case .done(let r) = e { return r } else { return nil }
        }
        XCTAssertEqual(replies.count, 1)
        guard case .done(let reply)? = events.last else { return XCTFail("the last event is not .done: \(events)") }
        XCTAssertGreaterThan(pieces.count, 1)
        XCTAssertEqual(reply.text, pieces.joined())
        XCTAssertLessThanOrEqual(abs(Int(reply.stats.generatedTokens) - (try engine.countTokens(reply.text))), 2)
        XCTAssertEqual(try session.history.last?.content, reply.text)
    }

    func testEditingTheHistory() async throws {
        let engine = try await TestModel.load()
        let session = try engine.newSession()
        XCTAssertNil(session.snapshotPath)
        _ = try await session.send("My name is Ada.", config: TestModel.greedy(6))
        _ = try await session.send("I live in Paris.", config: TestModel.greedy(6))
        XCTAssertEqual(try session.history.count, 4)

        try session.replaceMessage(at: 0, with: ChatMessage(role: .user, content: "My name is Bob."))
        XCTAssertEqual(try session.history[0].content, "My name is Bob.")
        try session.removeMessage(at: 1)
        XCTAssertEqual(Array(try session.history.map(\.content).prefix(2)), ["My name is Bob.", "I live in Paris."])
        try session.truncateHistory(to: 1)
        XCTAssertEqual(try session.history, [ChatMessage(role: .user, content: "My name is Bob.")])
        XCTAssertThrowsError(try session.removeMessage(at: 5))

        // The next turn is built from the edited history.
        let reply = try await session.send("What is my name?", config: TestModel.greedy(6))
        let prompt = try engine.countMessageTokens(Array(try session.history.prefix(2)))
        XCTAssertEqual(Int(reply.stats.promptTokens), prompt)
    }

    func testCountingTokensAndContextStatus() async throws {
        let engine = try await TestModel.load()
        let short = try engine.countTokens("Hello")
        let long = try engine.countTokens("Hello, how are you today? I hope the weather is fine.")
        XCTAssertGreaterThan(short, 0)
        XCTAssertGreaterThan(long, short)
        let messages = [ChatMessage(role: .user, content: "Hello")]
        XCTAssertGreaterThan(try engine.countMessageTokens(messages), short, "the template adds tokens")

        let session = try engine.newSession()
        XCTAssertEqual(try session.contextStatus.used, 0)
        XCTAssertEqual(try session.cachedTokens, 0)
        let reply = try await session.send("Hello", config: TestModel.greedy(6))
        let status = try session.contextStatus
        XCTAssertEqual(status.limit, 1024)
        XCTAssertEqual(status.remaining, status.limit - status.used)
        XCTAssertEqual(status.droppedMessages, 0)
        XCTAssertGreaterThanOrEqual(status.used, Int(reply.stats.promptTokens))
        XCTAssertGreaterThan(try session.cachedTokens, 0)
        XCTAssertEqual(try session.contextPolicy, .dropOldest)
    }

    func testThermalStatesLowerAndRestoreTheThreads() async throws {
        let engine = try await TestModel.load()
        XCTAssertEqual(engine.thermalPolicy, ThermalPolicy.default)
        try engine.setThreads(4)
        XCTAssertEqual(try engine.threads, 4)
        let hot = try engine.onThermalState(.serious)
        XCTAssertEqual(hot.applied, .lowerThreads(threads: 2))
        XCTAssertEqual(try engine.threads, 2)
        let cool = try engine.onThermalState(.nominal)
        XCTAssertEqual(cool.applied, ThermalAction.none)
        XCTAssertEqual(try engine.threads, 4)
    }

    func testTheLifecycleForwardsThermalChanges() async throws {
        let engine = try await TestModel.load()
        try engine.setThreads(4)
        let state = Collected<ThermalState>()
        state.append(.nominal)
        let center = NotificationCenter()
        let base = MoteLifecycle.Signals.platform
        let signals = MoteLifecycle.Signals(
            memoryWarning: base.memoryWarning, didEnterBackground: base.didEnterBackground,
            willEnterForeground: base.willEnterForeground, thermalState: { state.all.last ?? .unknown }
        )
        let lifecycle = try MoteLifecycle(engine: engine, snapshotDirectory: nil, center: center, signals: signals)
        await lifecycle.waitForPendingWork()
        XCTAssertEqual(try engine.threads, 4)
        state.append(.serious)
        center.post(name: signals.thermalStateDidChange, object: nil)
        await lifecycle.waitForPendingWork()
        XCTAssertEqual(try engine.threads, 2)
        state.append(.nominal)
        center.post(name: signals.thermalStateDidChange, object: nil)
        await lifecycle.waitForPendingWork()
        XCTAssertEqual(try engine.threads, 4)
    }
}
