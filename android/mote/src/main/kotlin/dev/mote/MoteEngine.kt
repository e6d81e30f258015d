package dev.mote

import dev.mote.ffi.Engine as FfiEngine
import kotlinx.coroutines.CoroutineDispatcher
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.withContext

/**
 * A loaded model. Load once, share across screens, and [close] it when the
 * app no longer needs it: the model's memory is returned once the engine and
 * every [ChatSession] created from it are closed.
 */
class MoteEngine private constructor(private val inner: FfiEngine) : AutoCloseable {

    companion object {
        /**
         * Loads a GGUF model file. Loading maps the file and prepares weights,
         * which takes from a few hundred milliseconds to seconds, so it runs on
         * [dispatcher]. It cannot be interrupted once started.
         *
         * @throws MoteException.ModelUnreadable if [path] cannot be read.
         * @throws MoteException.InsufficientMemory if the model would not fit
         *   (pass `availMem` with [LoadOptions.withAvailableMemory]).
         */
        suspend fun load(
            path: String,
            options: LoadOptions = LoadOptions(),
            dispatcher: CoroutineDispatcher = Dispatchers.IO,
        ): MoteEngine = withContext(dispatcher) {
            MoteEngine(native { FfiEngine.load(path, options) })
        }
    }

    /** Architecture, size and context length of the loaded model. */
    val info: ModelInfo get() = native { inner.info() }

    /**
     * Applies the memory policy for [level]: trims, snapshots sessions, drops
     * KV caches or unmaps the weights. Returns at once even while replies are
     * generating; those sessions are released when their reply ends. The next
     * call reloads whatever was freed, transparently.
     */
    fun onMemoryPressure(level: PressureLevel): ReleaseReport = native { inner.onMemoryPressure(level) }

    /** [onMemoryPressure] for a `ComponentCallbacks2.onTrimMemory` level; `null` when the level asks nothing. */
    fun onAndroidTrimMemory(level: Int): ReleaseReport? = native { inner.onAndroidTrimMemory(level) }

    /** Frees exactly what [actions] name, whatever the policy says. */
    fun release(actions: Actions): ReleaseReport = native { inner.release(actions) }

    /** Where the native memory goes right now. */
    val memoryReport: MemoryReport get() = native { inner.memoryReport() }

    /** Which actions each [PressureLevel] triggers; change it with `copy(...)`. */
    var memoryPolicy: MemoryPolicy
        get() = native { inner.memoryPolicy() }
        set(value) = native { inner.setMemoryPolicy(value) }

    /** False after a release unmapped the weights (the next call reloads them). */
    val isLoaded: Boolean get() = native { inner.isLoaded() }

    /** Set when the previous load with the same [LoadOptions.stateDir] never finished. */
    val unfinishedLoad: UnfinishedLoad? get() = native { inner.unfinishedLoad() }

    /** A session continued from a snapshot written by [ChatSession.saveSnapshot] or the memory policy. */
    fun restoreSession(path: String): ChatSession = ChatSession(native { inner.restoreSession(path) })

    /** Starts a conversation. Sessions are independent and may run concurrently. */
    fun newSession(systemPrompt: String? = null): ChatSession {
        val session = ChatSession(native { inner.newSession() })
        if (systemPrompt != null) session.setSystemPrompt(systemPrompt)
        return session
    }

    /** Releases this handle; later calls throw [IllegalStateException]. */
    override fun close() = inner.close()
}
