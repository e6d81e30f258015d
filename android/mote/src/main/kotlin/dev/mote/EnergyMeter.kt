package dev.mote

import dev.mote.ffi.EnergyMeter as FfiEnergyMeter
import kotlinx.coroutines.delay

/**
 * Measures the energy of one generation. Readings pushed here (by
 * [BatterySampler], or your own code) are recorded on a native thread until
 * [finish], which splits the energy into prefill and decode net of the idle
 * baseline. Pass readings raw: the sign, µA/mA and mV/µV quirks of phone fuel
 * gauges are corrected natively.
 */
class EnergyMeter(source: String, estimate: Boolean = false) : AutoCloseable {
    private val inner = native { FfiEnergyMeter(source, estimate) }

    /** Records a reading; with `tMs = null` it is stamped now on [clockMs]'s clock. Any thread. */
    fun push(sample: EnergySample) = native { inner.pushSample(sample) }

    /** Marks that [phase] starts now. */
    fun mark(phase: Phase) = native { inner.mark(phase) }

    /** Marks that [phase] started at [tMs], on [clockMs]'s clock. */
    fun markAt(phase: Phase, tMs: Double) = native { inner.markAt(phase, tMs) }

    /**
     * Stops recording and attributes the energy to [generatedTokens]. Read
     * [EnergyReport.valid], `estimate` and `lowConfidence` before showing numbers.
     * @throws MoteException.InvalidArgument without Prefill/Decode marks or readings, or for a negative count.
     */
    fun finish(generatedTokens: Long): EnergyReport {
        // The only unsigned parameter left in the FFI: refuse what toULong would wrap.
        if (generatedTokens < 0) throw MoteException.InvalidArgument("generatedTokens must not be negative, got $generatedTokens")
        return native { inner.finish(generatedTokens.toULong()) }
    }

    override fun close() = inner.close()

    companion object {
        /** Milliseconds on the native clock that stamps samples and marks. */
        fun clockMs(): Double = dev.mote.ffi.energyClockMs()
    }
}

/** A reply and the energy it took. */
data class MeasuredReply(val reply: Reply, val energy: EnergyReport)

/**
 * [ChatSession.send] with the phases marked on [meter]: [idleMs] of idle
 * before and after (the baseline), prefill until the first piece, then decode.
 * Someone must be pushing readings into [meter] meanwhile (see
 * [BatterySampler.start]). The meter is finished when this returns.
 */
suspend fun ChatSession.sendMeasured(
    message: String,
    config: GenerationConfig,
    meter: EnergyMeter,
    idleMs: Long = 2_000,
): MeasuredReply {
    meter.mark(Phase.IDLE_BEFORE)
    delay(idleMs)
    meter.mark(Phase.PREFILL)
    val decodeMarked = java.util.concurrent.atomic.AtomicBoolean(false)
    val reply = send(message, config) {
        if (decodeMarked.compareAndSet(false, true)) meter.mark(Phase.DECODE)
    }
    // A reply with no visible piece still needs a decode phase to integrate.
    if (decodeMarked.compareAndSet(false, true)) meter.mark(Phase.DECODE)
    meter.mark(Phase.IDLE_AFTER)
    delay(idleMs)
    return MeasuredReply(reply, meter.finish(reply.stats.generatedTokens.toLong()))
}
