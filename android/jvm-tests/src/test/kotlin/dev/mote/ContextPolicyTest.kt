package dev.mote

import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertTrue
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.AfterClass
import org.junit.Test

/**
 * A long chat in a small context: 200 short turns at contextLength 512 take
 * far more than 512 tokens, so every policy has to act. Each test prints its
 * runtime (the whole class must stay within about two minutes on 2 cores).
 */
class ContextPolicyTest {
    companion object {
        private const val TURNS = 200

        // Fail fast instead of running for an hour: on the 2-core CI box a
        // turn that reuses the KV cache takes ~0.5-1.5 s, one that re-prefills
        // the whole 512-token window ~15 s.
        private const val BUDGET_MS = 600_000L

        // Its own engine: the shared one has a 1024-token context.
        private val small: MoteEngine by lazy { runBlocking { MoteEngine.load(TestModel.path, LoadOptions(contextLength = 512)) } }

        @AfterClass @JvmStatic
        fun closeEngine() = small.close()
    }

    private val config = TestModel.greedy(8)

    private fun longChat(policy: ContextPolicy) = runBlocking {
        val started = System.nanoTime()
        small.newSession(systemPrompt = "You are terse.").use { session ->
            session.contextPolicy = policy
            assertEquals(policy, session.contextPolicy)
            var reprefilled = 0L
            repeat(TURNS) { i ->
                val reply = withTimeout(60_000) { session.send("Fact ${i + 1}: say ok.", config) }
                assertTrue(reply.stats.generatedTokens in 1..8, "turn $i: ${reply.stats}")
                reprefilled += reply.stats.promptTokens - reply.stats.cachedPromptTokens
                val status = session.contextStatus
                // A reply that fills the context can leave its end-of-turn markup (never
                // cached) a few tokens past the limit until the next turn drops; the
                // prompt itself always fits.
                assertTrue(reply.stats.promptTokens + reply.stats.generatedTokens <= status.limit, "$policy turn $i: ${reply.stats}")
                assertTrue(status.used <= status.limit + 4, "$policy turn $i: $status after ${reply.finish} ${reply.stats}")
                assertEquals(maxOf(0L, status.limit - status.used), status.remaining, "turn $i: $status")
                val elapsed = (System.nanoTime() - started) / 1_000_000
                assertTrue(
                    elapsed < BUDGET_MS,
                    "$policy: only $i of $TURNS turns in $elapsed ms; $reprefilled prompt tokens computed, last turn ${reply.stats}",
                )
            }
            val status = session.contextStatus
            // Nothing is forgotten from the history; the model just no longer sees the oldest turns.
            assertEquals(2 * TURNS, session.history.size)
            assertEquals(512L, status.limit)
            assertTrue(status.droppedMessages > 0, "$status")
            assertTrue(status.droppedMessages % 2 == 0L, "whole exchanges are dropped: $status")
            println("$policy: $TURNS turns in ${(System.nanoTime() - started) / 1_000_000} ms, $reprefilled prompt tokens computed, final $status")
        }
    }

    @Test
    fun dropOldestKeepsAChatGoingForever() = longChat(ContextPolicy.DROP_OLDEST)

    @Test
    fun shiftKeepsAChatGoingForever() = longChat(ContextPolicy.SHIFT)

    @Test
    fun failThrowsContextFullAndKeepsTheHistory() = runBlocking {
        val started = System.nanoTime()
        small.newSession(systemPrompt = "You are terse.").use { session ->
            session.contextPolicy = ContextPolicy.FAIL
            var turns = 0
            val full = assertFailsWith<MoteException.ContextFull> {
                while (turns < TURNS) {
                    withTimeout(60_000) { session.send("Fact ${turns + 1}: say ok.", config) }
                    turns++
                }
            }
            assertEquals(512L, full.context)
            assertTrue(turns > 5, "failed after only $turns turns")
            // The refused turn left no trace, and nothing was dropped.
            val history = session.history
            assertEquals(2 * turns, history.size)
            assertEquals("Fact 1: say ok.", history[0].content)
            assertEquals("Fact $turns: say ok.", history[2 * turns - 2].content)
            assertEquals(0L, session.contextStatus.droppedMessages)
            // Making room by hand lets the chat go on under the same policy.
            session.removeMessage(0)
            session.removeMessage(0)
            session.removeMessage(0)
            session.removeMessage(0)
            withTimeout(60_000) { session.send("Fact ${turns + 1}: say ok.", config) }
            assertEquals(2 * turns - 4 + 2, session.history.size)
            assertEquals("Fact 3: say ok.", session.history[0].content)
            println("FAIL: ContextFull after $turns turns in ${(System.nanoTime() - started) / 1_000_000} ms, ${session.contextStatus}")
        }
    }
}
