package dev.mote.sample.bench

import android.app.Application
import android.os.Build
import android.util.Log
import androidx.lifecycle.AndroidViewModel
import androidx.lifecycle.viewModelScope
import dev.mote.BatterySampler
import dev.mote.LoadOptions
import dev.mote.MoteEngine
import dev.mote.load
import dev.mote.sample.bench.report.toJson
import dev.mote.sample.bench.report.writeAtomically
import dev.mote.sample.engine.ModelFiles
import java.io.File
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.Job
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.launch
import kotlinx.coroutines.withContext

sealed interface BenchStatus {
    data class Running(val step: String) : BenchStatus
    data class Done(val path: String, val runs: Int) : BenchStatus
    data class Failed(val message: String) : BenchStatus
}

/** Runs one benchmark per process and writes the `mote report` input when it is done. */
class BenchViewModel(app: Application) : AndroidViewModel(app) {
    private val _status = MutableStateFlow<BenchStatus>(BenchStatus.Running("starting"))
    val status: StateFlow<BenchStatus> = _status.asStateFlow()
    private var job: Job? = null

    fun start(plan: BenchPlan) {
        if (job != null) {
            // The script may start the activity again while a run is going; one run at a time.
            Log.w(LOG_TAG, "benchmark already running; ignoring the new request")
            return
        }
        job = viewModelScope.launch {
            try {
                val output = run(plan)
                _status.value = BenchStatus.Done(output.path, plan.runs)
                Log.i(LOG_TAG, "benchmark done: ${output.path}")
            } catch (e: CancellationException) {
                throw e
            } catch (e: Exception) {
                Log.e(LOG_TAG, "benchmark failed", e)
                _status.value = BenchStatus.Failed(e.message ?: e.toString())
            }
        }
    }

    private suspend fun run(plan: BenchPlan): File {
        val app = getApplication<Application>()
        val modelFile = withContext(Dispatchers.IO) { ModelFiles.resolve(app, plan.model) }
            ?: error("no model ${plan.model ?: "in " + ModelFiles.dirs(app).joinToString()}")
        step("loading ${modelFile.name}")
        // Its own engine, not the chat one: the options are the plan's, and no
        // lifecycle release can unmap the weights in the middle of a measurement.
        val options = LoadOptions(threads = plan.threads, contextLength = plan.contextLength)
        val data = MoteEngine.load(app, modelFile.absolutePath, options).use { engine ->
            val sampler = BatterySampler(app)
            val runner = BenchRunner(
                engine = engine,
                modelLabel = modelFile.name,
                plan = plan,
                newMeter = {
                    RecordingMeter(SOURCE, { sampler.read().toSample() }, plan.sampleIntervalMs, plan.fakeUnplug)
                },
                progress = ::step,
            )
            runner.run(title = "Mote on ${Build.MANUFACTURER} ${Build.MODEL} (Android ${Build.VERSION.RELEASE})")
        }
        val out = File(app.filesDir, BENCH_OUTPUT_FILE)
        withContext(Dispatchers.IO) { writeAtomically(out, data.toJson()) }
        return out
    }

    private fun step(text: String) {
        Log.i(LOG_TAG, text)
        _status.value = BenchStatus.Running(text)
    }

    companion object {
        /** scripts/profile-battery.sh points at `adb logcat -s Mote` when something goes wrong. */
        const val LOG_TAG = "Mote"
        /** The name BatterySampler.measure gives its meter, so reports from both paths group together. */
        private const val SOURCE = "android-batterymanager"
    }
}
