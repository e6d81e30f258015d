package dev.mote

import android.app.Activity
import android.app.ActivityManager
import android.app.Application
import android.content.ComponentCallbacks2
import android.content.Context
import android.os.PowerManager
import java.io.File
import java.util.Collections
import java.util.concurrent.Executor
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertFalse
import kotlin.test.assertNotNull
import kotlin.test.assertTrue
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.After
import org.junit.Before
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.Robolectric
import org.robolectric.RobolectricTestRunner
import org.robolectric.RuntimeEnvironment
import org.robolectric.Shadows.shadowOf
import org.robolectric.annotation.Config

/**
 * MoteLifecycle against a Robolectric Application: the system's callbacks are
 * delivered through the ComponentCallbacks2 and ActivityLifecycleCallbacks it
 * registered, and the real SmolLM2 engine does the releasing.
 */
@RunWith(RobolectricTestRunner::class)
@Config(sdk = [34])
class MoteLifecycleRobolectricTest {
    private lateinit var app: Application
    private lateinit var engine: MoteEngine
    private lateinit var lifecycle: MoteLifecycle
    private lateinit var snapshots: File
    private val reports: MutableList<ReleaseReport> = Collections.synchronizedList(mutableListOf())

    // Direct: each callback's release has finished when the callback returns.
    private val inline = Executor { it.run() }

    @Before
    fun setUp() = runBlocking {
        app = RuntimeEnvironment.getApplication()
        snapshots = kotlin.io.path.createTempDirectory("mote-snapshots").toFile()
        engine = MoteEngine.load(TestModel.path, LoadOptions(contextLength = 512))
        lifecycle = MoteLifecycle.install(app, engine, snapshots, inline) { reports.add(it) }
    }

    @After
    fun tearDown() {
        lifecycle.uninstall()
        engine.close()
        snapshots.deleteRecursively()
    }

    private fun ChatSession.turn(message: String) = runBlocking { withTimeout(60_000) { send(message, TestModel.greedy(6)) } }

    @Test
    fun uiHiddenSnapshotsAndDropsTheCacheAndTheChatContinuesFromIt() {
        val released = engine.newSession()
        val first = released.turn("My name is Ada.")
        val historyBefore = released.history

        app.onTrimMemory(ComponentCallbacks2.TRIM_MEMORY_UI_HIDDEN)

        val report = reports.single()
        assertEquals(PressureLevel.BACKGROUND, report.level)
        assertTrue(report.actions.snapshotSessions && report.actions.dropKvCache && !report.actions.unmapWeights)
        assertEquals(1, report.snapshotsWritten, "$report")
        assertTrue(report.before.kvCacheBytes > 0L && report.after.kvCacheBytes == 0L, "$report")
        assertTrue(engine.isLoaded)
        assertFalse(released.hasKvCache)
        // Snapshots v2 also keep a model-hashes.json cache next to the session files.
        val written = snapshots.listFiles()!!.filter { it.name.endsWith(".motesnap") }
        assertEquals(1, written.size, snapshots.listFiles()!!.joinToString { it.name })
        assertEquals(written.single().absolutePath, released.snapshotPath)

        // Greedy: a session restored from its snapshot answers exactly like one
        // that never lost its cache, and only the new turn is prefilled.
        val control = engine.newSession()
        control.turn("My name is Ada.")
        control.turn("What is my name?")
        val second = released.turn("What is my name?")
        assertEquals(historyBefore, released.history.take(2))
        assertEquals(first.text, released.history[1].content)
        assertEquals(control.history, released.history)
        assertTrue(second.stats.cachedPromptTokens > 0, "re-prefilled instead of restoring: ${second.stats}")
        released.close(); control.close()
    }

    @Test
    fun runningCriticalAndCompleteUnmapTheWeightsAndTheChatContinues() {
        val session = engine.newSession()
        session.turn("Hello")
        val weights = engine.memoryReport.weightsBytes
        assertTrue(weights > 32L shl 20, "weights $weights")

        app.onTrimMemory(ComponentCallbacks2.TRIM_MEMORY_RUNNING_CRITICAL)
        val critical = reports.last()
        assertEquals(PressureLevel.CRITICAL, critical.level)
        assertTrue(critical.actions.unmapWeights)
        assertEquals(weights, critical.before.weightsBytes)
        assertEquals(0L, critical.after.weightsBytes)
        assertEquals(1, critical.snapshotsWritten)
        assertFalse(engine.isLoaded)

        session.turn("How are you?")
        assertTrue(engine.isLoaded, "the turn reloads the weights")

        app.onTrimMemory(ComponentCallbacks2.TRIM_MEMORY_COMPLETE)
        val complete = reports.last()
        assertEquals(PressureLevel.COMPLETE, complete.level)
        assertEquals(0L, complete.after.weightsBytes)
        assertFalse(engine.isLoaded)

        session.turn("Bye")
        assertEquals(
            listOf(Role.USER, Role.ASSISTANT, Role.USER, Role.ASSISTANT, Role.USER, Role.ASSISTANT),
            session.history.map { it.role },
        )
        assertEquals(listOf("Hello", "How are you?", "Bye"), session.history.filter { it.role == Role.USER }.map { it.content })
        session.close()
    }

