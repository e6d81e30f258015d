package dev.mote.sample.chat

import androidx.activity.compose.rememberLauncherForActivityResult
import androidx.activity.result.contract.ActivityResultContracts
import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Box
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.consumeWindowInsets
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.imePadding
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.layout.width
import androidx.compose.material3.Button
import androidx.compose.material3.CircularProgressIndicator
import androidx.compose.material3.ExperimentalMaterial3Api
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedButton
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.Scaffold
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
import androidx.compose.material3.TopAppBar
import androidx.compose.runtime.Composable
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.saveable.rememberSaveable
import androidx.compose.runtime.setValue
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.unit.dp
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import androidx.lifecycle.viewmodel.compose.viewModel

@OptIn(ExperimentalMaterial3Api::class)
@Composable
fun ChatScreen(vm: ChatViewModel = viewModel()) {
    val state by vm.state.collectAsStateWithLifecycle()
    // The system picker returns a content URI; the view model copies it into app storage.
    val pickModel = rememberLauncherForActivityResult(ActivityResultContracts.OpenDocument()) { uri ->
        if (uri != null) vm.import(uri)
    }
    val ready = state.model as? ModelState.Ready

    Scaffold(
        topBar = {
            TopAppBar(
                title = { Text(ready?.name ?: "Mote") },
                actions = {
                    if (ready != null) {
                        TextButton(onClick = { vm.showModels() }) { Text("Models") }
                        TextButton(onClick = vm::newChat) { Text("New chat") }
                    }
                },
            )
        },
    ) { padding ->
        Column(
            Modifier
                .fillMaxSize()
                .padding(padding)
                .consumeWindowInsets(padding)
                .imePadding(),
        ) {
            state.notice?.let {
                Text(it, Modifier.padding(12.dp), color = MaterialTheme.colorScheme.error)
            }
            when (val model = state.model) {
                ModelState.Scanning -> Busy("Looking for models…")
                is ModelState.Loading -> Busy("Loading ${model.name}…")
                is ModelState.Missing -> ModelSetup(
                    files = emptyList(),
                    dirs = model.dirs,
                    error = null,
                    onPick = vm::select,
                    onImport = { pickModel.launch(arrayOf("*/*")) },
                    onRescan = { vm.showModels(autoPick = true) },
                )
                is ModelState.Choosing -> ModelSetup(
                    files = model.files,
                    dirs = emptyList(),
                    error = null,
                    onPick = vm::select,
                    onImport = { pickModel.launch(arrayOf("*/*")) },
                    onRescan = { vm.showModels() },
                )
                is ModelState.Failed -> ModelSetup(
                    files = model.files,
                    dirs = emptyList(),
                    error = model.message,
                    onPick = vm::select,
                    onImport = { pickModel.launch(arrayOf("*/*")) },
                    onRescan = { vm.showModels() },
                )
                is ModelState.Ready -> {
                    Text(
                        model.detail,
                        Modifier.padding(horizontal = 12.dp, vertical = 4.dp),
                        style = MaterialTheme.typography.labelSmall,
                    )
                    MessageList(state.turns, Modifier.weight(1f))
                    InputBar(
                        generating = state.generating,
                        onSend = vm::send,
                        onStop = vm::stop,
                    )
                }
            }
        }
    }
}

@Composable
private fun Busy(label: String) {
    Box(Modifier.fillMaxSize(), contentAlignment = Alignment.Center) {
        Column(horizontalAlignment = Alignment.CenterHorizontally) {
            CircularProgressIndicator()
            Text(label, Modifier.padding(top = 12.dp))
        }
    }
}

@Composable
private fun InputBar(generating: Boolean, onSend: (String) -> Unit, onStop: () -> Unit) {
    var draft by rememberSaveable { mutableStateOf("") }
    Row(
        Modifier
            .fillMaxWidth()
            .padding(8.dp),
        verticalAlignment = Alignment.CenterVertically,
        horizontalArrangement = Arrangement.spacedBy(8.dp),
    ) {
        OutlinedTextField(
            value = draft,
            onValueChange = { draft = it },
            modifier = Modifier.weight(1f),
            placeholder = { Text("Message") },
            maxLines = 4,
        )
        if (generating) {
            OutlinedButton(onClick = onStop, modifier = Modifier.width(88.dp)) { Text("Stop") }
        } else {
            Button(
                onClick = {
                    onSend(draft)
                    draft = ""
                },
                enabled = draft.isNotBlank(),
                modifier = Modifier.width(88.dp),
            ) { Text("Send") }
        }
    }
}
