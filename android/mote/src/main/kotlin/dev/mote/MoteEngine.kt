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

    /** Starts a conversation. Sessions are independent and may run concurrently. */
    fun newSession(systemPrompt: String? = null): ChatSession {
        val session = ChatSession(native { inner.newSession() })
        if (systemPrompt != null) session.setSystemPrompt(systemPrompt)
        return session
    }

    /** Releases this handle; later calls throw [IllegalStateException]. */
    override fun close() = inner.close()
}
