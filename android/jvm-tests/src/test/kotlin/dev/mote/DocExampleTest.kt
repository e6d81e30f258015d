package dev.mote

import java.io.File
import kotlin.test.assertEquals
import kotlin.test.assertNull
import kotlin.test.assertTrue
import kotlin.test.fail
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Job
import kotlinx.coroutines.cancelAndJoin
import kotlinx.coroutines.coroutineScope
import kotlinx.coroutines.delay
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.Test

// The examples from docs/android.md, line for line; docExamplesAreVerbatim
// checks that every line of every Kotlin block appears here (or in the
// Robolectric doc test), in order. Lines added between them are assertions.

suspend fun chat(modelPath: String) {
    // Loads on Dispatchers.IO; safe to call from the main thread.
    val engine = MoteEngine.load(modelPath, LoadOptions(contextLength = 1024))
    engine.use {
        engine.newSession(systemPrompt = "You are a helpful assistant.").use { session ->
            val config = GenerationConfig(maxTokens = 32, temperature = 0.7f)

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

suspend fun chatTurn(engine: MoteEngine, session: ChatSession, text: String) {
    // What the prompt will take before sending it (history has no system prompt).
    val prompt = engine.countMessageTokens(session.history + ChatMessage(Role.USER, text))
    println("prompt: $prompt tokens, ${engine.countTokens(text)} for the new message")

    var done = 0
    session.events(text, GenerationConfig(maxTokens = 32)).collect { event ->
        when (event) {
            is ChatEvent.Token -> print(event.text)
            is ChatEvent.Done -> println("\n[${event.reply.finish}, ${event.reply.stats.generatedTokens} tokens]")
        }
        if (event is ChatEvent.Done) { done++; check(event.reply.stats.promptTokens == prompt) }
    }
    check(done == 1)
    val status = session.contextStatus
    println("${status.used}/${status.limit} tokens, ${status.droppedMessages} old messages no longer seen")
}

suspend fun strictTurn(session: ChatSession, text: String): Reply {
    session.contextPolicy = ContextPolicy.FAIL
    return try {
        session.send(text, GenerationConfig(maxTokens = 32))
    } catch (e: MoteException.ContextFull) {
        // Nothing was dropped or sent: forget the oldest exchange, then retry.
        session.removeMessage(0)
        session.removeMessage(0)
        session.send(text, GenerationConfig(maxTokens = 32))
    }
}

suspend fun regenerate(session: ChatSession): Reply {
    // Drop the last reply, keep its question, and ask again.
    val question = session.history.size - 2
    val text = session.history[question].content
    session.truncateHistory(question)
    return session.send(text, GenerationConfig(maxTokens = 32, temperature = 0.9f))
}

class ChatController(private val session: ChatSession, private val scope: CoroutineScope) {
    private var reply: Job? = null

    fun ask(text: String) {
        val previous = reply
        reply = scope.launch {
            previous?.cancelAndJoin() // stops the old reply; the session is idle after this
            session.stream(text, GenerationConfig(maxTokens = 32)).collect { piece -> print(piece) }
        }
    }

    fun stop() {
        reply?.cancel()
    }

    suspend fun join() = reply?.join()
}

fun throttleHarder(engine: MoteEngine) {
    engine.thermalPolicy = ThermalPolicy(atSerious = LowerThreads(1), atCritical = PaceTokens(200))
    val decision = engine.onThermalState(ThermalState.SERIOUS)
    println("${decision.threads} threads, ${decision.paceMs} ms between tokens (${decision.applied})")
    check(decision.threads == 1 && engine.threads == 1)
}

class DocExampleTest {
    @Test
    fun theDocumentedExampleRuns() = runBlocking {
        chat(TestModel.path)
        assertNull(safeLoad("/nonexistent.gguf"))
    }

    @Test
    fun theLongConversationExamplesRun() = runBlocking {
        TestModel.engine.newSession().use { session ->
            withTimeout(60_000) { chatTurn(TestModel.engine, session, "Name a fruit.") }
            assertEquals(2, session.history.size)
            val before = session.history[0]
            withTimeout(60_000) { regenerate(session) }
            assertEquals(listOf(before.content), session.history.filter { it.role == Role.USER }.map { it.content })
        }
        // strictTurn's recovery path: a small context under FAIL fills after a few turns.
        MoteEngine.load(TestModel.path, LoadOptions(contextLength = 256)).use { engine ->
            engine.newSession().use { session ->
                var full = false
                var turns = 0
                while (!full) {
                    val before = session.history.size
                    withTimeout(60_000) { strictTurn(session, "Fact ${++turns}: say ok.") }
                    // The catch branch ran when the history did not grow by one exchange.
                    full = session.history.size == before
                    assertTrue(turns < 40, "never filled: ${session.contextStatus}")
                }
                assertEquals(ContextPolicy.FAIL, session.contextPolicy)
                assertEquals("Fact $turns: say ok.", session.history[session.history.size - 2].content)
            }
        }
    }

    @Test
    fun aNewQuestionCancelsThePreviousReplyWithoutBusy() = runBlocking {
        TestModel.engine.newSession().use { session ->
            coroutineScope {
                val controller = ChatController(session, this)
                controller.ask("Count from one to five hundred, one number per line.")
                withTimeout(60_000) { while (!session.isGenerating) delay(5) }
                controller.ask("Say hi.") // would throw Busy if the first reply were still running
                withTimeout(60_000) { controller.join() }
                // The first question keeps its partial reply (4 messages), or leaves
                // nothing when the cancel lands before its first token, as it can on a
                // slow machine (2). Either way no Busy and no torn turn.
                val history = session.history
                assertTrue(history.size == 4 || history.size == 2, "$history")
                assertEquals("Say hi.", history[history.size - 2].content)
                assertEquals(Role.ASSISTANT, history.last().role)
                controller.stop()
            }
        }
    }

    @Test
    fun theThermalExampleRuns() {
        val engine = TestModel.engine
        val threads = engine.threads
        try {
            engine.setThreads(2)
            throttleHarder(engine)
        } finally {
            engine.onThermalState(ThermalState.NOMINAL)
            engine.thermalPolicy = defaultThermalPolicy()
            engine.setThreads(threads)
        }
    }

    /** Every line of every Kotlin block in docs/android.md, in order, in one test source file. */
    @Test
    fun docExamplesAreVerbatim() {
        val root = generateSequence(File(System.getProperty("user.dir")).absoluteFile) { it.parentFile }
            .first { File(it, "docs/android.md").isFile }
        val doc = File(root, "docs/android.md").readText()
        val blocks = Regex("```kotlin\n(.*?)```", RegexOption.DOT_MATCHES_ALL).findAll(doc).map { it.groupValues[1] }.toList()
        assertTrue(blocks.size >= 6, "found ${blocks.size} Kotlin blocks")
        val sources = File(root, "android/jvm-tests/src").walk().filter { it.extension == "kt" }
            .map { it.name to it.readLines().map(String::trimEnd) }.toList()
        for (block in blocks) {
            val lines = block.lines().map(String::trimEnd).filter { it.isNotBlank() && !it.startsWith("import ") }
            val match = sources.firstOrNull { (_, source) -> containsInOrder(source, lines) }
            if (match == null) {
                val (name, source) = sources.maxBy { (_, source) -> matchedPrefix(source, lines) }
                fail("docs/android.md block starting '${lines.first()}' is not verbatim in a test; " +
                    "closest $name stops at '${lines[matchedPrefix(source, lines)]}'")
            }
        }
    }

    private fun matchedPrefix(source: List<String>, lines: List<String>): Int {
        var i = 0
        for (line in source) if (i < lines.size && line == lines[i]) i++
        return i
    }

    private fun containsInOrder(source: List<String>, lines: List<String>) = matchedPrefix(source, lines) == lines.size
}
