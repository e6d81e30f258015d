package dev.mote

import android.annotation.TargetApi
import android.app.Activity
import android.app.Application
import android.content.ComponentCallbacks2
import android.content.Context
import android.content.res.Configuration
import android.os.Build
import android.os.Bundle
import android.os.PowerManager
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
 *   counts as Background;
 * - on API 29+, `PowerManager` thermal status changes go to
 *   [MoteEngine.onThermalState] (the engine's [ThermalPolicy] decides what to throttle).
 *
 * What each level frees is the engine's [MemoryPolicy]. Install once, from
 * `Application.onCreate`, so the started-activity count starts at zero.
 * Every callback only hands work to the executor: nothing native or on disk
 * runs on the main thread.
 */
class MoteLifecycle private constructor(
    private val application: Application,
    private val engine: MoteEngine,
    private val executor: Executor,
    private val onRelease: ((ReleaseReport) -> Unit)?,
) : AutoCloseable {
    private val lock = Any()
    private var startedActivities = 0
    private var installed = true

    /** True while at least one activity is started (visible). */
    val isInForeground: Boolean get() = synchronized(lock) { startedActivities > 0 }

    companion object {
        private const val TAG = "Mote"

        /**
         * Registers the callbacks. With a [snapshotDir], the policy's snapshot
         * action writes sessions there, so a dropped KV cache comes back from
         * disk instead of being recomputed. The default,
         * `noBackupFilesDir/mote-snapshots`, is app-private and excluded from
         * Auto Backup and device transfer: snapshots hold the conversation and
         * are only valid with this model file, so they must neither leave the
         * device nor come back on another one.
         * Releases run on [executor]: writing snapshots is disk I/O that must
         * not stall the main thread, where the callbacks arrive. [onRelease]
         * sees every [ReleaseReport], on the executor's thread.
         */
        fun install(
            application: Application,
            engine: MoteEngine,
            snapshotDir: File? = defaultSnapshotDir(application),
            executor: Executor = defaultExecutor,
            onRelease: ((ReleaseReport) -> Unit)? = null,
        ): MoteLifecycle {
            if (snapshotDir != null) {
                // Set now, so a release that comes first already snapshots; the
                // directory itself is created off the main thread, before any
                // release queued behind it can write there.
                engine.memoryPolicy = engine.memoryPolicy.copy(snapshotDir = snapshotDir.absolutePath)
                executor.execute { snapshotDir.mkdirs() }
            }
            val lifecycle = MoteLifecycle(application, engine, executor, onRelease)
            application.registerComponentCallbacks(lifecycle.memoryCallbacks)
            application.registerActivityLifecycleCallbacks(lifecycle.activityCallbacks)
            lifecycle.thermal?.register()
            return lifecycle
        }

        /** `noBackupFilesDir/mote-snapshots`: private to the app, never backed up or transferred. */
        fun defaultSnapshotDir(context: Context): File = File(context.noBackupFilesDir, "mote-snapshots")

        // One thread keeps releases in the order the system sent them.
        private val defaultExecutor: Executor by lazy {
            Executors.newSingleThreadExecutor { r -> Thread(r, "mote-lifecycle").apply { isDaemon = true } }
        }
    }

    /**
     * Unregisters the callbacks, the thermal listener included; the engine keeps
     * its current memory policy and whatever thermal decision is in force.
     */
    fun uninstall() {
        synchronized(lock) {
            if (!installed) return
            installed = false
        }
        application.unregisterComponentCallbacks(memoryCallbacks)
        application.unregisterActivityLifecycleCallbacks(activityCallbacks)
        thermal?.unregister()
    }

    /** Same as [uninstall], for `use { }`. */
    override fun close() = uninstall()

    // Thermal status arrives on API 29+ only; older devices simply never throttle.
    private val thermal: ThermalHook? = if (Build.VERSION.SDK_INT >= 29) ThermalHook() else null

    @TargetApi(29)
    private inner class ThermalHook {
        private val power = application.getSystemService(Context.POWER_SERVICE) as PowerManager

        // The one-argument overload calls back on the main thread; the engine
        // call is handed to the executor like every release.
        private val listener = PowerManager.OnThermalStatusChangedListener { status -> apply(status) }

        fun register() {
            power.addThermalStatusListener(listener)
            // The listener reports changes; a device already hot at start counts too.
            apply(power.currentThermalStatus)
        }

        fun unregister() = power.removeThermalStatusListener(listener)

        private fun apply(status: Int) = executor.execute {
            logFailure("thermal status $status") {
                engine.onThermalState(dev.mote.ffi.thermalStateFromAndroidStatus(status))
            }
        }
    }

    private fun dispatch(what: String, release: () -> ReleaseReport?) {
        executor.execute {
            // A failed release only means the memory stays until the next signal.
            logFailure("release after $what") { release()?.let { onRelease?.invoke(it) } }
        }
    }

    /**
     * Runs work handed over by a system callback. Nothing may escape the
     * executor, or it would take the app down: a Mote error, a closed engine,
     * a binding failure or the app's own listener throwing are all logged.
     */
    private inline fun logFailure(what: String, block: () -> Unit) {
        try {
            block()
        } catch (e: IllegalStateException) {
            Log.w(TAG, "$what: the engine is closed", e)
        } catch (e: Exception) {
            Log.w(TAG, "$what failed", e)
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
