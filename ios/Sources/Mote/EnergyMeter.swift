import Foundation
import MoteBindings

/// Measures the energy of one generation. Readings pushed here (by
/// `CpuEnergySampler`, or your own code) are recorded on a native thread until
/// `finish`, which splits the energy into prefill and decode net of the idle
/// baseline. Show numbers only with `valid`, `estimate` and `lowConfidence`.
public final class EnergyMeter: Sendable {
    let inner: MoteBindings.EnergyMeter

    /// `estimate`: the readings come from a model, not a meter (iOS has no
    /// battery current, so its energy is always an estimate).
    public init(source: String, estimate: Bool) throws {
        inner = try mapped { try MoteBindings.EnergyMeter(source: source, estimate: estimate) }
    }

    /// Milliseconds on the native clock that stamps samples and marks.
    public static var clockMs: Double { energyClockMs() }

    /// Records a reading; with `tMs == nil` it is stamped now. Any thread.
    public func push(_ sample: EnergySample) throws {
        try mapped { try inner.pushSample(sample: sample) }
    }

    /// Marks that `phase` starts now, or at `tMs` on `clockMs`'s clock.
    public func mark(_ phase: Phase, at tMs: Double? = nil) throws {
        if let tMs {
            try mapped { try inner.markAt(phase: phase, tMs: tMs) }
        } else {
            try mapped { try inner.mark(phase: phase) }
        }
    }

    /// Stops recording and attributes the energy to `generatedTokens`.
    /// - Throws: `MoteError.invalidArgument` without prefill/decode marks or
    ///   readings, or for a negative count.
    public func finish(generatedTokens: Int) throws -> EnergyReport {
        // This native call still takes an unsigned count; refuse what it cannot hold
        // instead of trapping in the conversion.
        guard let tokens = UInt64(exactly: generatedTokens) else {
            throw MoteError.invalidArgument(reason: "generatedTokens must not be negative, got \(generatedTokens)")
        }
        return try mapped { try inner.finish(generatedTokens: tokens) }
    }
}

extension ThermalState {
    /// Maps `ProcessInfo.ThermalState.rawValue` (nominal 0 … critical 3) with
    /// the core's table; anything else is `.unknown`.
    public init(iosRawValue: Int) {
        self = thermalStateFromIos(raw: Int32(clamping: iosRawValue))
    }

    #if canImport(Darwin)
    /// Maps `ProcessInfo.ThermalState` (nominal, fair, serious, critical).
    public init(_ state: ProcessInfo.ThermalState) {
        self.init(iosRawValue: state.rawValue)
    }
    #endif

    /// This device's thermal state; `.unknown` where Foundation has none (Linux).
    public static var current: ThermalState {
        #if canImport(Darwin)
        ThermalState(ProcessInfo.processInfo.thermalState)
        #else
        .unknown
        #endif
    }
}

/// A reply and the energy it took.
public struct MeasuredReply: Sendable {
    public let reply: Reply
    public let energy: EnergyReport
}

extension ChatSession {
    /// `send` with the phases marked on `meter`: `idleSeconds` before and
    /// after (the baseline), prefill until the first piece, then decode.
    /// Someone must be pushing readings into `meter` meanwhile (see
    /// `CpuEnergySampler.start`). The meter is finished when this returns.
    public func sendMeasured(
        _ message: String,
        config: GenerationConfig,
        meter: EnergyMeter,
        idleSeconds: Double = 2
    ) async throws -> MeasuredReply {
        let idle = UInt64(max(idleSeconds, 0) * 1e9)
        try meter.mark(.idleBefore)
        try await Task.sleep(nanoseconds: idle)
        try meter.mark(.prefill)
        let decode = DecodeMark(meter)
        let reply = try await send(message, config: config) { _ in decode.once() }
        // A reply with no visible piece still needs a decode phase to integrate.
        decode.once()
        try meter.mark(.idleAfter)
        try await Task.sleep(nanoseconds: idle)
        return MeasuredReply(reply: reply, energy: try meter.finish(generatedTokens: Int(reply.stats.generatedTokens)))
    }
}

/// Marks Decode on the first token, from the worker thread.
private final class DecodeMark: @unchecked Sendable {
    private let lock = NSLock()
    private var done = false
    private let meter: EnergyMeter

    init(_ meter: EnergyMeter) { self.meter = meter }

    func once() {
        let first = lock.withLock {
            defer { done = true }
            return !done
        }
        if first { try? meter.mark(.decode) }
    }
}
