package dev.mote

import dev.mote.ffi.ChatSession as FfiChatSession
import dev.mote.ffi.MoteException as FfiMoteException
import dev.mote.ffi.TaskHandle
import dev.mote.ffi.TokenListener
import java.util.concurrent.atomic.AtomicReference
import kotlin.coroutines.resume
import kotlin.coroutines.resumeWithException
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.channels.awaitClose
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.buffer
import kotlinx.coroutines.flow.callbackFlow
import kotlinx.coroutines.suspendCancellableCoroutine

/**
 * One conversation: its history and KV cache. A session generates one reply
 * at a time; starting another while one runs fails with [MoteException.Busy].
 * Generation runs on a native worker thread, so collecting on
 * Dispatchers.Main is fine.
 */
class ChatSession internal constructor(private val inner: FfiChatSession) : AutoCloseable {

    private val active = AtomicReference<TaskHandle?>(null)

    /**
     * Streams the reply to [message] piece by piece. Cancelling the collecting
     * coroutine stops generation; once cancellation completes no further piece
     * is emitted, and the partial reply stays in [history].
     */
    fun stream(message: String, config: GenerationConfig = GenerationConfig()): Flow<String> =
        callbackFlow {
            val handle = inner.send(message, config, object : TokenListener {
                override fun onToken(text: String) {
                    trySend(text)
                }

                override fun onComplete(reply: Reply) {
                    close()
                }

                override fun onError(error: FfiMoteException) {
                    close(error.toMoteException())
                }
            })
            active.set(handle)
            awaitClose {
                handle.cancel()
                active.compareAndSet(handle, null)
                handle.close()
            }
        }.buffer(Channel.UNLIMITED) // tokens must never be dropped by a slow collector

    /**
     * Generates the full reply to [message]. [onToken] (optional) sees each piece
     * as it arrives, on the native worker thread. Cancelling the calling
     * coroutine cancels the generation.
     */
    suspend fun send(
        message: String,
        config: GenerationConfig = GenerationConfig(),
        onToken: ((String) -> Unit)? = null,
    ): Reply {
        var handle: TaskHandle? = null
        try {
            return suspendCancellableCoroutine { cont ->
                val h = inner.send(message, config, object : TokenListener {
                    override fun onToken(text: String) {
                        onToken?.invoke(text)
                    }

                    override fun onComplete(reply: Reply) {
                        cont.resume(reply)
                    }

                    override fun onError(error: FfiMoteException) {
                        cont.resumeWithException(error.toMoteException())
                    }
                })
                handle = h
                active.set(h)
                cont.invokeOnCancellation { h.cancel() }
            }
        } finally {
            handle?.let {
                active.compareAndSet(it, null)
                it.close()
            }
        }
    }

    /** True while a reply is being generated. */
    val isGenerating: Boolean get() = native { inner.isGenerating() }

    /**
     * The conversation so far (system prompt first, if any). While a reply is
     * being generated this is the history from before that turn.
     */
    val history: List<ChatMessage> get() = native { inner.history() }

    /** Replaces the system prompt; `null` removes it. Throws [MoteException.Busy] while generating. */
    fun setSystemPrompt(prompt: String?) = native { inner.setSystemPrompt(prompt) }

    /** Forgets the conversation, keeping the system prompt. Throws [MoteException.Busy] while generating. */
    fun reset() = native { inner.reset() }

    /**
     * Writes the conversation and its KV cache to [path], for
     * [MoteEngine.restoreSession] in this or a later process. Throws [MoteException.Busy] while generating.
     */
    fun saveSnapshot(path: String) = native { inner.saveSnapshot(path) }

    /** Whether the KV cache is in memory; false after a release dropped it. */
    val hasKvCache: Boolean get() = native { inner.hasKvCache() }

    /** Tokens whose keys and values are cached, in memory or in a snapshot. */
    val cachedTokens: Long get() = native { inner.cachedTokens().toLong() }

    /** Cancels a running generation and releases this session. */
    override fun close() {
        // The handle may be closed concurrently by the finishing stream/send.
        active.getAndSet(null)?.let { runCatching { it.cancel() } }
        inner.close()
    }
}
