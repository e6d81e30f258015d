package dev.mote

import android.app.ActivityManager
import android.content.Context
import kotlinx.coroutines.CoroutineDispatcher
import kotlinx.coroutines.Dispatchers

/**
 * Memory this app may still use, as the system reports it
 * (`ActivityManager.MemoryInfo.availMem`). The native side cannot ask for
 * this on Android, and `/proc/meminfo` overstates what an app may take.
 */
fun availableMemoryBytes(context: Context): Long {
    val manager = context.getSystemService(Context.ACTIVITY_SERVICE) as ActivityManager
    val info = ActivityManager.MemoryInfo()
    manager.getMemoryInfo(info)
    return info.availMem
}

/**
 * These options with [LoadOptions.availableMemoryBytes] set from the system, so
 * that a model which would not fit fails with [MoteException.InsufficientMemory]
 * instead of getting the app killed mid-load.
 */
fun LoadOptions.withAvailableMemory(context: Context): LoadOptions {
    val available = availableMemoryBytes(context)
    // 0 is what an unfilled MemoryInfo holds, never a live reading: leave the
    // check to the native fallback instead of refusing every model.
    return if (available > 0) copy(availableMemoryBytes = available) else this
}

/** [MoteEngine.load] with the pre-load memory check fed by [availableMemoryBytes]. */
suspend fun MoteEngine.Companion.load(
    context: Context,
    path: String,
    options: LoadOptions = LoadOptions(),
    dispatcher: CoroutineDispatcher = Dispatchers.IO,
): MoteEngine = load(path, options.withAvailableMemory(context), dispatcher)
