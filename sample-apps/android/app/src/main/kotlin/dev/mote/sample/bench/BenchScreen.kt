package dev.mote.sample.bench

import android.app.Activity
import android.content.Context
import android.content.ContextWrapper
import android.view.WindowManager
import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.layout.safeDrawingPadding
import androidx.compose.material3.CircularProgressIndicator
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.DisposableEffect
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.getValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.platform.LocalContext
import androidx.compose.ui.unit.dp
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import androidx.lifecycle.viewmodel.compose.viewModel
import kotlinx.coroutines.delay

/** What the phone shows while scripts/profile-battery.sh measures it. */
@Composable
fun BenchScreen(plan: BenchPlan, onFailed: () -> Unit, vm: BenchViewModel = viewModel()) {
    LaunchedEffect(plan) { vm.start(plan) }
    val status by vm.status.collectAsStateWithLifecycle()
    SteadyScreen(active = status is BenchStatus.Running)
    if (status is BenchStatus.Failed) {
        LaunchedEffect(Unit) {
            delay(5_000) // long enough to read the message if someone is watching
            onFailed()
        }
    }

    Column(
        Modifier
            .fillMaxSize()
            .safeDrawingPadding()
            .padding(24.dp),
        verticalArrangement = Arrangement.spacedBy(12.dp),
    ) {
        Text("Mote battery benchmark", style = MaterialTheme.typography.titleLarge)
        Text(
            "${plan.runs} runs × ${plan.genTokens} tokens, ${plan.idleMs / 1000} s idle on each side" +
                if (plan.fakeUnplug) "\nUSB cable in: every run will be marked invalid" else "",
        )
        when (val s = status) {
            is BenchStatus.Running -> {
                CircularProgressIndicator()
                Text(s.step)
                Text("Don't touch the phone until this finishes.", color = MaterialTheme.colorScheme.outline)
            }
            is BenchStatus.Done -> Text("Done: ${s.runs} runs written to ${s.path}")
            is BenchStatus.Failed -> Text("Failed: ${s.message}", color = MaterialTheme.colorScheme.error)
        }
    }
}

/**
 * Screen on at a fixed brightness while measuring. The idle baseline is
 * subtracted from the generation's energy, so the screen must draw the same
 * power throughout: no dimming, no sleep, no auto-brightness drift.
 */
@Composable
private fun SteadyScreen(active: Boolean) {
    val activity = LocalContext.current.findActivity() ?: return
    DisposableEffect(active) {
        val window = activity.window
        if (active) {
            window.addFlags(WindowManager.LayoutParams.FLAG_KEEP_SCREEN_ON)
            window.attributes = window.attributes.apply { screenBrightness = BENCH_BRIGHTNESS }
        }
        onDispose {
            window.clearFlags(WindowManager.LayoutParams.FLAG_KEEP_SCREEN_ON)
            window.attributes = window.attributes.apply {
                screenBrightness = WindowManager.LayoutParams.BRIGHTNESS_OVERRIDE_NONE
            }
        }
    }
}

/** Half brightness: readable, and the same on every run. */
private const val BENCH_BRIGHTNESS = 0.5f

private tailrec fun Context.findActivity(): Activity? = when (this) {
    is Activity -> this
    is ContextWrapper -> baseContext.findActivity()
    else -> null
}
