import Foundation
import Mote
import XCTest

/// Long chats in a small context: what each ContextPolicy does once the
/// conversation no longer fits. 512 tokens holds about 20 of these turns, so
/// 200 turns overflow it many times over.
final class ContextPolicyTests: XCTestCase {
    private static let turns = 200
    private static let context: Int32 = 512

    private static func load() async throws -> MoteEngine {
        try await MoteEngine.load(path: TestModel.path, options: LoadOptions(contextLength: Self.context))
    }

    private static func message(_ i: Int) -> String { "Turn \(i): name a fruit." }

    /// Runs `turns` greedy turns and reports what they cost.
    private static func chat(_ policy: ContextPolicy) async throws -> (ChatSession, [Reply]) {
        let engine = try await load()
        let session = try engine.newSession(systemPrompt: "You are terse.")
        try session.setContextPolicy(policy)
        XCTAssertEqual(try session.contextPolicy, policy)
        let start = Date()
        var replies: [Reply] = []
        var overshoot = 0
        let turns = Self.turns
        for i in 1...turns {
            let reply = try await session.send(Self.message(i), config: TestModel.greedy(8))
            replies.append(reply)
            // What the KV cache actually held this turn never exceeds the context.
            XCTAssertLessThanOrEqual(Int(reply.stats.promptTokens + reply.stats.generatedTokens), Int(Self.context), "turn \(i)")
            // The status renders the history with the template's closing tokens,
            // which the cache never held; count how often that reads over the limit.
            let status = try session.contextStatus
            if status.used > status.limit { overshoot += 1 }
            if i % 25 == 0 {
                progress("MEASURE \(policy) turn \(i): \(Int(Date().timeIntervalSince(start))) s, prompt \(reply.stats.promptTokens),"
                    + " reused \(reply.stats.cachedPromptTokens), ttft \(Int(reply.stats.ttftMs)) ms, status \(status.used)/\(status.limit)")
            }
        }
        let seconds = Date().timeIntervalSince(start)
        let late = replies.suffix(turns / 2)
        let prompt = late.map { Int($0.stats.promptTokens) }.reduce(0, +)
        let cached = late.map { Int($0.stats.cachedPromptTokens) }.reduce(0, +)
        let status = try session.contextStatus
        progress("MEASURE context policy \(policy): \(turns) turns in \(Int(seconds)) s (\(Int(seconds * 1000) / turns) ms/turn);"
            + " last \(turns / 2) turns reused \(cached) of \(prompt) prompt tokens;"
            + " status used \(status.used)/\(status.limit), dropped \(status.droppedMessages); status over the limit after \(overshoot) turns")
        return (session, replies)
    }

    private func assertLongChatCompleted(_ session: ChatSession, _ replies: [Reply], turns: Int) throws {
        XCTAssertEqual(replies.count, turns)
        XCTAssert(replies.allSatisfy { $0.stats.generatedTokens > 0 })
        let status = try session.contextStatus
        XCTAssertEqual(status.limit, Int(Self.context))
        XCTAssertEqual(status.remaining, max(0, status.limit - status.used))
        XCTAssertGreaterThan(status.droppedMessages, 0, "\(turns) turns cannot all fit in 512 tokens")
        // The model stops seeing old turns; the app's history keeps them.
        let history = try session.history
        XCTAssertEqual(history.count, 2 * turns)
        XCTAssertEqual(history.last?.content, replies.last?.text)
        XCTAssertEqual(history[history.count - 2].content, Self.message(turns))
    }

    // The long chats are synchronous tests: Linux XCTest waits for an async
    // test by spinning the main thread, which took a core from the model.
    func testDropOldestKeepsAChatOfTwoHundredTurnsGoing() throws {
        let (session, replies) = try blocking { try await Self.chat(.dropOldest) }
        try assertLongChatCompleted(session, replies, turns: Self.turns)
    }

