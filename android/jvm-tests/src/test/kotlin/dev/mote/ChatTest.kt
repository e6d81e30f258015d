package dev.mote

import kotlin.test.assertEquals
import kotlin.test.assertTrue
import kotlinx.coroutines.flow.toList
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.Test

class ChatTest {
    private val engine get() = TestModel.engine

    @Test
    fun infoDescribesTheLoadedModel() {
        val info = engine.info
        assertEquals("llama", info.architecture)
        assertEquals(1024, info.contextLength)
        assertTrue(info.hasChatTemplate)
        assertTrue(info.parameters in 100_000_000L..200_000_000L, "parameters ${info.parameters}")
    }

    @Test
    fun streamsAReplyPieceByPiece() = runBlocking {
        engine.newSession().use { session ->
            val pieces = withTimeout(60_000) {
                session.stream("Name a colour.", TestModel.greedy(12)).toList()
            }
            assertTrue(pieces.size > 1, "expected several pieces, got $pieces")
            val history = session.history
            assertEquals(listOf(Role.USER, Role.ASSISTANT), history.map { it.role })
            assertEquals("Name a colour.", history[0].content)
            // The streamed pieces are exactly the reply recorded in the history.
            assertEquals(history[1].content, pieces.joinToString(""))
        }
    }

    @Test
    fun secondTurnSeesTheFirst() = runBlocking {
        engine.newSession(systemPrompt = "You are terse.").use { session ->
            val first = withTimeout(60_000) { session.send("My name is Ada.", TestModel.greedy(8)) }
            val second = withTimeout(60_000) { session.send("What is my name?", TestModel.greedy(8)) }
            val history = session.history
            assertEquals(
                listOf(Role.USER, Role.ASSISTANT, Role.USER, Role.ASSISTANT),
                history.map { it.role },
            )
            assertEquals(first.text, history[1].content)
            assertEquals(second.text, history[3].content)
            assertTrue(first.stats.generatedTokens in 1..8)
            // Turn 2's prompt contains turn 1, so it is strictly longer.
            assertTrue(
                second.stats.promptTokens > first.stats.promptTokens + first.stats.generatedTokens,
                "turn 2 prompt ${second.stats.promptTokens} vs turn 1 ${first.stats}",
            )
        }
    }

    @Test
    fun resetForgetsTheConversation() = runBlocking {
        engine.newSession(systemPrompt = "Be brief.").use { session ->
            val before = withTimeout(60_000) { session.send("Hello", TestModel.greedy(4)) }
            session.reset()
            assertEquals(emptyList(), session.history)
            // Greedy and the same system prompt: a fresh conversation replies alike.
            val after = withTimeout(60_000) { session.send("Hello", TestModel.greedy(4)) }
            assertEquals(before.text, after.text)
            assertEquals(before.stats.promptTokens, after.stats.promptTokens)
        }
    }
}
