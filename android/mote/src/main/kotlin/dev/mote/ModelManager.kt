package dev.mote

import dev.mote.ffi.DownloadHandle
import dev.mote.ffi.DownloadListener
import dev.mote.ffi.ModelException as FfiModelException
import dev.mote.ffi.ModelManager as FfiModelManager
import dev.mote.ffi.ModelSet as FfiModelSet
import java.io.File
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.CoroutineDispatcher
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.NonCancellable
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.flow
import kotlinx.coroutines.flow.transform
import kotlinx.coroutines.withContext

typealias CatalogueEntry = dev.mote.ffi.CatalogueEntry
typealias ModelVersion = dev.mote.ffi.ModelVersion
typealias VersionStatus = dev.mote.ffi.VersionStatus
typealias DownloadProgress = dev.mote.ffi.DownloadProgress
typealias PullResult = dev.mote.ffi.PullResult
typealias DamagedVersion = dev.mote.ffi.DamagedVersion
typealias ResidentModel = dev.mote.ffi.ResidentModel

/** What a pull reports: [Progress] events, then one [Done]. */
sealed class DownloadEvent {
    data class Progress(val progress: DownloadProgress) : DownloadEvent()
    data class Done(val result: PullResult) : DownloadEvent()
}

/**
 * Models on the device: a catalogue, resumable SHA-256-verified downloads,
 * installed versions with validation and rollback.
 *
 * Downloads run on a native thread; the blocking calls (hashing a file,
 * validating a version by loading it) run on [dispatcher]. Cancelling the
 * coroutine that collects a pull pauses it: the partial file is kept, and the
 * next pull of the same model resumes where it stopped, after a process kill
 * too. For downloads that must survive the app, fetch with `WorkManager` or
 * `DownloadManager` and hand the file to [installFile].
 */
