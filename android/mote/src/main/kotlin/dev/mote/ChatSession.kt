package dev.mote

import dev.mote.ffi.ChatSession as FfiChatSession
import dev.mote.ffi.MoteException as FfiMoteException
import dev.mote.ffi.TaskHandle
import dev.mote.ffi.TokenListener
import java.util.concurrent.atomic.AtomicReference
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.NonCancellable
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.completeWith
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.flow
import kotlinx.coroutines.flow.transform
import kotlinx.coroutines.withContext

/**
 * One conversation: its history and KV cache. A session generates one reply
 * at a time; starting another while one runs fails with [MoteException.Busy].
 * Generation runs on a native worker thread, so collecting on
 * Dispatchers.Main is fine.
 *
 * Cancellation is structured: when the coroutine collecting [events] or
 * [stream], or the one calling [send], is cancelled, the generation is
 * cancelled and the wrapper waits (about one token) for the native side to
 * let go before the coroutine completes. So after `job.cancelAndJoin()` the
 * session is idle, and the next [send] or history edit never sees Busy.
 */
class ChatSession internal constructor(private val inner: FfiChatSession) : AutoCloseable {

    // The running turn, for close(); a Busy refusal never replaces it.
    private val active = AtomicReference<TaskHandle?>(null)

    /**
     * The reply to [message] as events: [ChatEvent.Token] pieces, then exactly
     * one [ChatEvent.Done] carrying the [Reply]. Errors (Busy, PromptTooLong,
     * ContextFull, Cancelled by [close], ...) are thrown by the flow. Each
     * collection sends the message once.
     */
    fun events(message: String, config: GenerationConfig = GenerationConfig()): Flow<ChatEvent> = flow {
        // Unbounded: the worker never waits for a slow collector, and no piece is dropped.
        val events = Channel<ChatEvent>(Channel.UNLIMITED)
        val turn = start(message, config, tokens = { events.trySend(ChatEvent.Token(it)) }) { outcome ->
            outcome.fold(
                onSuccess = { events.trySend(ChatEvent.Done(it)); events.close() },
                onFailure = { events.close(it) },
            )
        }
        turn.use { for (event in events) emit(event) }
    }

    /**
     * Streams the reply to [message] piece by piece ([events] without the final
     * [Reply]). Cancelling the collecting coroutine stops generation; the
     * partial reply stays in [history].
     */
    fun stream(message: String, config: GenerationConfig = GenerationConfig()): Flow<String> =
        events(message, config).transform { if (it is ChatEvent.Token) emit(it.text) }

    /**
     * Generates the full reply to [message]. [onToken] (optional) sees each piece
     * as it arrives, on the native worker thread. Cancelling the calling
     * coroutine cancels the generation and waits for it to stop.
     */
    suspend fun send(
        message: String,
        config: GenerationConfig = GenerationConfig(),
        onToken: ((String) -> Unit)? = null,
    ): Reply {
        val result = CompletableDeferred<Reply>()
        val turn = start(message, config, onToken ?: {}) { result.completeWith(it) }
        return turn.use { result.await() }
    }

    /** One native send and its terminal callback. */
    private inner class Turn(val handle: TaskHandle, val ended: CompletableDeferred<Unit>) {
        /**
         * Runs [block], then settles the turn however [block] ended (value,
         * error, cancellation, a downstream `take`): cancels a generation still
         * running and waits, uncancellably, for the terminal callback. After
         * that callback the native session is idle again.
         */
        suspend fun <T> use(block: suspend () -> T): T = try {
            block()
        } finally {
            // isFinished is set before the terminal callback: a turn whose
            // outcome is decided needs no cancel, only the wait.
            if (!handle.isFinished()) handle.cancel()
            withContext(NonCancellable) { ended.await() }
            active.compareAndSet(handle, null)
            handle.close()
        }
    }

    private fun start(
        message: String,
        config: GenerationConfig,
        tokens: (String) -> Unit,
        end: (Result<Reply>) -> Unit,
    ): Turn {
        val ended = CompletableDeferred<Unit>()
        val handle = inner.send(message, config, object : TokenListener {
            override fun onToken(text: String) = tokens(text)

            override fun onComplete(reply: Reply) {
                end(Result.success(reply)); ended.complete(Unit)
            }

            override fun onError(error: FfiMoteException) {
                end(Result.failure(error.toMoteException())); ended.complete(Unit)
            }
        })
        // Busy arrives synchronously, so a refused send is already finished here
        // and must not displace the turn that is really running.
        if (!handle.isFinished()) active.set(handle)
        return Turn(handle, ended)
    }

    /** True while a reply is being generated, including while a cancelled one winds down. */
    val isGenerating: Boolean get() = native { inner.isGenerating() }

    /**
     * The conversation so far, without the system prompt. While a reply is
     * being generated this is the history from before that turn.
     */
    val history: List<ChatMessage> get() = native { inner.history() }

    /** Removes history message [index] (0 = the first after the system prompt). Busy while generating. */
    fun removeMessage(index: Int) = native { inner.removeMessage(index.toLong()) }

    /** Replaces history message [index], e.g. to edit a user message before regenerating. Busy while generating. */
    fun replaceMessage(index: Int, message: ChatMessage) = native { inner.replaceMessage(index.toLong(), message) }

    /** Keeps the first [length] history messages (e.g. to regenerate the last reply). Busy while generating. */
    fun truncateHistory(length: Int) = native { inner.truncateHistory(length.toLong()) }

    /** How full the context is, as of the last completed call: used, limit, remaining, dropped messages. */
    val contextStatus: ContextStatus get() = native { inner.contextStatus() }

    /**
     * What happens when the conversation outgrows the context:
     * [ContextPolicy.DROP_OLDEST] (default) and [ContextPolicy.SHIFT] stop
     * showing the model the oldest turns (they stay in [history]);
     * [ContextPolicy.FAIL] throws [MoteException.ContextFull] instead.
     * Setting it throws Busy while generating.
     */
    var contextPolicy: ContextPolicy
        get() = native { inner.contextPolicy() }
        set(value) = native { inner.setContextPolicy(value) }

    /** Replaces the system prompt; `null` removes it. Throws [MoteException.Busy] while generating. */
    fun setSystemPrompt(prompt: String?) = native { inner.setSystemPrompt(prompt) }

    /** Forgets the conversation, keeping the system prompt. Throws [MoteException.Busy] while generating. */
    fun reset() = native { inner.reset() }

    /**
     * Writes the conversation and its KV cache to [path], for
     * [MoteEngine.restoreSession] in this or a later process. Throws [MoteException.Busy] while generating.
     */
    fun saveSnapshot(path: String) = native { inner.saveSnapshot(path) }

    /**
     * The snapshot a memory release wrote for this session, or null. It is
     * deleted by [reset] and [close]; keep the path to restore the chat with
     * [MoteEngine.restoreSession] if the process is killed.
     */
    val snapshotPath: String? get() = native { inner.snapshotPath() }

    /** Whether the KV cache is in memory; false after a release dropped it. */
    val hasKvCache: Boolean get() = native { inner.hasKvCache() }

    /** Tokens whose keys and values are cached, in memory or in a snapshot. */
    val cachedTokens: Long get() = native { inner.cachedTokens() }

    /** Cancels a running generation (its collector sees [MoteException.Cancelled]) and releases this session. */
    override fun close() {
        // The handle may be closed concurrently by the finishing turn.
        active.getAndSet(null)?.let { runCatching { it.cancel() } }
        inner.close()
    }
}
