package dev.mote

import java.util.concurrent.Executors
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertTrue
import kotlinx.coroutines.async
import kotlinx.coroutines.asCoroutineDispatcher
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.Test

class LifecycleTest {
    @Test
    fun missingModelIsATypedError() = runBlocking {
        val e = assertFailsWith<MoteException.ModelUnreadable> {
            MoteEngine.load("/nonexistent/model.gguf")
        }
        assertEquals("/nonexistent/model.gguf", e.path)
    }

    @Test
    fun notAModelIsATypedError() = runBlocking {
        val file = kotlin.io.path.createTempFile(suffix = ".gguf").toFile()
        try {
            file.writeText("definitely not gguf")
            val e = runCatching { MoteEngine.load(file.path) }.exceptionOrNull()
            assertTrue(e is MoteException.InvalidModel, "got $e")
        } finally {
            file.delete()
        }
    }

    @Test
    fun closeReleasesTheEngine() = runBlocking {
        val baseline = TestModel.rssBytes()
        val engine = MoteEngine.load(TestModel.path)
        val session = engine.newSession()
        withTimeout(60_000) { session.send("Hi", TestModel.greedy(4)) }
        val loaded = TestModel.rssBytes()
        session.close()
        engine.close()
        val released = TestModel.rssBytes()
        assertFailsWith<IllegalStateException> { engine.info }
        // Native memory is not GC-managed: only close() can give it back.
        val grew = loaded - baseline
        assertTrue(grew > 32L shl 20, "loading grew RSS by only ${grew shr 20} MiB")
        assertTrue(
            loaded - released > grew / 2,
            "close() returned ${(loaded - released) shr 20} of ${grew shr 20} MiB",
        )
    }

    @Test
    fun twoSessionsOnTwoThreads() = runBlocking {
        val engine = TestModel.engine
        val pool = Executors.newFixedThreadPool(2).asCoroutineDispatcher()
        try {
            val replies = (1..2).map { i ->
                async(pool) {
                    engine.newSession().use { s ->
                        val reply = s.send("Say hello number $i.", TestModel.greedy(12))
                        reply to s.history
                    }
                }
            }.map { withTimeout(120_000) { it.await() } }
            for ((reply, history) in replies) {
                assertTrue(reply.stats.generatedTokens > 0)
                assertEquals(reply.text, history[1].content)
            }
            // Same prompt shape, greedy: each session kept its own history.
            assertTrue(replies[0].second[0].content.contains("1"))
            assertTrue(replies[1].second[0].content.contains("2"))
        } finally {
            pool.close()
        }
    }
}
