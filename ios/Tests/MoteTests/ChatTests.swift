import Mote
import XCTest

final class ChatTests: XCTestCase {
    func testStreamsAReplyPieceByPiece() async throws {
        let engine = try await TestModel.load()
        let info = try engine.info
        XCTAssertEqual(info.architecture, "llama")
        XCTAssertEqual(info.contextLength, 1024)
        XCTAssertTrue(info.hasChatTemplate)
        let session = try engine.newSession()
        var pieces: [String] = []
        for try await piece in session.stream("Name a colour.", config: TestModel.greedy(12)) {
            pieces.append(piece)
        }
        XCTAssertGreaterThan(pieces.count, 1)
        let history = try session.history
        XCTAssertEqual(history.map(\.role), [.user, .assistant])
        XCTAssertEqual(history[0].content, "Name a colour.")
        // The streamed pieces are exactly the reply recorded in the history.
        XCTAssertEqual(history[1].content, pieces.joined())
    }

    func testSecondTurnSeesTheFirst() async throws {
        let engine = try await TestModel.load()
        let session = try engine.newSession(systemPrompt: "You are terse.")
        let first = try await session.send("My name is Ada.", config: TestModel.greedy(8))
        let second = try await session.send("What is my name?", config: TestModel.greedy(8))
        let history = try session.history
        XCTAssertEqual(history.map(\.role), [.user, .assistant, .user, .assistant])
        XCTAssertEqual(history[1].content, first.text)
        XCTAssertEqual(history[3].content, second.text)
        XCTAssert((1...8).contains(first.stats.generatedTokens))
        // Turn 2's prompt contains turn 1, so it is strictly longer.
        XCTAssertGreaterThan(second.stats.promptTokens, first.stats.promptTokens + first.stats.generatedTokens)
    }

    func testMissingModelIsATypedError() async throws {
        do {
            _ = try await MoteEngine.load(path: "/nonexistent/model.gguf")
            XCTFail("loading a missing file succeeded")
        } catch MoteError.modelUnreadable(let path, _) {
            XCTAssertEqual(path, "/nonexistent/model.gguf")
        }
    }

    func testTwoSessionsOnTwoThreads() async throws {
        let engine = try await TestModel.load()
        let results = try await withThrowingTaskGroup(of: (Int, Reply, [ChatMessage]).self) { group in
            for i in 1...2 {
                group.addTask {
                    let session = try engine.newSession()
                    let reply = try await session.send("Say hello number \(i).", config: TestModel.greedy(12))
                    return (i, reply, try session.history)
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        XCTAssertEqual(results.count, 2)
        for (i, reply, history) in results {
            XCTAssertGreaterThan(reply.stats.generatedTokens, 0)
            XCTAssertEqual(history[1].content, reply.text)
            // Each session kept its own conversation.
            XCTAssert(history[0].content.contains("\(i)"))
        }
    }
}
