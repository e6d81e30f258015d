package dev.mote

import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertIs
import kotlin.test.assertNull
import kotlin.test.assertTrue
import kotlinx.coroutines.async
import kotlinx.coroutines.delay
import kotlinx.coroutines.flow.toList
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.Test

/** ChatSession.events, history editing, token counting, context status and the thermal hook. */
class EventsTest {
    private val engine get() = TestModel.engine

    @Test
    fun eventsAreTokensThenExactlyOneDone() = runBlocking {
        engine.newSession().use { session ->
            val events = withTimeout(60_000) { session.events("Name three colours.", TestModel.greedy(12)).toList() }
            val done = events.last()
            assertIs<ChatEvent.Done>(done)
            assertEquals(1, events.count { it is ChatEvent.Done }, "$events")
            val tokens = events.dropLast(1).map { assertIs<ChatEvent.Token>(it).text }
            assertTrue(tokens.size > 1, "$events")
            assertEquals(done.reply.text, tokens.joinToString(""))
            assertEquals(done.reply.text, session.history[1].content)
            assertTrue(done.reply.stats.generatedTokens in 1..12)
            assertTrue(done.reply.finish == FinishReason.MAX_TOKENS || done.reply.finish == FinishReason.END_OF_TURN)
        }
    }

    @Test
    fun eventsThrowInsteadOfEmittingErrors() = runBlocking {
        engine.newSession().use { session ->
            // Counts are signed in the API; a negative one is refused, not wrapped.
            assertFailsWith<MoteException.InvalidArgument> {
                session.events("Hi", GenerationConfig(maxTokens = -1)).toList()
            }
            val first = async { session.send("Describe the moon.", TestModel.greedy(24)) }
            withTimeout(60_000) { while (!session.isGenerating) delay(5) }
            assertFailsWith<MoteException.Busy> { session.events("And the sun?", TestModel.greedy(4)).toList() }
            first.await()
            assertEquals(2, session.history.size)
        }
    }

    @Test
    fun historyCanBeEditedBetweenTurns() = runBlocking {
        engine.newSession().use { session ->
            withTimeout(60_000) {
                session.send("My name is Ada.", TestModel.greedy(4))
                session.send("I live in Paris.", TestModel.greedy(4))
            }
            assertEquals(4, session.history.size)

            session.replaceMessage(2, ChatMessage(Role.USER, "I live in Rome."))
            assertEquals("I live in Rome.", session.history[2].content)

            session.removeMessage(0)
            assertEquals(3, session.history.size)
            assertEquals(Role.ASSISTANT, session.history[0].role)

            // Regenerate the last reply: keep everything up to the user message, then ask again.
            session.truncateHistory(1)
            assertEquals(1, session.history.size)
            withTimeout(60_000) { session.send("Where do I live?", TestModel.greedy(4)) }
            assertEquals(3, session.history.size)
            assertEquals("Where do I live?", session.history[1].content)

            assertFailsWith<MoteException.InvalidArgument> { session.removeMessage(-1) }
            assertFailsWith<MoteException.InvalidArgument> { session.truncateHistory(-1) }
            assertFailsWith<MoteException.InvalidArgument> { session.replaceMessage(99, ChatMessage(Role.USER, "x")) }
            assertEquals(3, session.history.size)
        }
    }

    @Test
    fun tokenCountsMatchWhatASendFeedsTheModel() = runBlocking {
        val system = "You are terse."
        engine.newSession(systemPrompt = system).use { session ->
            assertEquals(0, engine.countTokens(""))
            val hello = engine.countTokens("Hello there, how are you today?")
            assertTrue(hello in 3..20, "$hello")
            assertTrue(engine.countTokens("Hello there, how are you today? Fine.") > hello)

            val message = "What is two plus two?"
            val predicted = engine.countMessageTokens(listOf(ChatMessage(Role.SYSTEM, system), ChatMessage(Role.USER, message)))
            val reply = withTimeout(60_000) { session.send(message, TestModel.greedy(6)) }
            assertEquals(predicted, reply.stats.promptTokens, "countMessageTokens vs the turn's prompt")

            val status = session.contextStatus
            assertEquals(1024L, status.limit)
            assertTrue(status.used >= reply.stats.promptTokens + reply.stats.generatedTokens, "$status ${reply.stats}")
            assertEquals(status.limit - status.used, status.remaining)
            assertEquals(0L, status.droppedMessages)
            assertEquals(ContextPolicy.DROP_OLDEST, session.contextPolicy)
            assertTrue(session.cachedTokens > 0, "${session.cachedTokens}")
            assertNull(session.snapshotPath, "no release wrote a snapshot")
        }
    }

    @Test
    fun seriousThermalStateLowersTheThreadsAndNominalRestoresThem() {
        val original = engine.threads
        try {
            engine.setThreads(4)
            assertEquals(4, engine.threads)
            assertEquals(defaultThermalPolicy(), engine.thermalPolicy)

            val hot = engine.onThermalState(ThermalState.SERIOUS)
            assertEquals(LowerThreads(2), hot.applied)
            assertEquals(2, hot.threads)
            assertEquals(2, engine.threads)

            val cool = engine.onThermalState(ThermalState.NOMINAL)
            assertEquals(NoThrottle, cool.applied)
            assertEquals(4, cool.threads)
            assertEquals(4, engine.threads)

            // A policy of one's own: pace tokens instead when serious.
            engine.thermalPolicy = ThermalPolicy(atSerious = PaceTokens(50), atCritical = LowerThreads(1))
            val paced = engine.onThermalState(ThermalState.SERIOUS)
            assertEquals(50, paced.paceMs)
            assertEquals(4, engine.threads)
            assertEquals(1, engine.onThermalState(ThermalState.CRITICAL).threads)
            assertFailsWith<MoteException.InvalidArgument> { engine.setThreads(0) }
        } finally {
            engine.onThermalState(ThermalState.NOMINAL)
            engine.thermalPolicy = defaultThermalPolicy()
            engine.setThreads(original)
        }
    }
}
