package dev.mote.sample.chat

import java.io.File

/** One bubble. An assistant turn grows while its reply streams. */
data class Turn(
    val id: Long,
    val fromUser: Boolean,
    val text: String,
    /** Shown under a finished reply: TTFT and speed, plus "stopped" or an error. */
    val footer: String? = null,
)

sealed interface ModelState {
    data object Scanning : ModelState
    /** No model found; the screen explains where to put one. */
    data class Missing(val dirs: List<String>) : ModelState
    data class Choosing(val files: List<File>) : ModelState
    data class Loading(val name: String) : ModelState
    data class Ready(val name: String, val detail: String) : ModelState
    data class Failed(val message: String, val files: List<File>) : ModelState
}

data class ChatUiState(
    val model: ModelState = ModelState.Scanning,
    val turns: List<Turn> = emptyList(),
    val generating: Boolean = false,
    /** Transient problems that are not tied to a reply (import failed, reset refused). */
    val notice: String? = null,
)
