import Foundation
import MoteBindings
#if canImport(Darwin)
import Darwin
#elseif canImport(Glibc)
import Glibc
#endif
#if canImport(UIKit)
import UIKit
#endif

/// Energy readings for devices without a battery meter (iOS exposes no
/// battery current): power is estimated from this process's CPU time with the
/// core's model, `idle + per busy core × busy cores`, and every report made
/// from it is flagged `estimate`. Battery level, charging state and
/// `ProcessInfo.thermalState` ride along with each reading.
public final class CpuEnergySampler: @unchecked Sendable {
    /// The source name reports carry.
    public static let source = "ios-cpu-time-model"

    private let model: CpuPowerModel
    private let lock = NSLock()
    private var last: (wallMs: Double, cpuSeconds: Double)?
    private var battery: (pct: Float?, charging: Bool?) = (nil, nil)
    private var timer: DispatchSourceTimer?

    public init(model: CpuPowerModel = defaultCpuPowerModel()) {
        self.model = model
    }

    /// A meter whose reports are flagged as estimates.
    public static func meter() throws -> EnergyMeter {
        try EnergyMeter(source: source, estimate: true)
    }

    /// User + system CPU seconds this process has used (`getrusage`).
    public static func processCpuSeconds() -> Double {
        var usage = rusage()
        #if canImport(Glibc)
        // glibc declares `who` as an int but RUSAGE_SELF as an enum case.
        let who = __rusage_who_t(RUSAGE_SELF.rawValue)
        #else
        let who = RUSAGE_SELF
        #endif
        guard getrusage(who, &usage) == 0 else { return 0 }
        func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }

    /// Sets the battery figures attached to later readings (`UIDevice` on iOS,
    /// see `refreshBattery()`; nil where unknown).
    public func setBattery(percent: Float?, charging: Bool?) {
        lock.withLock { battery = (percent, charging) }
    }

    #if canImport(UIKit)
    /// Reads `UIDevice` battery level and state (enabling monitoring).
    @MainActor
    public func refreshBattery() {
        let device = UIDevice.current
        device.isBatteryMonitoringEnabled = true
        let level = device.batteryLevel
        let charging: Bool?
        switch device.batteryState {
        case .charging, .full: charging = true
        case .unplugged: charging = false
        default: charging = nil
        }
        setBattery(percent: level < 0 ? nil : level * 100, charging: charging)
    }
    #endif

    /// The next reading: power over the time since the previous call. The
    /// first call only primes the counters and returns nil.
    public func sample() -> EnergySample? {
        let now = EnergyMeter.clockMs
        let cpu = Self.processCpuSeconds()
        let thermal = ThermalState.current
        return lock.withLock {
            defer { last = (now, cpu) }
            guard let prev = last, now > prev.wallMs, cpu >= prev.cpuSeconds else { return nil }
            let busyCores = (cpu - prev.cpuSeconds) / ((now - prev.wallMs) / 1000)
            let watts = model.idleWatts + model.wattsPerBusyCore * busyCores
            return EnergySample(
                tMs: now, powerUw: watts * 1e6, batteryPct: battery.pct,
                charging: battery.charging, thermal: thermal
            )
        }
    }

    /// Pushes a reading into `meter` every `interval` seconds until `stop()`
    /// or until the meter is finished.
    public func start(_ meter: EnergyMeter, interval: Double = 0.1) {
        let timer = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "mote-cpu-energy"))
        timer.schedule(deadline: .now(), repeating: interval)
        timer.setEventHandler { [weak self] in
            guard let self, let s = self.sample() else { return }
            if (try? meter.push(s)) == nil { self.stop() }
        }
        lock.withLock {
            self.timer?.cancel()
            self.timer = timer
            last = nil
        }
        timer.resume()
    }

    public func stop() {
        lock.withLock {
            timer?.cancel()
            timer = nil
        }
    }

    /// Measures one reply end to end with a fresh estimating meter, `idleSeconds`
    /// of baseline on each side.
    public func measure(
        session: ChatSession,
        message: String,
        config: GenerationConfig,
        idleSeconds: Double = 2,
        interval: Double = 0.1
    ) async throws -> MeasuredReply {
        #if canImport(UIKit)
        await refreshBattery()
        #endif
        let meter = try Self.meter()
        start(meter, interval: interval)
        defer { stop() }
        return try await session.sendMeasured(message, config: config, meter: meter, idleSeconds: idleSeconds)
    }
}
