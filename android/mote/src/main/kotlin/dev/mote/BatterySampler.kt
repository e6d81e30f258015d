package dev.mote

import android.content.Context
import android.content.Intent
import android.content.IntentFilter
import android.os.BatteryManager
import android.os.Build
import android.os.PowerManager
import java.util.concurrent.Executors
import java.util.concurrent.ScheduledExecutorService
import java.util.concurrent.TimeUnit

/**
 * One battery reading, exactly as Android reports it (null = not reported).
 * Units are the platform's nominal ones, but phones deviate (mA instead of
 * µA, inverted sign): [toSample] passes them on raw and the native side fixes them.
 */
data class BatteryReading(
    /** `BATTERY_PROPERTY_CURRENT_NOW`: µA on most phones, mA on some, either sign. */
    val currentNow: Int?,
    /** `BATTERY_PROPERTY_CHARGE_COUNTER`: µAh left. */
    val chargeCounterUah: Int?,
    /** `EXTRA_VOLTAGE`: mV. */
    val voltageMv: Int?,
    /** `EXTRA_TEMPERATURE`: tenths of a degree Celsius. */
    val temperatureDeciC: Int?,
    val level: Int?,
    val scale: Int?,
    /** `EXTRA_PLUGGED`: 0 on battery, else the kind of power source. */
    val plugged: Int?,
    /** `PowerManager.getCurrentThermalStatus()` (API 29+). */
    val thermalStatus: Int?,
    /** `PowerManager.getThermalHeadroom(0)` (API 30+): 1.0 means throttling starts. */
    val thermalHeadroom: Float?,
) {
    val batteryPct: Float?
        get() = if (level != null && scale != null && scale > 0) level * 100f / scale else null

    /**
     * Full-charge capacity derived from the charge left and the level, which
     * Android has no property for; it enables "% battery per hour".
     */
    val capacityMah: Double?
        get() {
            val pct = batteryPct ?: return null
            val uah = chargeCounterUah ?: return null
            return if (pct > 0f && uah > 0) uah / 1000.0 / (pct / 100.0) else null
        }

    /** The native sample; [tMs] null stamps it when pushed. */
    fun toSample(tMs: Double? = null) = EnergySample(
        tMs = tMs,
        currentUa = currentNow?.toDouble(),
        // Raw mV: the native side recognises the unit by magnitude.
        voltageUv = voltageMv?.toDouble(),
        batteryPct = batteryPct,
        capacityMah = capacityMah,
        chargeCounterUah = chargeCounterUah?.toDouble(),
        charging = plugged?.let { it != 0 },
        temperatureC = temperatureDeciC?.let { it / 10f },
        thermal = thermalStatus?.let { dev.mote.ffi.thermalStateFromAndroidStatus(it) },
    )
}

/**
 * Reads the battery with framework APIs only (`BatteryManager`, the sticky
 * `ACTION_BATTERY_CHANGED` broadcast, `PowerManager`) and feeds an [EnergyMeter].
 */
class BatterySampler(context: Context) {
    private val app = context.applicationContext
    private val battery = app.getSystemService(Context.BATTERY_SERVICE) as BatteryManager
    private val power = app.getSystemService(Context.POWER_SERVICE) as PowerManager

    fun read(): BatteryReading {
        // Sticky: registering without a receiver just returns the last broadcast.
        val sticky: Intent? = app.registerReceiver(null, IntentFilter(Intent.ACTION_BATTERY_CHANGED))
        fun extra(name: String) = sticky?.getIntExtra(name, -1)?.takeIf { it != -1 }
        return BatteryReading(
            currentNow = intProperty(BatteryManager.BATTERY_PROPERTY_CURRENT_NOW),
            chargeCounterUah = intProperty(BatteryManager.BATTERY_PROPERTY_CHARGE_COUNTER),
            voltageMv = extra(BatteryManager.EXTRA_VOLTAGE),
            temperatureDeciC = sticky?.getIntExtra(BatteryManager.EXTRA_TEMPERATURE, Int.MIN_VALUE)
                ?.takeIf { it != Int.MIN_VALUE },
            level = extra(BatteryManager.EXTRA_LEVEL),
            scale = extra(BatteryManager.EXTRA_SCALE),
            plugged = extra(BatteryManager.EXTRA_PLUGGED),
            thermalStatus = if (Build.VERSION.SDK_INT >= 29) power.currentThermalStatus else null,
            thermalHeadroom = if (Build.VERSION.SDK_INT >= 30) headroom() else null,
        )
    }

    // Unsupported properties read as Int.MIN_VALUE (0 on some older devices, which we cannot tell from a real 0).
    private fun intProperty(id: Int): Int? = battery.getIntProperty(id).takeIf { it != Int.MIN_VALUE }

    private fun headroom(): Float? =
        // NaN when unsupported or polled faster than the system allows (about 1/s).
        power.getThermalHeadroom(0).takeIf { !it.isNaN() }

    /**
     * Pushes a reading into [meter] every [intervalMs] until the returned
     * handle is closed or the meter is finished. Fuel gauges update every
     * 0.1–10 s, so sampling faster than 100 ms only repeats values.
     */
    fun start(meter: EnergyMeter, intervalMs: Long = 100): AutoCloseable {
        val timer: ScheduledExecutorService =
            Executors.newSingleThreadScheduledExecutor { r -> Thread(r, "mote-battery").apply { isDaemon = true } }
        timer.scheduleWithFixedDelay({
            try {
                meter.push(read().toSample())
            } catch (e: MoteException.InvalidArgument) {
                timer.shutdown() // the meter finished
            } catch (e: IllegalStateException) {
                timer.shutdown() // the meter was closed
            }
        }, 0, intervalMs, TimeUnit.MILLISECONDS)
        return AutoCloseable { timer.shutdownNow() }
    }

    /**
     * Measures one reply end to end: a fresh meter fed by this sampler,
     * [idleMs] of baseline on each side. Keep the phone unplugged and idle.
     */
    suspend fun measure(
        session: ChatSession,
        message: String,
        config: GenerationConfig,
        idleMs: Long = 2_000,
        intervalMs: Long = 100,
    ): MeasuredReply = EnergyMeter("android-batterymanager").use { meter ->
        start(meter, intervalMs).use { session.sendMeasured(message, config, meter, idleMs) }
    }
}