    @Test
    fun lowMemoryCountsAsComplete() {
        app.onLowMemory()
        assertEquals(PressureLevel.COMPLETE, reports.single().level)
        assertFalse(engine.isLoaded)
    }

    @Test
    fun theLastActivityStoppingIsBackground() {
        val session = engine.newSession()
        session.turn("Hello")
        val first = Robolectric.buildActivity(Activity::class.java).setup()
        val second = Robolectric.buildActivity(Activity::class.java).setup()
        assertTrue(lifecycle.isInForeground)
        first.pause().stop()
        assertTrue(reports.isEmpty(), "one activity is still visible: $reports")
        second.pause().stop()
        val report = reports.single()
        assertEquals(PressureLevel.BACKGROUND, report.level)
        assertEquals(1, report.snapshotsWritten)
        assertFalse(lifecycle.isInForeground)
        assertFalse(session.hasKvCache)
        // Coming back needs nothing from the app: the next turn restores the cache.
        second.restart()
        assertTrue(lifecycle.isInForeground)
        val reply = session.turn("Again")
        assertTrue(reply.stats.cachedPromptTokens > 0, "${reply.stats}")
        session.close()
    }

    @Test
    fun thermalStatusThrottlesTheEngineUntilUninstalled() {
        val power = app.getSystemService(Context.POWER_SERVICE) as PowerManager
        val threads = engine.threads
        engine.setThreads(4)
        shadowOf(power).setCurrentThermalStatus(PowerManager.THERMAL_STATUS_SEVERE)
        assertEquals(2, engine.threads, "SEVERE is SERIOUS: the default policy runs two threads")
        shadowOf(power).setCurrentThermalStatus(PowerManager.THERMAL_STATUS_NONE)
        assertEquals(4, engine.threads)

        lifecycle.uninstall()
        shadowOf(power).setCurrentThermalStatus(PowerManager.THERMAL_STATUS_SEVERE)
        assertEquals(4, engine.threads, "the listener was removed")
        engine.setThreads(threads)
        shadowOf(power).setCurrentThermalStatus(PowerManager.THERMAL_STATUS_NONE)
    }

    @Test
    fun aDeviceAlreadyHotAtInstallIsThrottledAtOnce() {
        lifecycle.uninstall()
        val power = app.getSystemService(Context.POWER_SERVICE) as PowerManager
        engine.setThreads(4)
        shadowOf(power).setCurrentThermalStatus(PowerManager.THERMAL_STATUS_SEVERE)
        assertEquals(4, engine.threads, "nothing listens yet")
        lifecycle = MoteLifecycle.install(app, engine, snapshots, inline)
        assertEquals(2, engine.threads, "install applies the current status")
        lifecycle.close()
        shadowOf(power).setCurrentThermalStatus(PowerManager.THERMAL_STATUS_NONE)
    }

    @Test
    fun aThrowingReleaseListenerNeverEscapesTheCallback() {
        lifecycle.uninstall()
        var calls = 0
        lifecycle = MoteLifecycle.install(app, engine, snapshots, inline) {
            calls++
            throw UnsupportedOperationException("a bug in the app's listener")
        }
        engine.newSession().turn("Hi.")
        // With the inline executor an escaping exception would surface right here.
        app.onTrimMemory(ComponentCallbacks2.TRIM_MEMORY_UI_HIDDEN)
        assertEquals(1, calls)
        assertTrue(engine.isLoaded)
    }

    @Test
    fun theDefaultSnapshotDirIsPrivateAndNotBackedUp() {
        val dir = MoteLifecycle.defaultSnapshotDir(app)
        assertEquals(File(app.noBackupFilesDir, "mote-snapshots"), dir)
    }

    @Test
    fun uninstallStopsListening() {
        lifecycle.uninstall()
        app.onTrimMemory(ComponentCallbacks2.TRIM_MEMORY_COMPLETE)
        assertTrue(reports.isEmpty())
        assertTrue(engine.isLoaded)
    }

    @Test
    fun aModelThatDoesNotFitIsRefusedWithTheSystemsFigure() = runBlocking<Unit> {
        val manager = app.getSystemService(Context.ACTIVITY_SERVICE) as ActivityManager
        shadowOf(manager).setMemoryInfo(ActivityManager.MemoryInfo().apply { availMem = 16L shl 20 })
        assertEquals(16L shl 20, LoadOptions().withAvailableMemory(app).availableMemoryBytes)
        val e = assertFailsWith<MoteException.InsufficientMemory> { MoteEngine.load(app, TestModel.path) }
        assertEquals(16L shl 20, e.available)
        assertTrue(e.needed > 64L shl 20, "needed ${e.needed}")

        shadowOf(manager).setMemoryInfo(ActivityManager.MemoryInfo().apply { availMem = 4L shl 30 })
        MoteEngine.load(app, TestModel.path, LoadOptions(contextLength = 256)).use { assertNotNull(it.info) }

        // An unfilled MemoryInfo (0) is no reading: the options stay as they were.
        shadowOf(manager).setMemoryInfo(ActivityManager.MemoryInfo())
        assertEquals(null, LoadOptions().withAvailableMemory(app).availableMemoryBytes)
    }
}
