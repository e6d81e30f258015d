package dev.mote.sample.chat

import java.util.Locale

/**
 * Times a streamed reply from the app's side, live: the SDK's Stats arrive
 * only with the reply's final `ChatEvent.Done`, so TTFT and speed are measured
 * here as the pieces come in: TTFT from the call to the first piece (it includes prefill, like
 * Stats.ttftMs), speed over the pieces after the first. A piece is one token
 * except where the SDK holds text back to complete a UTF-8 character or rule
 * out a stop string, so the rate can read slightly low, never high.
 */
class ReplyTimer(private val nanoTime: () -> Long = System::nanoTime) {
    private val start = nanoTime()
    private var first = 0L
    private var last = 0L
    private var pieces = 0

    fun onPiece() {
        val now = nanoTime()
        if (pieces == 0) first = now
        last = now
        pieces++
    }

    /** "TTFT 312 ms · 41.2 tok/s · 128 tokens", or null before the first piece. */
    fun summary(): String? {
        if (pieces == 0) return null
        val ttftMs = (first - start) / 1e6
        val decodeS = (last - first) / 1e9
        val rate = if (pieces > 1 && decodeS > 0) String.format(Locale.ROOT, "%.1f tok/s", (pieces - 1) / decodeS) else "– tok/s"
        return String.format(Locale.ROOT, "TTFT %.0f ms · %s · %d tokens", ttftMs, rate, pieces)
    }
}
