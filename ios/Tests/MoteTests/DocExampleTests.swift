import Mote
import XCTest

// The example from docs/ios.md, verbatim apart from the smaller config, so the
// documented API cannot drift from the real one.

func chat(modelPath: String) async throws {
    // Loads on a detached task; fine to call from the main actor.
    let engine = try await MoteEngine.load(path: modelPath, options: LoadOptions(contextLength: 1024))
    let session = try engine.newSession(systemPrompt: "You are a helpful assistant.")
    let config = GenerationConfig(maxTokens: 8, temperature: 0.7)

    // Streaming: breaking out of the loop or cancelling the task stops generation.
    for try await piece in session.stream("What is the capital of France?", config: config) {
        print(piece, terminator: "")
    }

    // Whole reply; the session remembers the previous turn.
    let reply = try await session.send("And of Italy?", config: config)
    print("\n\(reply.text) (\(reply.stats.decodeTokensPerS) tok/s, \(reply.finish))")
    print(try session.history.count) // 4: user, assistant, user, assistant
    XCTAssertEqual(try session.history.count, 4)
}

func safeLoad(path: String) async -> MoteEngine? {
    do {
        return try await MoteEngine.load(path: path)
    } catch MoteError.modelUnreadable(let path, let reason) {
        print("cannot read \(path): \(reason)")
        return nil
    } catch {
        print("cannot load: \(error)")
        return nil
    }
}

final class DocExampleTests: XCTestCase {
    func testTheDocumentedExampleRuns() async throws {
        try await chat(modelPath: TestModel.path)
        let engine = await safeLoad(path: "/nonexistent.gguf")
        XCTAssertNil(engine)
    }
}
