package dev.mote

import dev.mote.ffi.MoteException as FfiMoteException
import dev.mote.ffi.TokenListener
import java.util.Collections
import java.util.concurrent.CountDownLatch
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicReference
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertIs
import kotlin.test.assertTrue
import kotlinx.coroutines.async
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

    @Test
    fun collectorCancellationStopsGenerationAndKeepsThePartialReply() = runBlocking {
        engine.newSession().use { session ->
            val pieces = withTimeout(60_000) {
                session.stream("Write a long story about a cat.", TestModel.greedy(200)).take(3).toList()
            }
            assertEquals(3, pieces.size)
            // The worker notices the cancel within one token; wait for it to let go.
            withTimeout(30_000) { while (session.isGenerating) delay(10) }
            val reply = session.history[1].content
            assertTrue(reply.startsWith(pieces.joinToString("")), "history '$reply' vs $pieces")
            assertTrue(reply.length < 600, "generation ran on after cancellation: $reply")
        }
    }

    @Test
    fun cancellingTheCallerCancelsSend() = runBlocking {
        engine.newSession().use { session ->
            val job = async { session.send("Tell me everything about the sea.", TestModel.greedy(200)) }
            withTimeout(60_000) { while (!session.isGenerating) delay(5) }
            delay(200)
            job.cancel()
            withTimeout(30_000) { while (session.isGenerating) delay(10) }
            assertEquals(2, session.history.size)
        }
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
