import Foundation
import Mote
import XCTest

final class EnergyTests: XCTestCase {
    /// `ProcessInfo.ThermalState` raw values, which Linux Foundation lacks.
    func testProcessThermalStatesMapOneToOne() {
        let expected: [ThermalState] = [.nominal, .fair, .serious, .critical]
        XCTAssertEqual((0...3).map { ThermalState(iosRawValue: $0) }, expected)
        XCTAssertEqual(ThermalState(iosRawValue: 4), .unknown)
        XCTAssertEqual(ThermalState(iosRawValue: -1), .unknown)
        #if canImport(Darwin)
        let platform: [ProcessInfo.ThermalState] = [.nominal, .fair, .serious, .critical]
        XCTAssertEqual(platform.map { ThermalState($0) }, expected)
        #else
        XCTAssertEqual(ThermalState.current, .unknown)
        #endif
    }

    func testCpuSamplerTurnsBusyTimeIntoPower() throws {
        let model = CpuPowerModel(wattsPerBusyCore: 2, idleWatts: 0.5)
        let sampler = CpuEnergySampler(model: model)
        XCTAssertNil(sampler.sample(), "the first call only primes the counters")
        sampler.setBattery(percent: 55, charging: false)
        let until = Date().addingTimeInterval(0.3)
        var spin = 0.0
        while Date() < until { spin += sin(spin) + 1 }
        let s = try XCTUnwrap(sampler.sample())
        XCTAssertGreaterThan(spin, 0)
        let watts = try XCTUnwrap(s.powerUw) / 1e6
        // One thread spinning is about one busy core, less whatever the OS took.
        XCTAssertGreaterThan(watts, 0.5 + 2 * 0.3, "\(watts) W")
        XCTAssertLessThan(watts, 0.5 + 2 * 1.2, "\(watts) W")
        XCTAssertEqual(s.batteryPct, 55)
        XCTAssertEqual(s.charging, false)
        XCTAssertNotNil(s.tMs)
    }

    func testAMeasuredReplyIsAnEstimate() async throws {
        let engine = try await MoteEngine.load(path: TestModel.path, options: LoadOptions(contextLength: 256))
        let session = try engine.newSession()
        let measured = try await CpuEnergySampler().measure(
            session: session, message: "Hi", config: TestModel.greedy(8), idleSeconds: 0.3, interval: 0.05
        )
        let energy = measured.energy
        XCTAssertTrue(energy.estimate)
        XCTAssertTrue(energy.flags.contains("estimate"), "\(energy.flags)")
        XCTAssertGreaterThanOrEqual(energy.uncertaintyPct, 50)
        XCTAssertEqual(energy.source, CpuEnergySampler.source)
        XCTAssertEqual(energy.tokens, Int64(measured.reply.stats.generatedTokens))
        // Generating keeps cores busy that were idle around it: positive net energy.
        XCTAssertGreaterThan(energy.joules, 0, "\(energy)")
        XCTAssertGreaterThan(energy.avgWatts, 0)
    }
}
