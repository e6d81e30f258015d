import Foundation
import Mote
import XCTest

/// MoteLifecycle driven by posted notifications (UIKit's names on iOS, the
/// same-meaning names of `Signals.platform` here), with the real SmolLM2 engine.
final class MemoryPressureTests: XCTestCase {
    private var snapshots: URL!

    override func setUpWithError() throws {
        snapshots = FileManager.default.temporaryDirectory.appendingPathComponent("mote-snap-\(UUID().uuidString)")
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: snapshots)
    }

    private func install(_ engine: MoteEngine, center: NotificationCenter, reports: Collected<ReleaseReport>) throws -> MoteLifecycle {
        try MoteLifecycle(engine: engine, snapshotDirectory: snapshots, center: center) { reports.append($0) }
    }

    func testMemoryWarningUnmapsTheWeightsAndTheChatContinues() async throws {
        let engine = try await MoteEngine.load(path: TestModel.path, options: LoadOptions(contextLength: 512))
        let center = NotificationCenter()
        let reports = Collected<ReleaseReport>()
        let lifecycle = try install(engine, center: center, reports: reports)
        let session = try engine.newSession()
        let first = try await session.send("Hello", config: TestModel.greedy(6))
        let weights = try engine.memoryReport.weightsBytes
        XCTAssertGreaterThan(weights, 32 << 20)

        center.post(name: MoteLifecycle.Signals.platform.memoryWarning, object: nil)
        await lifecycle.waitForPendingWork()

        let report = try XCTUnwrap(reports.all.first)
        XCTAssertEqual(reports.all.count, 1)
        XCTAssertEqual(report.level, .critical)
        XCTAssertTrue(report.actions.unmapWeights)
        XCTAssertEqual(report.before.weightsBytes, weights)
        XCTAssertEqual(report.after.weightsBytes, 0)
        XCTAssertEqual(report.snapshotsWritten, 1)
        XCTAssertFalse(try engine.isLoaded)

        _ = try await session.send("How are you?", config: TestModel.greedy(6))
        XCTAssertTrue(try engine.isLoaded, "the turn reloads the weights")
        let history = try session.history
        XCTAssertEqual(history.map(\.role), [.user, .assistant, .user, .assistant])
        XCTAssertEqual(history[1].content, first.text)
        XCTAssertTrue(lifecycle.isInForeground)
    }

    func testBackgroundSnapshotsAndDropsTheCacheAndTheChatResumesFromIt() async throws {
        let engine = try await MoteEngine.load(path: TestModel.path, options: LoadOptions(contextLength: 512))
        let center = NotificationCenter()
        let reports = Collected<ReleaseReport>()
        let lifecycle = try install(engine, center: center, reports: reports)
        let session = try engine.newSession()
        _ = try await session.send("My name is Ada.", config: TestModel.greedy(6))
        let before = try session.history

        center.post(name: MoteLifecycle.Signals.platform.didEnterBackground, object: nil)
        XCTAssertFalse(lifecycle.isInForeground)
        await lifecycle.waitForPendingWork()
        let report = try XCTUnwrap(reports.all.first)
        XCTAssertEqual(report.level, .background)
        XCTAssertTrue(report.actions.dropKvCache && !report.actions.unmapWeights)
        XCTAssertEqual(report.snapshotsWritten, 1)
        XCTAssertGreaterThan(report.before.kvCacheBytes, 0)
        XCTAssertEqual(report.after.kvCacheBytes, 0)
        XCTAssertFalse(try session.hasKvCache)
        // Snapshots v2 also keep a model-hashes cache next to the session files.
        let files = try FileManager.default.contentsOfDirectory(atPath: snapshots.path)
        let written = files.filter { $0.hasSuffix(".motesnap") }
        XCTAssertEqual(written.count, 1, "\(files)")
        XCTAssertEqual(session.snapshotPath, written.first.map { snapshots.appendingPathComponent($0).path })

        center.post(name: MoteLifecycle.Signals.platform.willEnterForeground, object: nil)
        XCTAssertTrue(lifecycle.isInForeground)
        await lifecycle.waitForPendingWork()
        XCTAssertEqual(reports.all.count, 1, "returning frees nothing")

        // Greedy: the restored session answers exactly like one that never lost
        // its cache, and only the new turn is prefilled.
        let second = try await session.send("What is my name?", config: TestModel.greedy(6))
        XCTAssertGreaterThan(second.stats.cachedPromptTokens, 0, "re-prefilled instead of restoring")
        let control = try engine.newSession()
        _ = try await control.send("My name is Ada.", config: TestModel.greedy(6))
        _ = try await control.send("What is my name?", config: TestModel.greedy(6))
        XCTAssertEqual(Array(try session.history.prefix(2)), before)
        XCTAssertEqual(try session.history, try control.history)
    }

    func testHandlersDoNotWorkOnThePostingThread() async throws {
        let engine = try await MoteEngine.load(path: TestModel.path, options: LoadOptions(contextLength: 256))
        let center = NotificationCenter()
        let releasedOn = Collected<pthread_t>()
        let lifecycle = try MoteLifecycle(engine: engine, snapshotDirectory: snapshots, center: center) { _ in
            releasedOn.append(pthread_self())
        }
        // Stands in for UIKit's main thread: whatever posts must not carry the release.
        let poster = DispatchQueue(label: "poster").sync { () -> pthread_t in
            center.post(name: MoteLifecycle.Signals.platform.memoryWarning, object: nil)
            return pthread_self()
        }
        await lifecycle.waitForPendingWork()
        let worker = try XCTUnwrap(releasedOn.all.first)
        XCTAssertEqual(pthread_equal(worker, poster), 0, "the release ran on the posting thread")
        XCTAssertFalse(try engine.isLoaded)
    }

    func testUninstallStopsObserving() async throws {
        let engine = try await MoteEngine.load(path: TestModel.path, options: LoadOptions(contextLength: 256))
        let center = NotificationCenter()
        let reports = Collected<ReleaseReport>()
        let lifecycle = try install(engine, center: center, reports: reports)
        lifecycle.uninstall()
        center.post(name: MoteLifecycle.Signals.platform.memoryWarning, object: nil)
        await lifecycle.waitForPendingWork()
        XCTAssertTrue(reports.all.isEmpty)
        XCTAssertTrue(try engine.isLoaded)
    }

    func testAModelThatDoesNotFitIsRefusedBeforeLoading() async throws {
        do {
            _ = try await MoteEngine.load(path: TestModel.path, options: LoadOptions(availableMemoryBytes: 16 << 20))
            XCTFail("loaded with 16 MiB available")
        } catch MoteError.insufficientMemory(let needed, let available) {
            XCTAssertEqual(available, 16 << 20)
            XCTAssertGreaterThan(needed, 64 << 20)
        }
    }
}
