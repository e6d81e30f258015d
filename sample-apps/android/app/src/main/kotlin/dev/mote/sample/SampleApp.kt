package dev.mote.sample

import android.app.Application
import android.util.Log
import dev.mote.MoteEngine
import dev.mote.MoteLifecycle
import dev.mote.sample.engine.EngineStore

/**
 * Owns the chat engine, so that it outlives activities and configuration
 * changes, and ties it to the app's lifecycle.
 */
class SampleApp : Application() {
    private var lifecycle: MoteLifecycle? = null

    val engines = EngineStore(
        context = this,
        onLoaded = ::watchLifecycle,
        onClosing = { lifecycle?.uninstall(); lifecycle = null },
    )

    /**
     * MoteLifecycle asks to be installed from onCreate, but the engine only
     * exists once the user has picked a model, by which time an activity is
     * already started. Installing here still releases memory on background:
     * onTrimMemory(UI_HIDDEN) reports it independently of the activity count.
     */
    private fun watchLifecycle(engine: MoteEngine) {
        lifecycle = MoteLifecycle.install(this, engine) { report ->
            Log.i(TAG, "released memory: $report")
        }
    }

    companion object {
        const val TAG = "MoteSample"
    }
}
