package dev.mote.sample.chat

import androidx.compose.foundation.clickable
import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.rememberScrollState
import androidx.compose.foundation.verticalScroll
import androidx.compose.material3.Button
import androidx.compose.material3.HorizontalDivider
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedButton
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.ui.Modifier
import androidx.compose.ui.text.font.FontFamily
import androidx.compose.ui.unit.dp
import java.io.File

/** Picks a model, or explains how to get one onto the phone when there is none. */
@Composable
fun ModelSetup(
    files: List<File>,
    dirs: List<String>,
    error: String?,
    onPick: (File) -> Unit,
    onImport: () -> Unit,
    onRescan: () -> Unit,
) {
    Column(
        Modifier
            .fillMaxWidth()
            .verticalScroll(rememberScrollState())
            .padding(16.dp),
        verticalArrangement = Arrangement.spacedBy(12.dp),
    ) {
        error?.let { Text(it, color = MaterialTheme.colorScheme.error) }
        if (files.isEmpty()) {
            Text("No model yet", style = MaterialTheme.typography.titleMedium)
            Text("Put a GGUF chat model (for example SmolLM2-135M-Instruct.Q4_1.gguf) in one of:")
            dirs.forEach { Text(it, fontFamily = FontFamily.Monospace, style = MaterialTheme.typography.bodySmall) }
            Text(
                "adb push SmolLM2-135M-Instruct.Q4_1.gguf /sdcard/Android/data/dev.mote.sample/files/models/",
                fontFamily = FontFamily.Monospace,
                style = MaterialTheme.typography.bodySmall,
            )
            Text("or import a file from this phone. docs/sample-apps.md has the details.")
        } else {
            Text("Choose a model", style = MaterialTheme.typography.titleMedium)
            files.forEach { file ->
                Column(
                    Modifier
                        .fillMaxWidth()
                        .clickable { onPick(file) }
                        .padding(vertical = 8.dp),
                ) {
                    Text(file.name)
                    Text(
                        "${file.length() / (1 shl 20)} MB · ${file.parent}",
                        style = MaterialTheme.typography.bodySmall,
                        color = MaterialTheme.colorScheme.outline,
                    )
                }
                HorizontalDivider()
            }
        }
        Row(horizontalArrangement = Arrangement.spacedBy(8.dp)) {
            Button(onClick = onImport) { Text("Import a file…") }
            OutlinedButton(onClick = onRescan) { Text("Look again") }
        }
    }
}
