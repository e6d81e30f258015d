package dev.mote

import dev.mote.ffi.MoteException as FfiMoteException
import dev.mote.ffi.TokenListener
import java.util.Collections
import java.util.concurrent.CountDownLatch
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicReference
import kotlin.test.assertEquals
import kotlin.test.assertFalse
import kotlin.test.assertFailsWith
import kotlin.test.assertIs
import kotlin.test.assertTrue
import kotlinx.coroutines.async
import kotlinx.coroutines.cancelAndJoin
import kotlinx.coroutines.flow.collectIndexed
import kotlinx.coroutines.flow.onEach
import kotlinx.coroutines.delay
import kotlinx.coroutines.flow.take
import kotlinx.coroutines.flow.toList
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.Test

class CancellationTest {
    private val engine get() = TestModel.engine

    /** Records every callback, so the test can check what arrived after cancel(). */
    private class Recorder : TokenListener {
        val tokens: MutableList<String> = Collections.synchronizedList(mutableListOf())
        val terminal = AtomicReference<Any?>(null)
        val done = CountDownLatch(1)
        val firstTokens = CountDownLatch(3)

        override fun onToken(text: String) {
            tokens.add(text)
            firstTokens.countDown()
        }

        override fun onComplete(reply: Reply) {
            terminal.set(reply); done.countDown()
        }

        override fun onError(error: FfiMoteException) {
            terminal.set(error); done.countDown()
        }
    }

    @Test
    fun noTokenArrivesAfterCancelReturns() {
        // Use the generated API directly: this pins the native contract the
        // Flow and suspend wrappers rely on.
        val raw = dev.mote.ffi.Engine.load(TestModel.path, LoadOptions())
        val session = raw.newSession()
        val recorder = Recorder()
        val handle = session.send("Count from one to one hundred.", TestModel.greedy(200), recorder)
        assertTrue(recorder.firstTokens.await(60, TimeUnit.SECONDS), "no tokens arrived")
        handle.cancel()
        val seenAtCancel = recorder.tokens.size
        assertTrue(recorder.done.await(30, TimeUnit.SECONDS), "no terminal callback after cancel")
        assertEquals(seenAtCancel, recorder.tokens.size, "a token arrived after cancel() returned")
        assertIs<FfiMoteException.Cancelled>(recorder.terminal.get())
        assertTrue(handle.isFinished())
        // The partial reply is kept. It starts with what was delivered; the core
        // may have recorded the one piece that was withheld at cancel time.
        val history = session.history()
        assertEquals(2, history.size)
        val delivered = recorder.tokens.joinToString("")
        assertTrue(history[1].content.startsWith(delivered), "'${history[1].content}' vs '$delivered'")
        assertTrue(seenAtCancel < 200)
        handle.close(); session.close(); raw.close()
    }

    /**
     * Structured cancellation of a stream. Greedy, this prompt does not end
     * on its own early (see the control below), so the assertions fail if
     * cancel() does nothing: the recorded reply would be tens to hundreds of
     * tokens and take seconds. If the wrapper did not wait for the native
     * side, isGenerating would still be true when the collection returns.
     */
    @Test
    fun cancellingTheCollectorStopsGenerationAndLeavesTheSessionIdle() = runBlocking {
        val long = 400
        engine.newSession().use { session ->
            var thirdAt = 0L
            val started = System.nanoTime()
            val pieces = withTimeout(60_000) {
                session.stream("Count from one to five hundred, one number per line.", TestModel.greedy(long))
                    .onEach { thirdAt = System.nanoTime() }
                    .take(3)
                    .toList()
            }
            val idleAt = System.nanoTime()
            // Checked before anything else can run: the collection itself must leave the session idle.
            val generatingAfter = session.isGenerating
            println("time to idle after cancel: ${(idleAt - thirdAt) / 1_000_000} ms (whole stream ${(idleAt - started) / 1_000_000} ms)")
            assertEquals(3, pieces.size)
            assertFalse(generatingAfter, "the stream returned while the native turn still ran")
            assertTrue(idleAt - thirdAt < 5_000_000_000, "cancellation took ${(idleAt - thirdAt) / 1_000_000} ms")

            val partial = session.history[1].content
            assertTrue(partial.startsWith(pieces.joinToString("")), "history '$partial' vs $pieces")
            val partialTokens = engine.countTokens(partial)
            assertTrue(partialTokens < 10, "generation ran on after cancellation: $partialTokens tokens, '$partial'")

            // At once, with no polling: no Busy, and the turn sees the partial one.
            val next = withTimeout(60_000) { session.send("Stop.", TestModel.greedy(4)) }
            assertTrue(next.stats.generatedTokens > 0)
            assertEquals(4, session.history.size)
        }
    }

    @Test
    fun aStreamThatRanToTheEndWithoutCancelIsLong() = runBlocking {
        // The control for the test above: the same prompt, uncancelled, does
        // not end on its own within the first tokens.
        engine.newSession().use { session ->
            val reply = withTimeout(120_000) {
                session.send("Count from one to five hundred, one number per line.", TestModel.greedy(40))
            }
            assertEquals(FinishReason.MAX_TOKENS, reply.finish, reply.text)
        }
    }

    @Test
    fun cancellingTheCallerCancelsSendAndJoinLeavesTheSessionIdle() = runBlocking {
        engine.newSession().use { session ->
            val tokens = java.util.concurrent.atomic.AtomicInteger()
            val job = async {
                session.send("Count from one to five hundred, one number per line.", TestModel.greedy(400)) {
                    tokens.incrementAndGet()
                }
            }
            withTimeout(60_000) { while (tokens.get() < 3) delay(5) }
            val cancelledAt = System.nanoTime()
            job.cancelAndJoin()
            println("send: time to idle after cancelAndJoin: ${(System.nanoTime() - cancelledAt) / 1_000_000} ms")
            assertFalse(session.isGenerating, "cancelAndJoin returned while the native turn still ran")
            assertTrue(job.isCancelled)
            assertEquals(2, session.history.size)
            assertTrue(engine.countTokens(session.history[1].content) < 20, session.history[1].content)
            // History edits need an idle session too.
            session.truncateHistory(0)
            val reply = withTimeout(60_000) { session.send("Hi", TestModel.greedy(4)) }
            assertEquals(reply.text, session.history[1].content)
        }
    }

    @Test
    fun closeDuringAStreamEndsItWithCancelled() = runBlocking<Unit> {
        val session = engine.newSession()
        val error = runCatching {
            withTimeout(60_000) {
                session.stream("Count from one to five hundred, one number per line.", TestModel.greedy(400))
                    .collectIndexed { i, _ -> if (i == 2) session.close() }
            }
        }.exceptionOrNull()
        assertIs<MoteException.Cancelled>(error)
    }

    @Test
    fun secondSendWhileGeneratingIsBusy() = runBlocking {
        engine.newSession().use { session ->
            val first = async { session.send("Describe the moon.", TestModel.greedy(24)) }
            withTimeout(60_000) { while (!session.isGenerating) delay(5) }
            assertFailsWith<MoteException.Busy> { session.send("And the sun?", TestModel.greedy(4)) }
            assertFailsWith<MoteException.Busy> { session.reset() }
            first.await()
            // Busy did not disturb the running turn.
            assertEquals(2, session.history.size)
        }
    }
}
