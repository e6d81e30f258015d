package dev.mote.sample.bench

import dev.mote.ContextPolicy
import dev.mote.FinishReason
import dev.mote.GenerationConfig
import dev.mote.MoteEngine
import dev.mote.MoteException
import dev.mote.Phase
import dev.mote.Stats
import dev.mote.sample.bench.report.ReportData
import dev.mote.sample.bench.report.RunRecord
import java.util.concurrent.atomic.AtomicBoolean
import kotlinx.coroutines.delay

/**
 * Runs [BenchPlan.runs] measured generations on [engine] and returns them in
 * the `mote report` input format. Free of Android classes on purpose: the
 * battery reading is injected into the meter, so the same code runs on a host
 * JVM against the real SDK when checking the output format.
 */
class BenchRunner(
    private val engine: MoteEngine,
    private val modelLabel: String,
    private val plan: BenchPlan,
    private val newMeter: () -> RecordingMeter,
    private val progress: (String) -> Unit = {},
) {
    suspend fun run(title: String?): ReportData {
        val runs = (1..plan.runs).map { i ->
            progress("run $i of ${plan.runs}: idle, generate ${plan.genTokens} tokens, idle")
            measureOne()
        }
        return ReportData(title, runs)
    }

    private suspend fun measureOne(): RunRecord = newMeter().use { meter ->
        // A fresh session per run: every run prefills the same prompt from an empty cache.
        engine.newSession().use { session ->
            // A measurement must stop when the context is full, not drop old
            // turns and re-prefill the rest inside the decode window (what the
            // default DROP_OLDEST would do): FAIL makes that a ContextFull.
            session.contextPolicy = ContextPolicy.FAIL
            meter.start()
            meter.mark(Phase.IDLE_BEFORE)
            delay(plan.idleMs)

            meter.mark(Phase.PREFILL)
            val decodeStarted = AtomicBoolean(false)
            val turns = mutableListOf<Stats>()
            val notes = mutableListOf<String>()
            var generated = 0L
            var message = plan.prompt
            while (generated < plan.genTokens) {
                val config = GenerationConfig(
                    maxTokens = (plan.genTokens - generated).toInt(),
                    // Greedy: every run produces the same tokens, so runs are comparable.
                    temperature = 0f,
                )
                val reply = try {
                    session.send(message, config) {
                        // Runs on the SDK's token thread; the first piece ends prefill.
                        if (decodeStarted.compareAndSet(false, true)) meter.mark(Phase.DECODE)
                    }
                } catch (e: MoteException.ContextFull) {
                    // Under FAIL: the next continuation prompt no longer fits.
                    notes += "context_full_after:$generated"
                    break
                } catch (e: MoteException.PromptTooLong) {
                    notes += "context_full_after:$generated"
                    break
                }
                turns += reply.stats
                generated += reply.stats.generatedTokens
                if (reply.finish == FinishReason.CONTEXT_FULL) {
                    notes += "context_full_after:$generated"
                    break
                }
                if (reply.stats.generatedTokens == 0) break
                message = BenchPlan.CONTINUE_PROMPT
            }
            // The integrator needs Decode after Prefill even when nothing was generated.
            if (decodeStarted.compareAndSet(false, true)) meter.mark(Phase.DECODE)
            meter.mark(Phase.IDLE_AFTER)
            delay(plan.idleMs)

            if (turns.size > 1) {
                // Continuation prompts are prefilled inside the decode window; say so.
                notes += "continued_turns:${turns.size - 1}"
            }
            record(meter.finish(generated), turns, notes)
        }
    }

    private fun record(m: Measurement, turns: List<Stats>, notes: List<String>): RunRecord {
        val info = engine.info
        // The quant type holding most parameters names the file's quantization (as `mote bench` does).
        val quant = info.quantTypes.filterKeys { it != "F32" }.maxByOrNull { it.value }?.key.orEmpty()
        var energy = m.energy.copy(flags = m.energy.flags + notes)
        if (plan.fakeUnplug) {
            // profile-battery.sh contract: the cable was in, whatever Android reported.
            energy = energy.copy(valid = false, flags = energy.flags + "usb_connected")
        }
        return RunRecord(
            model = info.name.ifEmpty { modelLabel },
            quant = quant,
            bitsPerWeight = info.bitsPerWeight,
            prefillTokensPerS = turns.firstOrNull()?.prefillTokensPerS ?: 0.0,
            decodeTokensPerS = decodeRate(turns),
            energy = energy,
            trace = m.trace,
        )
    }
}

/** Tokens over decode time, summed across turns (a mean of rates would weight short turns too much). */
internal fun decodeRate(turns: List<Stats>): Double {
    var tokens = 0.0
    var seconds = 0.0
    for (s in turns) {
        if (s.decodeTokensPerS > 0.0 && s.generatedTokens > 0) {
            tokens += s.generatedTokens.toDouble()
            seconds += s.generatedTokens.toDouble() / s.decodeTokensPerS
        }
    }
    return if (seconds > 0.0) tokens / seconds else 0.0
}
