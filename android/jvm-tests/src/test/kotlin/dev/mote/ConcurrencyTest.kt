package dev.mote

import java.util.concurrent.atomic.AtomicInteger
import kotlin.random.Random
import kotlin.test.assertEquals
import kotlin.test.assertTrue
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.awaitAll
import kotlinx.coroutines.cancelAndJoin
import kotlinx.coroutines.delay
import kotlinx.coroutines.isActive
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.Test

/**
 * The shorter JVM version of the Rust concurrency suite (rust/ffi/tests/concurrency.rs):
 * four sessions chatting on Dispatchers.Default, half of the turns cancelled by
 * cancelling their coroutine at a random moment, while memory releases fire
 * concurrently. A deadlock trips the timeout; a lost reply, a Busy or a torn
 * history fails the assertions.
 */
class ConcurrencyTest {
    @Test
    fun turnsCancelsAndReleasesAcrossSessionsNeverDeadlockOrLoseAReply() = runBlocking {
        val engine = TestModel.engine
        val sessions = List(4) { engine.newSession() }
        val completed = AtomicInteger()
        val cancelled = AtomicInteger()
        val releases = AtomicInteger()
        val turnsPerSession = 25
        withTimeout(600_000) {
            val releaser = launch(Dispatchers.Default) {
                val rnd = Random(7)
                val levels = listOf(PressureLevel.MODERATE, PressureLevel.LOW, PressureLevel.BACKGROUND)
                while (isActive) {
                    delay(rnd.nextLong(5, 60))
                    engine.onMemoryPressure(levels[rnd.nextInt(levels.size)])
                    releases.incrementAndGet()
                }
            }
            sessions.mapIndexed { i, session ->
                async(Dispatchers.Default) {
                    val rnd = Random(i)
                    repeat(turnsPerSession) { turn ->
                        if (session.history.size > 12) session.reset()
                        val before = session.history.size
                        val config = TestModel.greedy(1 + rnd.nextInt(6))
                        if (rnd.nextBoolean()) {
                            val reply = async { session.send("Say a word ($turn).", config) }
                            delay(rnd.nextLong(0, 40))
                            reply.cancel()
                            try {
                                reply.await()
                                completed.incrementAndGet()
                            } catch (e: CancellationException) {
                                cancelled.incrementAndGet()
                            }
                        } else {
                            session.send("Say a word ($turn).", config)
                            completed.incrementAndGet()
                        }
                        val after = session.history.size
                        assertTrue(after == before || after == before + 2, "history $before -> $after")
                    }
                }
            }.awaitAll()
            releaser.cancelAndJoin()
        }
        println("ConcurrencyTest: ${completed.get()} completed, ${cancelled.get()} cancelled, ${releases.get()} releases")
        assertEquals(sessions.size * turnsPerSession, completed.get() + cancelled.get())
        assertTrue(cancelled.get() > 0, "some cancels landed mid-turn")
        assertTrue(releases.get() > 0)
        sessions.forEach { it.close() }
    }
}
