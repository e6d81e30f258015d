import Foundation
import Mote
import XCTest

// The examples from docs/ios.md (events, "Long conversations", "Running
// cool"), verbatim, so the documented API cannot drift from the real one.

func answer(_ session: ChatSession, _ question: String) async throws -> Reply? {
    var shown = ""
    for try await event in session.events(question, config: GenerationConfig(maxTokens: 128)) {
        switch event {
        case .token(let piece):
            shown += piece // update the UI here
        case .done(let reply):
            if reply.finish == .contextFull {
                print("the reply filled the context; shown so far: \(shown)")
            }
            return reply
        }
    }
    return nil // the task was cancelled
}

/// Under `.fail`, the app decides what to forget.
func sendMakingRoom(_ session: ChatSession, _ message: String, config: GenerationConfig) async throws -> Reply {
    while true {
        do {
            return try await session.send(message, config: config)
        } catch MoteError.contextFull {
            // The history is unchanged: forget the oldest exchange and retry.
            try session.removeMessage(at: 0) // the user's message
            try session.removeMessage(at: 0) // the reply to it
        }
    }
}

func showContext(_ session: ChatSession, engine: MoteEngine, draft: String) throws {
    let status = try session.contextStatus
    let needed = try engine.countTokens(draft)
    print("\(status.used) of \(status.limit) tokens used, \(status.droppedMessages) messages out of view; the draft needs \(needed)")
}

func throttleByHand(engine: MoteEngine) throws {
    try engine.setThreads(4)
    let hot = try engine.onThermalState(.serious)
    print(hot.threads, hot.applied) // 2 lowerThreads(threads: 2)
    let cool = try engine.onThermalState(.nominal)
    print(cool.threads) // 4
}

final class ChatDocExampleTests: XCTestCase {
    func testTheEventsExampleReturnsTheReply() async throws {
        let engine = try await TestModel.load()
        let session = try engine.newSession()
        let answered = try await answer(session, "Name a colour.")
        let reply = try XCTUnwrap(answered)
        XCTAssertEqual(try session.history.last?.content, reply.text)
    }

    func testTheMakingRoomExampleKeepsAFailingChatGoing() async throws {
        let engine = try await MoteEngine.load(path: TestModel.path, options: LoadOptions(contextLength: 128))
        let session = try engine.newSession()
        try session.setContextPolicy(.fail)
        for i in 1...12 {
            _ = try await sendMakingRoom(session, "Turn \(i): name a fruit.", config: .greedy(maxTokens: 8))
        }
        let history = try session.history
        XCTAssertLessThan(history.count, 24, "the context never filled, so nothing was forgotten")
        XCTAssertEqual(history[history.count - 2].content, "Turn 12: name a fruit.")
        XCTAssertEqual(try session.contextStatus.droppedMessages, 0, ".fail drops nothing by itself")
        try showContext(session, engine: engine, draft: "Another one?")
    }

    func testTheThermalExampleRuns() async throws {
        let engine = try await TestModel.load()
        try throttleByHand(engine: engine)
        XCTAssertEqual(try engine.threads, 4)
    }
}
