import Foundation
import Mote
import XCTest

// The examples from docs/ios.md ("Staying alive under memory pressure",
// "Measuring battery cost"), verbatim, so the documented API cannot drift.

final class ChatModel: @unchecked Sendable {
    private(set) var engine: MoteEngine?
    private(set) var lifecycle: MoteLifecycle?

    func start(modelPath: String) async throws {
        let engine: MoteEngine
        do {
            // The pre-load check reads os_proc_available_memory() on iOS.
            engine = try await MoteEngine.load(path: modelPath, options: LoadOptions(contextLength: 1024))
        } catch MoteError.insufficientMemory(let needed, let available) {
            print("needs \(needed) bytes, \(available) available: trying a smaller context")
            engine = try await MoteEngine.load(path: modelPath, options: LoadOptions(contextLength: 256))
        }
        lifecycle = try MoteLifecycle(engine: engine) { report in
            print("released for \(String(describing: report.level)): \(report.after.processFootprintBytes) bytes left")
        }
        self.engine = engine
    }

    func stop() {
        lifecycle?.uninstall()
        lifecycle = nil
        engine = nil
    }
}

func measureReply(session: ChatSession) async throws {
    let measured = try await CpuEnergySampler().measure(
        session: session, message: "Summarise the plot of Hamlet.",
        config: GenerationConfig(maxTokens: 256),
        idleSeconds: 2 // baseline before and after the reply
    )
    let e = measured.energy
    if !e.valid {
        print("not measurable: \(e.flags)") // a charger was connected
    } else {
        print("≈\(e.joulesPerToken) J/token (estimate, ±\(Int(e.uncertaintyPct)) %)")
    }
}

final class LifecycleDocExampleTests: XCTestCase {
    func testTheDocumentedModelReleasesOnAMemoryWarning() async throws {
        let model = ChatModel()
        try await model.start(modelPath: TestModel.path)
        let engine = try XCTUnwrap(model.engine)
        XCTAssertTrue(try engine.isLoaded)
        NotificationCenter.default.post(name: MoteLifecycle.Signals.platform.memoryWarning, object: nil)
        // The handler only queued the release, off the posting thread.
        await model.lifecycle?.waitForPendingWork()
        XCTAssertFalse(try engine.isLoaded)
        model.stop()
    }
}