class ModelManager private constructor(
    private val inner: FfiModelManager,
    private val dispatcher: CoroutineDispatcher,
) : AutoCloseable {

    companion object {
        /**
         * The store in [dir] (e.g. `File(context.filesDir, "models")`), created
         * if needed. [catalogueJson] replaces the built-in catalogue.
         */
        suspend fun open(
            dir: File,
            catalogueJson: String? = null,
            dispatcher: CoroutineDispatcher = Dispatchers.IO,
        ): ModelManager = withContext(dispatcher) {
            ModelManager(models { FfiModelManager.open(dir.path, catalogueJson) }, dispatcher)
        }
    }

    /** The models this manager can pull. */
    val catalogue: List<CatalogueEntry> get() = inner.catalogue()

    /**
     * The largest catalogue model whose estimated memory at [context] tokens
     * (0: 4096) fits in [headroom] of [deviceMemoryBytes]
     * (`ActivityManager.MemoryInfo.totalMem`); `null` if none fits.
     */
    fun recommend(deviceMemoryBytes: Long, context: Long = 0, headroom: Double = 0.5): CatalogueEntry? =
        models { inner.recommend(deviceMemoryBytes, context, headroom) }

    /** Every installed version of every model. */
    suspend fun installed(): List<ModelVersion> = io { inner.installed() }

    /**
     * Downloads catalogue entry [id] as a flow of progress; the flow completes
     * once the model is verified and installed, and throws [ModelException]
     * otherwise. [sha256] is needed only for entries without a pinned hash.
     */
    fun pull(id: String, sha256: String? = null): Flow<DownloadProgress> = progressOf(pullEvents(id, sha256))

    /** [pull] with the result as the last event. */
    fun pullEvents(id: String, sha256: String? = null): Flow<DownloadEvent> = events { inner.pull(id, sha256, it) }

    /** [pull] for any URL, installed as a version of [name] (default: the file name without `.gguf`). */
    fun pullUrl(url: String, sha256: String, name: String? = null): Flow<DownloadProgress> =
        progressOf(pullUrlEvents(url, sha256, name))

    fun pullUrlEvents(url: String, sha256: String, name: String? = null): Flow<DownloadEvent> =
        events { inner.pullUrl(url, sha256, name, it) }

    /** Pulls [id] and returns what was installed; [onProgress] runs on a native thread. */
    suspend fun install(id: String, sha256: String? = null, onProgress: ((DownloadProgress) -> Unit)? = null): PullResult =
        result(pullEvents(id, sha256), onProgress)

    suspend fun installUrl(
        url: String,
        sha256: String,
        name: String? = null,
        onProgress: ((DownloadProgress) -> Unit)? = null,
    ): PullResult = result(pullUrlEvents(url, sha256, name), onProgress)

    /**
     * Verifies and installs a file the app downloaded itself (`WorkManager`,
     * `DownloadManager`); moved into the store when on the same file system.
     * A file whose hash differs is left where it was.
     */
    suspend fun installFile(file: File, sha256: String, name: String): ModelVersion =
        io { inner.installFile(file.path, sha256, name) }

    /**
     * Makes [version] of [name] the one [resolve] returns, after checking that
     * it parses, loads and generates a token. On failure it throws
     * [ModelException.ValidationFailed] and the previous version stays active.
     */
    suspend fun activate(name: String, version: Int): ModelVersion = io { inner.activate(name, version) }

    /** The file to load for [name]: its active version, else its newest one that has not failed. */
    suspend fun resolve(name: String): File = File(io { inner.resolve(name) })

    /** Removes one version, or all versions of [name]; returns the files deleted. */
    suspend fun remove(name: String, version: Int? = null): List<String> = io { inner.remove(name, version) }

    /** Re-hashes installed files; returns the versions whose file is missing or changed. */
    suspend fun verify(name: String? = null): List<DamagedVersion> = io { inner.verify(name) }

    /** Keeps each model's active version and its newest [keep] others that did not fail; returns the files deleted. */
    suspend fun gc(keep: Int): List<String> = io { inner.gc(keep) }

    override fun close() = inner.close()

    private suspend fun <T> io(block: () -> T): T = withContext(dispatcher) { models(block) }

    private fun progressOf(events: Flow<DownloadEvent>): Flow<DownloadProgress> =
        events.transform { if (it is DownloadEvent.Progress) emit(it.progress) }

    private suspend fun result(events: Flow<DownloadEvent>, onProgress: ((DownloadProgress) -> Unit)?): PullResult {
        var done: PullResult? = null
        events.collect { event ->
            when (event) {
                is DownloadEvent.Progress -> onProgress?.invoke(event.progress)
                is DownloadEvent.Done -> done = event.result
            }
        }
        return checkNotNull(done) { "a pull ended without a result" }
    }

    /**
     * One native pull per collection. However the collector ends (completion,
     * error, cancellation, `take`), a pull still running is cancelled and the
     * flow waits, uncancellably, for its terminal callback: afterwards no
     * native thread touches the partial file, so the next pull can resume it.
     */
    private fun events(start: (DownloadListener) -> DownloadHandle): Flow<DownloadEvent> = flow {
        val events = Channel<DownloadEvent>(Channel.UNLIMITED)
        val ended = CompletableDeferred<Unit>()
        val handle = start(object : DownloadListener {
            override fun onProgress(progress: DownloadProgress) {
                events.trySend(DownloadEvent.Progress(progress))
            }

            override fun onComplete(result: PullResult) {
                events.trySend(DownloadEvent.Done(result)); events.close(); ended.complete(Unit)
            }

            override fun onError(error: FfiModelException) {
                events.close(error.toModelException()); ended.complete(Unit)
            }
        })
        try {
            for (event in events) emit(event)
        } finally {
            if (!handle.isFinished()) handle.cancel()
            withContext(NonCancellable) { ended.await() }
            handle.close()
        }
    }
}

/**
 * Several models under one memory budget: getting one that does not fit
 * unmaps the least recently used others first. An evicted model's sessions
 * stay valid; their conversations come back when it is loaded again.
 */
class ModelSet(budgetBytes: Long, options: LoadOptions = LoadOptions()) : AutoCloseable {
    private val inner: FfiModelSet = native { FfiModelSet(budgetBytes, options) }

    /**
     * The engine for [name] (the file at [path], e.g. from [ModelManager.resolve]),
     * loading it or mapping its weights again after evicting others as needed.
     * Call it each time the app turns to a model, so the set knows which is in use.
     * @throws MoteException.InsufficientMemory if it cannot fit even alone.
     */
    suspend fun get(name: String, path: File, dispatcher: CoroutineDispatcher = Dispatchers.IO): MoteEngine =
        withContext(dispatcher) { MoteEngine(native { inner.get(name, path.path) }) }

    /** Unmaps [name]'s weights now; false if it was not loaded. */
    fun evict(name: String): Boolean = inner.evict(name)

    /** Every model the set knows, least recently used first. */
    val residents: List<ResidentModel> get() = inner.residents()

    val budgetBytes: Long get() = inner.budgetBytes()

    override fun close() = inner.close()
}
