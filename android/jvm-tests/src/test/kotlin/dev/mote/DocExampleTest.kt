package dev.mote

import kotlin.test.assertNull
import kotlinx.coroutines.runBlocking
import org.junit.Test

// The example from docs/android.md, verbatim apart from the smaller config,
// so the documented API cannot drift from the real one.

suspend fun chat(modelPath: String) {
    // Loads on Dispatchers.IO; safe to call from the main thread.
    val engine = MoteEngine.load(modelPath, LoadOptions(contextLength = 1024u))
    engine.use {
        engine.newSession(systemPrompt = "You are a helpful assistant.").use { session ->
            val config = GenerationConfig(maxTokens = 8u, temperature = 0.7f)

            // Streaming: cancel the collecting coroutine to stop generation.
            session.stream("What is the capital of France?", config).collect { piece ->
                print(piece)
            }

            // Whole reply; the session remembers the previous turn.
            val reply = session.send("And of Italy?", config)
            println("\n${reply.text} (${reply.stats.decodeTokensPerS} tok/s, ${reply.finish})")
            println(session.history.size) // 4: user, assistant, user, assistant
            check(session.history.size == 4)
        }
    }
}

suspend fun safeLoad(path: String): MoteEngine? = try {
    MoteEngine.load(path)
} catch (e: MoteException.ModelUnreadable) {
    null // missing file or no permission: e.path, e.reason
}

class DocExampleTest {
    @Test
    fun theDocumentedExampleRuns() = runBlocking {
        chat(TestModel.path)
        assertNull(safeLoad("/nonexistent.gguf"))
    }
}
