package dev.mote.sample.engine

import android.content.Context
import dev.mote.LoadOptions
import dev.mote.MoteEngine
import dev.mote.load
import java.io.File
import kotlinx.coroutines.sync.Mutex
import kotlinx.coroutines.sync.withLock

/**
 * The one chat engine of the app. Holding a single model keeps memory
 * predictable: picking another model releases the previous one first.
 */
class EngineStore(
    private val context: Context,
    private val onLoaded: (MoteEngine) -> Unit,
    private val onClosing: (MoteEngine) -> Unit,
) {
    private val mutex = Mutex()
    private var path: String? = null
    private var engine: MoteEngine? = null

    /** The engine for [file], loaded on first use. Sessions of a replaced engine keep working until closed. */
    suspend fun load(file: File): MoteEngine = mutex.withLock {
        val current = engine
        if (current != null && path == file.absolutePath) return@withLock current
        current?.let {
            onClosing(it)
            it.close()
        }
        engine = null
        path = null
        // The context-taking load checks available memory first, so a model too
        // big for this phone fails with InsufficientMemory instead of a kill.
        val loaded = MoteEngine.load(context, file.absolutePath, CHAT_OPTIONS)
        engine = loaded
        path = file.absolutePath
        onLoaded(loaded)
        loaded
    }

    companion object {
        /** Enough for a few turns with a small model; 0 would take the model's (capped) default. */
        val CHAT_OPTIONS = LoadOptions(contextLength = 2048)
    }
}
