package dev.mote.sample

import android.content.Intent
import android.os.Bundle
import androidx.activity.ComponentActivity
import androidx.activity.compose.setContent
import androidx.activity.enableEdgeToEdge
import androidx.compose.material3.Surface
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.setValue
import dev.mote.sample.bench.BenchPlan
import dev.mote.sample.bench.BenchScreen
import dev.mote.sample.bench.benchPlan
import dev.mote.sample.chat.ChatScreen
import kotlin.system.exitProcess

/**
 * The only activity: the chat, or the battery benchmark when started with
 * `--es mode bench` (scripts/profile-battery.sh). It is singleTop so that
 * `am start` reaches a running instance through onNewIntent instead of only
 * bringing its task to the front with the new extras dropped.
 */
class MainActivity : ComponentActivity() {
    private var benchPlan by mutableStateOf<BenchPlan?>(null)

    override fun onCreate(savedInstanceState: Bundle?) {
        enableEdgeToEdge()
        super.onCreate(savedInstanceState)
        benchPlan = intent.benchPlan()
        setContent {
            SampleTheme {
                Surface {
                    val plan = benchPlan
                    if (plan != null) BenchScreen(plan, onFailed = ::endAfterFailedBench) else ChatScreen()
                }
            }
        }
    }

    override fun onNewIntent(intent: Intent) {
        super.onNewIntent(intent)
        setIntent(intent)
        intent.benchPlan()?.let { benchPlan = it }
    }

    /**
     * The script waits for the output file for up to 30 minutes unless the
     * app's process goes away; ending it turns a failed benchmark into an
     * immediate, logged error on the host instead of a timeout.
     */
    private fun endAfterFailedBench() {
        finishAndRemoveTask()
        exitProcess(1)
    }
}
