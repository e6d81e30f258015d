package dev.mote

import android.app.Activity
import android.app.Application
import android.content.ComponentCallbacks2
import android.content.res.Configuration
import android.os.Bundle
import android.util.Log
import java.io.File
import java.util.concurrent.Executor
import java.util.concurrent.Executors

/**
 * Connects a [MoteEngine] to the app's lifecycle with framework callbacks only:
 *
 * - `ComponentCallbacks2.onTrimMemory(level)` goes to [MoteEngine.onAndroidTrimMemory]
 *   (UI_HIDDEN/BACKGROUND → Background, RUNNING_CRITICAL/MODERATE → Critical,
 *   COMPLETE → Complete), and `onLowMemory` counts as Complete;
 * - the last started activity stopping (not for a configuration change)
 *   counts as Background.
 *
 * What each level frees is the engine's [MemoryPolicy]. Install once, from
 * `Application.onCreate`, so the started-activity count starts at zero.
 */
class MoteLifecycle private constructor(
    private val application: Application,
    private val engine: MoteEngine,
    private val executor: Executor,
    private val onRelease: ((ReleaseReport) -> Unit)?,
) {
    private val lock = Any()
    private var startedActivities = 0
    private var installed = true

    /** True while at least one activity is started (visible). */
    val isInForeground: Boolean get() = synchronized(lock) { startedActivities > 0 }

    companion object {
        private const val TAG = "Mote"

        /**
         * Registers the callbacks. With a [snapshotDir] (the default is in
         * `noBackupFilesDir`), the policy's snapshot action writes sessions
         * there, so a dropped KV cache comes back from disk instead of being
         * recomputed. Releases run on [executor]: writing snapshots is disk I/O
         * that must not stall the main thread, where the callbacks arrive.
         * [onRelease] sees every [ReleaseReport], on the executor's thread.
         */
        fun install(
            application: Application,
            engine: MoteEngine,
            snapshotDir: File? = File(application.noBackupFilesDir, "mote-sessions"),
            executor: Executor = defaultExecutor,
            onRelease: ((ReleaseReport) -> Unit)? = null,
        ): MoteLifecycle {
            if (snapshotDir != null) {
                snapshotDir.mkdirs()
                engine.memoryPolicy = engine.memoryPolicy.copy(snapshotDir = snapshotDir.absolutePath)
            }
            val lifecycle = MoteLifecycle(application, engine, executor, onRelease)
            application.registerComponentCallbacks(lifecycle.memoryCallbacks)
            application.registerActivityLifecycleCallbacks(lifecycle.activityCallbacks)
            return lifecycle
        }

        // One thread keeps releases in the order the system sent them.
        private val defaultExecutor: Executor by lazy {
            Executors.newSingleThreadExecutor { r -> Thread(r, "mote-lifecycle").apply { isDaemon = true } }
        }
    }

    /** Unregisters the callbacks; the engine keeps its current memory policy. */
    fun uninstall() {
        synchronized(lock) {
            if (!installed) return
            installed = false
        }
        application.unregisterComponentCallbacks(memoryCallbacks)
        application.unregisterActivityLifecycleCallbacks(activityCallbacks)
    }

    private fun dispatch(what: String, release: () -> ReleaseReport?) {
        executor.execute {
            // A callback from the system must never take the app down; a failed
            // release only means the memory stays until the next signal.
            try {
                release()?.let { onRelease?.invoke(it) }
            } catch (e: MoteException) {
                Log.w(TAG, "release after $what failed", e)
            } catch (e: IllegalStateException) {
                Log.w(TAG, "release after $what on a closed engine", e)
            }
        }
    }

    private val memoryCallbacks = object : ComponentCallbacks2 {
        override fun onTrimMemory(level: Int) = dispatch("onTrimMemory($level)") { engine.onAndroidTrimMemory(level) }

        override fun onLowMemory() = dispatch("onLowMemory") { engine.onMemoryPressure(PressureLevel.COMPLETE) }

        override fun onConfigurationChanged(newConfig: Configuration) {}
    }

    private val activityCallbacks = object : Application.ActivityLifecycleCallbacks {
        override fun onActivityStarted(activity: Activity) {
            synchronized(lock) { startedActivities++ }
        }

        override fun onActivityStopped(activity: Activity) {
            val wentToBackground = synchronized(lock) {
                val wasVisible = startedActivities > 0
                startedActivities = (startedActivities - 1).coerceAtLeast(0)
                // A rotation stops the old activity before starting the new one:
                // the app never left the screen.
                wasVisible && startedActivities == 0 && !activity.isChangingConfigurations
            }
            if (wentToBackground) dispatch("background") { engine.onMemoryPressure(PressureLevel.BACKGROUND) }
        }

        override fun onActivityCreated(activity: Activity, savedInstanceState: Bundle?) {}
        override fun onActivityResumed(activity: Activity) {}
        override fun onActivityPaused(activity: Activity) {}
        override fun onActivitySaveInstanceState(activity: Activity, outState: Bundle) {}
        override fun onActivityDestroyed(activity: Activity) {}
    }
}
