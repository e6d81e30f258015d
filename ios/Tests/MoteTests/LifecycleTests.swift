import Mote
import XCTest

final class LifecycleTests: XCTestCase {
    func testReleasingTheLastReferenceFreesTheEngine() async throws {
        let baseline = TestModel.rssBytes()
        var engine: MoteEngine? = try await TestModel.load()
        var session: ChatSession? = try engine!.newSession()
        _ = try await session!.send("Hi", config: TestModel.greedy(4))
        let loaded = TestModel.rssBytes()
        weak var weakEngine = engine
        session = nil
        engine = nil
        XCTAssertNil(weakEngine, "something still holds the engine")
        let released = TestModel.rssBytes()
        let grew = loaded - baseline
        XCTAssertGreaterThan(grew, 32 << 20, "loading grew RSS by only \(grew >> 20) MiB")
        XCTAssertGreaterThan(loaded - released, grew / 2, "deinit returned \((loaded - released) >> 20) of \(grew >> 20) MiB")
    }
}
