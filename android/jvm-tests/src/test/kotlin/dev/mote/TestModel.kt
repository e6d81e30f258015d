package dev.mote

import java.io.File
import kotlinx.coroutines.runBlocking

/** The real SmolLM2 model, passed in by scripts/test-kotlin.sh, loaded once per JVM. */
object TestModel {
    val path: String by lazy {
        val p = System.getProperty("mote.model.path").orEmpty()
        require(p.isNotEmpty() && File(p).isFile) {
            "set -Dmote.model.path (scripts/test-kotlin.sh does) — got '$p'"
        }
        p
    }

    val engine: MoteEngine by lazy { runBlocking { MoteEngine.load(path, LoadOptions(contextLength = 1024)) } }

    /** Greedy and short: deterministic and fast enough for a 2-core CI box. */
    fun greedy(maxTokens: Int = 16) =
        GenerationConfig(maxTokens = maxTokens, temperature = 0f, seed = 1L)

    /** Resident set size of this process, from /proc (Linux hosts only). */
    fun rssBytes(): Long {
        val kb = File("/proc/self/status").readLines()
            .first { it.startsWith("VmRSS:") }
            .split(Regex("\\s+"))[1].toLong()
        return kb * 1024
    }
}