    func testShiftKeepsAChatOfTwoHundredTurnsGoingWithoutRePrefilling() throws {
        let (session, replies) = try blocking { try await Self.chat(.shift) }
        try assertLongChatCompleted(session, replies, turns: Self.turns)
        // Shifting moves the cache instead of recomputing it: late turns,
        // all past the first overflow, still reuse most of their prompt.
        let late = replies.suffix(50)
        XCTAssert(late.allSatisfy { $0.stats.cachedPromptTokens * 2 > $0.stats.promptTokens }, "\(late.map(\.stats))")
    }

    func testFailThrowsContextFullAndKeepsTheHistory() throws {
        try blocking { try await Self.failUntilFull() }
    }

    private static func failUntilFull() async throws {
        let engine = try await load()
        let session = try engine.newSession(systemPrompt: "You are terse.")
        try session.setContextPolicy(.fail)
        let start = Date()
        for i in 1...Self.turns {
            let before = try session.history
            do {
                _ = try await session.send(Self.message(i), config: TestModel.greedy(8))
            } catch let error as MoteError {
                XCTAssertEqual(error, .contextFull(context: Int(Self.context)))
                XCTAssertGreaterThan(i, 5, "failed long before the context could be full")
                XCTAssertEqual(try session.history, before, "a refused turn changed the history")
                XCTAssertEqual(try session.contextStatus.droppedMessages, 0)
                progress("MEASURE context policy fail: contextFull at turn \(i) after \(Int(Date().timeIntervalSince(start))) s")
                // Making room is the app's decision: after it the chat goes on.
                try session.truncateHistory(to: 0)
                _ = try await session.send(Self.message(i), config: TestModel.greedy(8))
                return
            }
        }
        XCTFail("\(Self.turns) turns fit in \(Self.context) tokens under .fail")
    }

    func testAMessageThatCannotFitIsPromptTooLong() async throws {
        let engine = try await Self.load()
        let session = try engine.newSession()
        let long = String(repeating: "The quick brown fox jumps over the lazy dog. ", count: 80)
        XCTAssertGreaterThan(try engine.countTokens(long), Int(Self.context))
        await XCTAssertThrowsAsync(try await session.send(long, config: TestModel.greedy(4))) { error in
            guard case .promptTooLong(let tokens, let context)? = error as? MoteError else {
                return XCTFail("expected promptTooLong, got \(error)")
            }
            XCTAssertGreaterThan(tokens, context)
            XCTAssertEqual(context, Int(Self.context))
        }
        XCTAssertEqual(try session.history.count, 0)
    }

    func testAReplyThatFillsTheContextEndsNormally() async throws {
        let engine = try await MoteEngine.load(path: TestModel.path, options: LoadOptions(contextLength: 64))
        let session = try engine.newSession()
        var pieces: [String] = []
        var replies: [Reply] = []
        for try await event in session.events("Count from 1 to 500, separated by commas.", config: TestModel.greedy(200)) {
            switch event {
            case .token(let piece):
                XCTAssert(replies.isEmpty, "a piece after .done")
                pieces.append(piece)
            case .done(let reply): replies.append(reply)
            }
        }
        XCTAssertEqual(replies.count, 1)
        XCTAssertEqual(replies.first?.finish, .contextFull)
        XCTAssertEqual(replies.first?.text, pieces.joined())
    }
}

/// Runs `work` on the cooperative pool and blocks the calling thread until it
/// is done (a semaphore wait, not a spinning run loop).
func blocking<T: Sendable>(_ work: @escaping @Sendable () async throws -> T) throws -> T {
    let result = Collected<Result<T, Error>>()
    let done = DispatchSemaphore(value: 0)
    Task {
        do { result.append(.success(try await work())) } catch { result.append(.failure(error)) }
        done.signal()
    }
    done.wait()
    return try result.all[0].get()
}

/// Unbuffered, so a long run shows where it is.
func progress(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}
