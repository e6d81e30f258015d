package dev.mote.sample.chat

import android.app.Application
import android.net.Uri
import androidx.lifecycle.AndroidViewModel
import androidx.lifecycle.viewModelScope
import dev.mote.ChatEvent
import dev.mote.ChatSession
import dev.mote.FinishReason
import dev.mote.GenerationConfig
import dev.mote.MoteException
import dev.mote.sample.SampleApp
import dev.mote.sample.engine.ModelFiles
import java.io.File
import java.io.IOException
import java.util.Locale
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.Job
import kotlinx.coroutines.cancelAndJoin
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.update
import kotlinx.coroutines.launch
import kotlinx.coroutines.withContext

/**
 * One conversation with the app's engine. The session lives here, not in the
 * Application: a conversation belongs to this screen, and clearing the
 * ViewModel cancels any reply still streaming (viewModelScope) and closes it.
 */
class ChatViewModel(app: Application) : AndroidViewModel(app) {
    private val sampleApp = app as SampleApp
    private val _state = MutableStateFlow(ChatUiState())
    val state: StateFlow<ChatUiState> = _state.asStateFlow()

    private var session: ChatSession? = null
    private var reply: Job? = null
    private var files: List<File> = emptyList()
    private var nextId = 0L

    init {
        showModels(autoPick = true)
    }

    /** Rescans the model folders; with [autoPick] a single model is loaded straight away. */
    fun showModels(autoPick: Boolean = false) {
        viewModelScope.launch {
            files = withContext(Dispatchers.IO) { ModelFiles.list(sampleApp) }
            when {
                files.isEmpty() -> _state.update {
                    it.copy(model = ModelState.Missing(ModelFiles.dirs(sampleApp).map(File::getPath)))
                }
                autoPick && files.size == 1 -> load(files.single())
                else -> _state.update { it.copy(model = ModelState.Choosing(files)) }
            }
        }
    }

    fun select(file: File) {
        viewModelScope.launch { load(file) }
    }

    fun import(uri: Uri) {
        viewModelScope.launch {
            _state.update { it.copy(notice = "Copying the model into app storage…") }
            try {
                val file = withContext(Dispatchers.IO) { ModelFiles.import(sampleApp, uri) }
                _state.update { it.copy(notice = null) }
                load(file)
            } catch (e: IOException) {
                _state.update { it.copy(notice = "Import failed: ${e.message}") }
            } catch (e: SecurityException) {
                _state.update { it.copy(notice = "Import failed: ${e.message}") }
            }
        }
    }

    private suspend fun load(file: File) {
        reply?.cancelAndJoin()
        session?.close()
        session = null
        _state.update { it.copy(model = ModelState.Loading(file.name), turns = emptyList(), generating = false) }
        try {
            val engine = sampleApp.engines.load(file)
            session = engine.newSession(SYSTEM_PROMPT)
            val info = engine.info
            val detail = String.format(
                Locale.ROOT, "%s · %.0f M parameters · %.1f bits/weight · context %d",
                info.architecture, info.parameters.toDouble() / 1e6, info.bitsPerWeight, info.contextLength,
            )
            _state.update { it.copy(model = ModelState.Ready(file.name, detail)) }
        } catch (e: MoteException) {
            _state.update { it.copy(model = ModelState.Failed(e.message ?: e.toString(), files)) }
        }
    }

    fun send(text: String) {
        val s = session ?: return
        val message = text.trim()
        if (message.isEmpty() || reply?.isActive == true) return
        val answerId = nextId + 1
        _state.update {
            it.copy(
                turns = it.turns + Turn(nextId, fromUser = true, text = message) + Turn(answerId, fromUser = false, text = ""),
                generating = true,
                notice = null,
            )
        }
        nextId += 2
        // A stopped reply may still be winding down (its job is no longer active);
        // joining it means this one starts on an idle session.
        val previous = reply
        reply = viewModelScope.launch {
            previous?.join()
            var timer: ReplyTimer? = null
            var footer: String? = null
            try {
                val t = ReplyTimer().also { timer = it }
                var finish: FinishReason? = null
                // Collected on the main thread: the SDK hands pieces over from its worker.
                s.events(message, CHAT_CONFIG).collect { event ->
                    when (event) {
                        is ChatEvent.Token -> {
                            t.onPiece()
                            append(answerId, event.text)
                        }
                        is ChatEvent.Done -> finish = event.reply.finish
                    }
                }
                footer = listOfNotNull(
                    t.summary() ?: "no reply",
                    "context full".takeIf { finish == FinishReason.CONTEXT_FULL },
                    // The default DROP_OLDEST policy keeps the chat going by no longer
                    // showing the model the oldest turns; say so rather than hide it.
                    s.contextStatus.droppedMessages.takeIf { it > 0 }?.let { "$it early messages out of context" },
                ).joinToString(" · ")
            } catch (e: CancellationException) {
                // Cancelling the collection is what stops the generation (the stop
                // button); the SDK completes the cancellation only once the session
                // is idle, so the next send or reset never sees Busy.
                footer = listOfNotNull(timer?.summary(), "stopped").joinToString(" · ")
                throw e
            } catch (e: MoteException) {
                footer = describe(e)
            } finally {
                finish(answerId, footer)
            }
        }
    }

    fun stop() {
        reply?.cancel()
    }

    fun newChat() {
        viewModelScope.launch {
            // Returns once the native side let go of the session: reset cannot be Busy.
            reply?.cancelAndJoin()
            val s = session ?: return@launch
            try {
                s.reset()
                _state.update { it.copy(turns = emptyList(), notice = null) }
            } catch (e: MoteException) {
                _state.update { it.copy(notice = "Could not start a new chat: ${e.message}") }
            }
        }
    }

    private fun append(id: Long, piece: String) = _state.update { st ->
        st.copy(turns = st.turns.map { if (it.id == id) it.copy(text = it.text + piece) else it })
    }

    private fun finish(id: Long, footer: String?) = _state.update { st ->
        st.copy(turns = st.turns.map { if (it.id == id) it.copy(footer = footer) else it }, generating = false)
    }

    override fun onCleared() {
        // viewModelScope is already cancelled; close() also cancels a reply mid-flight.
        session?.close()
    }

    private companion object {
        const val SYSTEM_PROMPT = "You are a helpful assistant. Answer briefly."
        val CHAT_CONFIG = GenerationConfig(maxTokens = 512)
    }
}

private fun describe(e: MoteException): String = when (e) {
    // Thrown only under ContextPolicy.FAIL; this app keeps the default DROP_OLDEST,
    // where old turns leave the context instead. Kept for a policy change.
    is MoteException.ContextFull -> "The conversation no longer fits the context: start a new chat."
    is MoteException.PromptTooLong -> "That message is too long for this model's context."
    else -> e.message ?: e.toString()
}
