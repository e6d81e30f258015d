package dev.mote.sample.bench

/**
 * What one benchmark invocation measures. Every field has an `am start`
 * extra (BenchIntent.kt); the defaults aim at what docs/telemetry.md asks
 * for: tens of seconds of generation, so fuel gauges that update every
 * 0.1–10 s still give enough readings.
 */
data class BenchPlan(
    /** A file name under the models directory, or an absolute path; null picks the first model found. */
    val model: String? = null,
    val runs: Int = 3,
    /** Generated tokens per run, across continuation turns if the model ends its turn early. */
    val genTokens: Int = 512,
    val prompt: String = DEFAULT_PROMPT,
    /** Each idle window (before and after the generation) that sets the baseline. */
    val idleMs: Long = 5_000,
    /** The SDK's BatterySampler default: fuel gauges rarely update faster. */
    val sampleIntervalMs: Long = 100,
    /** 0 lets the SDK choose. */
    val threads: Int = 0,
    val contextLength: Int = 2048,
    /** The USB cable is still in (`profile-battery.sh --fake-unplug`): every run is invalid. */
    val fakeUnplug: Boolean = false,
) {
    companion object {
        // Asks for a long answer so most runs need no continuation turn.
        const val DEFAULT_PROMPT =
            "Write a long, detailed story about a lighthouse keeper who finds a message in a bottle. " +
                "Use at least ten paragraphs."
        const val CONTINUE_PROMPT = "Continue."
    }
}
