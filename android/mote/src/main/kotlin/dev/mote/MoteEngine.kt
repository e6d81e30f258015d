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
class MoteEngine internal constructor(
    private val inner: FfiEngine,
    // Keeps an asset's file descriptor open while the engine may need to map it again.
    private val keepOpen: AutoCloseable? = null,
) : AutoCloseable {

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

        /**
         * Loads a model stored uncompressed in the APK (`noCompress += "gguf"`
         * in `androidResources`), memory-mapped in place from the asset's file
         * descriptor, offset and length: no copy, no extra disk. The asset's
         * offset in the APK must be a multiple of 32 (GGUF's alignment);
         * otherwise this throws [MoteException.InvalidArgument] and the app
         * should copy the asset to a file once or fetch it with [ModelManager].
         */
        suspend fun loadAsset(
            assets: android.content.res.AssetManager,
            assetName: String,
            options: LoadOptions = LoadOptions(),
            dispatcher: CoroutineDispatcher = Dispatchers.IO,
        ): MoteEngine = withContext(dispatcher) {
            assets.openFd(assetName).use { afd ->
                // A descriptor of our own, open for the engine's lifetime: the
                // engine maps the file again after a memory release unmapped it.
                val fd = afd.parcelFileDescriptor.dup()
                try {
                    val embedded = options.copy(byteOffset = afd.startOffset, byteLength = afd.length)
                    MoteEngine(native { FfiEngine.load("/proc/self/fd/${fd.fd}", embedded) }, fd)
                } catch (e: Throwable) {
                    fd.close()
                    throw e
                }
            }
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

    /** Tokens [text] takes as message content, e.g. to check it fits [ContextStatus.remaining]. */
    fun countTokens(text: String): Int = native { inner.countTokens(text) }.toIntCount()

    /**
     * Tokens [messages] take as a prompt in the model's chat template, with the
     * assistant's turn opened, exactly as a send would feed them.
     */
    fun countMessageTokens(messages: List<ChatMessage>): Int = native { inner.countMessageTokens(messages) }.toIntCount()

    /** Inference threads running now; a thermal decision in force may run fewer than [setThreads] asked for. */
    val threads: Int get() = native { inner.threads() }

    /** Changes the inference threads (at least 1). A thermal cap in force still applies until the device cools. */
    fun setThreads(threads: Int) = native { inner.setThreads(threads) }

    /** What [onThermalState] does at SERIOUS and CRITICAL; starts as [defaultThermalPolicy]. */
    var thermalPolicy: ThermalPolicy
        get() = inner.thermalPolicy()
        set(value) = inner.setThermalPolicy(value)

    /**
     * Applies [thermalPolicy] for [state], also to a reply in progress: SERIOUS
     * or CRITICAL lowers the threads or paces tokens, a cooler state lifts the
     * throttle. [MoteLifecycle] calls this from the platform's thermal listener.
     * Returns what is now in force.
     */
    fun onThermalState(state: ThermalState): ThermalDecision = native { inner.onThermalState(state) }

    /**
     * A session continued from a snapshot written by [ChatSession.saveSnapshot]
     * or the memory policy ([ChatSession.snapshotPath]).
     * @throws MoteException.InvalidSnapshot if the file is damaged or not a snapshot.
     */
    fun restoreSession(path: String): ChatSession = ChatSession(native { inner.restoreSession(path) })

    /** Starts a conversation. Sessions are independent and may run concurrently. */
    fun newSession(systemPrompt: String? = null): ChatSession {
        val session = ChatSession(native { inner.newSession() })
        if (systemPrompt != null) session.setSystemPrompt(systemPrompt)
        return session
    }

    /** Releases this handle; later calls throw [IllegalStateException]. */
    /** The binding object, for the extensions in this package (structured output, tools). */
    internal val ffi: FfiEngine get() = inner

    override fun close() {
        inner.close()
        keepOpen?.close()
    }
}

// Token counts fit an Int by far (contexts are thousands of tokens); saturate
// rather than wrap for absurd inputs.
private fun Long.toIntCount(): Int = coerceAtMost(Int.MAX_VALUE.toLong()).toInt()
