package dev.mote.sample.bench

import android.content.Intent

// The `am start` contract of scripts/profile-battery.sh: `--es mode bench`
// starts the benchmark and `--ez mote_fake_unplug true` says the cable is in.
// The other extras are optional tuning, passed after `--` to the script.
private const val EXTRA_MODE = "mode"
private const val MODE_BENCH = "bench"
private const val EXTRA_FAKE_UNPLUG = "mote_fake_unplug"

/** The file the script polls for, relative to the app's data directory (`files/mote-energy.json`). */
const val BENCH_OUTPUT_FILE = "mote-energy.json"

/** The plan this intent asks for, or null when it does not start a benchmark. */
fun Intent.benchPlan(): BenchPlan? {
    if (getStringExtra(EXTRA_MODE) != MODE_BENCH) return null
    val d = BenchPlan()
    return BenchPlan(
        model = getStringExtra("model"),
        runs = getIntExtra("runs", d.runs).coerceAtLeast(1),
        genTokens = getIntExtra("gen_tokens", d.genTokens).coerceAtLeast(1),
        prompt = getStringExtra("prompt") ?: d.prompt,
        idleMs = getIntExtra("idle_s", (d.idleMs / 1000).toInt()).coerceAtLeast(1) * 1000L,
        sampleIntervalMs = getIntExtra("sample_ms", d.sampleIntervalMs.toInt()).coerceAtLeast(10).toLong(),
        threads = getIntExtra("threads", d.threads).coerceAtLeast(0),
        contextLength = getIntExtra("ctx", d.contextLength).coerceAtLeast(256),
        fakeUnplug = getBooleanExtra(EXTRA_FAKE_UNPLUG, false),
    )
}
