package dev.mote

import android.app.Application
import android.content.ComponentCallbacks2
import android.content.Context
import kotlin.test.assertFalse
import kotlin.test.assertTrue
import kotlinx.coroutines.runBlocking
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import org.robolectric.RuntimeEnvironment
import org.robolectric.annotation.Config

// The examples from docs/android.md ("Staying alive under memory pressure",
// "Measuring battery cost"), verbatim (DocExampleTest.docExamplesAreVerbatim
// checks it), so the documented API cannot drift.

class ChatApp : Application() {
    lateinit var engine: MoteEngine
    private var lifecycle: MoteLifecycle? = null

    suspend fun start(modelPath: String) {
        engine = try {
            // Passes ActivityManager.MemoryInfo.availMem to the pre-load check.
            MoteEngine.load(this, modelPath, LoadOptions(contextLength = 1024))
        } catch (e: MoteException.InsufficientMemory) {
            // e.needed / e.available in bytes: offer a smaller model or context.
            MoteEngine.load(this, modelPath, LoadOptions(contextLength = 256))
        }
        lifecycle = MoteLifecycle.install(this, engine) { report ->
            println("released for ${report.level}: ${report.before.processFootprintBytes - report.after.processFootprintBytes} bytes")
        }
    }

    fun stop() {
        lifecycle?.uninstall()
        engine.close()
    }
}

suspend fun measureReply(context: Context, session: ChatSession) {
    val measured = BatterySampler(context).measure(
        session, "Summarise the plot of Hamlet.", GenerationConfig(maxTokens = 256),
        idleMs = 2_000, // baseline before and after the reply
    )
    val e = measured.energy
    when {
        !e.valid -> println("not measurable: ${e.flags}") // a charger was connected
        else -> println(
            "${e.joulesPerToken} J/token, ${e.batteryPctPerHour} %/h " +
                "(±${e.uncertaintyPct.toInt()} %${if (e.lowConfidence) ", low confidence" else ""})",
        )
    }
}

@RunWith(RobolectricTestRunner::class)
@Config(sdk = [34], application = ChatApp::class)
class DocLifecycleExampleRobolectricTest {
    @Test
    fun theDocumentedAppReleasesOnTrimMemory() = runBlocking<Unit> {
        val app = RuntimeEnvironment.getApplication() as ChatApp
        app.start(TestModel.path)
        assertTrue(app.engine.isLoaded)
        app.onTrimMemory(ComponentCallbacks2.TRIM_MEMORY_COMPLETE)
        // The documented install uses the background executor: wait for it.
        val deadline = System.nanoTime() + 30_000_000_000
        while (app.engine.isLoaded && System.nanoTime() < deadline) Thread.sleep(10)
        assertFalse(app.engine.isLoaded)
        app.stop()
    }
}
