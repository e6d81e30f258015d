package dev.mote

import android.app.Application
import android.content.Context
import android.content.Intent
import android.os.BatteryManager
import android.os.PowerManager
import kotlin.math.abs
import kotlin.test.assertEquals
import kotlin.test.assertNotNull
import kotlin.test.assertNull
import kotlin.test.assertTrue
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.Before
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import org.robolectric.RuntimeEnvironment
import org.robolectric.Shadows.shadowOf
import org.robolectric.annotation.Config

/** BatterySampler against Robolectric's BatteryManager, PowerManager and sticky broadcasts. */
@RunWith(RobolectricTestRunner::class)
@Config(sdk = [34])
class BatterySamplerRobolectricTest {
    private lateinit var app: Application
    private lateinit var battery: BatteryManager

    @Before
    fun setUp() {
        app = RuntimeEnvironment.getApplication()
        battery = app.getSystemService(Context.BATTERY_SERVICE) as BatteryManager
    }

    /** What a phone reporting mA with discharge negative would show. */
    private fun phone(currentNow: Int, voltageMv: Int = 4000, plugged: Int = 0, level: Int = 40) {
        shadowOf(battery).setIntProperty(BatteryManager.BATTERY_PROPERTY_CURRENT_NOW, currentNow)
        shadowOf(battery).setIntProperty(BatteryManager.BATTERY_PROPERTY_CHARGE_COUNTER, 2_000_000)
        @Suppress("DEPRECATION") // the system's own way of publishing battery state
        app.sendStickyBroadcast(
            Intent(Intent.ACTION_BATTERY_CHANGED)
                .putExtra(BatteryManager.EXTRA_VOLTAGE, voltageMv)
                .putExtra(BatteryManager.EXTRA_TEMPERATURE, 312)
                .putExtra(BatteryManager.EXTRA_LEVEL, level)
                .putExtra(BatteryManager.EXTRA_SCALE, 100)
                .putExtra(BatteryManager.EXTRA_PLUGGED, plugged),
        )
    }

    @Test
    fun readingsArePassedOnRaw() {
        phone(currentNow = -350, voltageMv = 3850)
        val power = app.getSystemService(Context.POWER_SERVICE) as PowerManager
        shadowOf(power).setCurrentThermalStatus(PowerManager.THERMAL_STATUS_SEVERE)

        val reading = BatterySampler(app).read()
        assertEquals(-350, reading.currentNow)
        assertEquals(3850, reading.voltageMv)
        assertEquals(PowerManager.THERMAL_STATUS_SEVERE, reading.thermalStatus)

        val s = reading.toSample(tMs = 12.5)
        assertEquals(12.5, s.tMs)
        assertEquals(-350.0, s.currentUa, "sign and unit are left to the native side")
        assertEquals(3850.0, s.voltageUv)
        assertEquals(40f, s.batteryPct)
        assertEquals(2_000_000.0, s.chargeCounterUah)
        assertEquals(5000.0, s.capacityMah!!, 1e-9) // 2000 mAh left at 40 %
        assertEquals(false, s.charging)
        assertEquals(31.2f, s.temperatureC!!, 1e-4f)
        assertEquals(ThermalState.SERIOUS, s.thermal)
    }

    @Test
    fun pluggedMeansChargingAndUnsupportedPropertiesAreNull() {
        phone(currentNow = Int.MIN_VALUE, plugged = BatteryManager.BATTERY_PLUGGED_USB)
        val s = BatterySampler(app).read().toSample()
        assertNull(s.currentUa)
        assertNull(s.tMs)
        assertEquals(true, s.charging)
    }

    /**
     * A known trace through the whole path: 1 s idle at 100 mA, 1 s prefill and
     * 1 s decode at 500 mA, 1 s idle at 100 mA, at 4 V, reported in mA with
     * discharge negative, a reading every 100 ms.
     */
    @Test
    fun aKnownTraceIntegratesToTheExpectedJoules() {
        val sampler = BatterySampler(app)
        val report = EnergyMeter("robolectric").use { meter ->
            // In the future, so the meter's own clock never ends the trace early.
            val t0 = EnergyMeter.clockMs() + 60_000
            for (k in 0..40) {
                val busy = k in 10 until 30
                phone(currentNow = if (busy) -500 else -100)
                meter.push(sampler.read().toSample(tMs = t0 + k * 100.0))
            }
            meter.markAt(Phase.IDLE_BEFORE, t0)
            meter.markAt(Phase.PREFILL, t0 + 1000)
            meter.markAt(Phase.DECODE, t0 + 2000)
            meter.markAt(Phase.IDLE_AFTER, t0 + 3000)
            meter.finish(20)
        }
        // 2 W busy, 0.4 W idle. The trapezoid from the last idle reading to the
        // first busy one makes the first idle window 0.48 W and the step back
        // adds 0.12 J (not 0.2 J) to decode: gross 2 + 1.92 J, baseline 0.44 W
        // over 2 s, net 3.04 J.
        assertEquals(3.04, report.joules, 1e-6)
        assertEquals(0.44, report.baselineWatts, 1e-9)
        assertEquals(3.04 / 20, report.joulesPerToken, 1e-9)
        assertTrue(report.valid && !report.estimate, "${report.flags}")
        assertTrue("current_reported_in_mA" in report.flags && "current_sign_flipped" in report.flags, "${report.flags}")
        // 3.04 J / 4 V / 3.6 = 0.2111 mAh in 2 s of a 5000 mAh battery.
        assertEquals(3.04 / 4.0 / 3.6, report.mah, 1e-9)
        assertEquals(3.04 / 4.0 / 3.6 * 1800 / 5000 * 100, report.batteryPctPerHour!!, 1e-6)
    }

    @Test
    fun measuringARealReplyMarksItsPhases() = runBlocking<Unit> {
        phone(currentNow = -300)
        MoteEngine.load(TestModel.path, LoadOptions(contextLength = 256)).use { engine ->
            engine.newSession().use { session ->
                // Short: the native side drops a reading repeated unchanged for over
                // 2 s as frozen, and this trace is one constant value throughout.
                val measured = withTimeout(60_000) {
                    BatterySampler(app).measure(session, "Hi", TestModel.greedy(2), idleMs = 100, intervalMs = 25)
                }
                val energy = measured.energy
                assertEquals("android-batterymanager", energy.source)
                assertEquals(measured.reply.stats.generatedTokens.toLong(), energy.tokens)
                assertNotNull(measured.reply.text)
                assertTrue(energy.durationS > 0.0 && energy.samples > 0L, "$energy")
                // The draw never changed, so the generation cost nothing above the baseline.
                assertTrue(abs(energy.joules) < 1e-3, "$energy")
                assertEquals(2, session.history.size)
            }
        }
    }
}
