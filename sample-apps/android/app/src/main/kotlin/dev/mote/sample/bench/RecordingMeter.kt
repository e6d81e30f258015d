package dev.mote.sample.bench

import dev.mote.EnergyMeter
import dev.mote.EnergySample
import dev.mote.MoteException
import dev.mote.Phase
import dev.mote.sample.bench.report.EnergyReport as ReportEnergy
import dev.mote.sample.bench.report.PhaseMark
import dev.mote.sample.bench.report.Sample
import dev.mote.sample.bench.report.Trace
import java.util.concurrent.Executors
import java.util.concurrent.ScheduledExecutorService
import java.util.concurrent.TimeUnit

/** One measured generation: the readings as recorded and the SDK's integration of them. */
class Measurement(val trace: Trace, val energy: ReportEnergy)

/**
 * Measures one generation with the SDK's [EnergyMeter] and keeps a copy of
 * every reading and mark. The SDK returns only the integrated report, but
 * `mote report` also wants the trace (it draws power over time), so each
 * reading is stamped once, on the SDK's clock, and goes to both.
 *
 * Polling runs on its own thread rather than a coroutine: while the model
 * decodes every core is busy, and a shared pool would delay readings
 * unevenly, which the integrator would have to bridge as gaps.
 */
class RecordingMeter(
    private val source: String,
    /** One raw, unstamped reading: `BatterySampler.read().toSample()` on Android. */
    private val read: () -> EnergySample,
    private val intervalMs: Long,
    /** The USB cable is in although Android may say otherwise (profile-battery.sh --fake-unplug). */
    private val cableIn: Boolean = false,
) : AutoCloseable {
    private val meter = EnergyMeter(source)
    private val lock = Any()
    private val samples = ArrayList<Sample>()
    private val marks = ArrayList<PhaseMark>()
    private var timer: ScheduledExecutorService? = null

    fun start() {
        check(timer == null) { "meter already started" }
        timer = Executors.newSingleThreadScheduledExecutor { r ->
            Thread(r, "mote-bench-battery").apply { isDaemon = true }
        }.also { it.scheduleWithFixedDelay(::poll, 0, intervalMs, TimeUnit.MILLISECONDS) }
    }

    private fun poll() {
        try {
            var sample = read().copy(tMs = EnergyMeter.clockMs())
            // Charging readings make the integrator mark the run invalid, which is the truth here.
            if (cableIn) sample = sample.copy(charging = true)
            meter.push(sample)
            synchronized(lock) { samples += sample.toTraceSample() }
        } catch (e: Exception) {
            // Swallowed because a throwing task would cancel every later poll;
            // a failed read is only a gap, which the integrator bridges and reports.
        }
    }

    /** Any thread; the runner marks Decode from the SDK's token thread. */
    fun mark(phase: Phase) {
        val t = EnergyMeter.clockMs()
        meter.markAt(phase, t)
        synchronized(lock) { marks += PhaseMark(phase.toReport(), t) }
    }

    /** Stops recording and integrates; call once. */
    fun finish(generatedTokens: Long): Measurement {
        stopPolling()
        val trace = synchronized(lock) {
            Trace(
                source = source,
                estimate = false,
                samples = samples.toList(),
                marks = marks.toList(),
                endMs = EnergyMeter.clockMs(),
            )
        }
        val energy = try {
            meter.finish(generatedTokens).toReport()
        } catch (e: MoteException.InvalidArgument) {
            integrationFailed(source, generatedTokens, e.reason)
        }
        return Measurement(trace, energy)
    }

    override fun close() {
        stopPolling()
        meter.close()
    }

    private fun stopPolling() {
        val t = timer ?: return
        timer = null
        t.shutdownNow()
        t.awaitTermination(1, TimeUnit.SECONDS)
    }
}

/**
 * Keeps a run whose energy could not be integrated (too few readings, a phone
 * that reports no current) in the report, visibly unusable, as `mote bench
 * --energy` does, rather than dropping it.
 */
internal fun integrationFailed(source: String, tokens: Long, reason: String) = ReportEnergy(
    source = source,
    estimate = false,
    valid = false,
    flags = listOf("integration failed: $reason"),
    tokens = tokens,
)
