package dev.mote

import dev.mote.ffi.MoteException as FfiMoteException

/**
 * Every failure the SDK reports. Branch on the subclasses you can act on;
 * [Internal] carries a message meant for logs and bug reports.
 */
sealed class MoteException(message: String, cause: Throwable? = null) : Exception(message, cause) {
    /** The model file is missing or unreadable. */
    class ModelUnreadable(val path: String, val reason: String) :
        MoteException("cannot read model $path: $reason")

    /** The file is not a valid GGUF model. */
    class InvalidModel(val reason: String) : MoteException("invalid model: $reason")

    /** A valid model this build cannot run. */
    class UnsupportedModel(val reason: String) : MoteException("unsupported model: $reason")

    class InsufficientMemory(val needed: Long, val available: Long) :
        MoteException("not enough memory: needs $needed bytes, $available available")

    /** The new message alone does not fit in the context window, whatever the policy. */
    class PromptTooLong(val tokens: Long, val context: Long) :
        MoteException("prompt too long: $tokens tokens, context holds $context")

    /**
     * Only under [ContextPolicy.FAIL]: the conversation plus the new message
     * does not fit. Nothing was dropped or sent; make room with
     * [ChatSession.removeMessage] / [ChatSession.truncateHistory] / [ChatSession.reset],
     * or switch policy. (The other policies drop old turns instead, and a reply
     * that fills the context mid-way ends normally with [FinishReason.CONTEXT_FULL].)
     */
    class ContextFull(val context: Long) : MoteException("context full ($context tokens)")

    /** The generation was cancelled; the partial reply stays in the history. */
    class Cancelled : MoteException("generation cancelled")

    /** The session is already generating a reply. */
    class Busy : MoteException("this session is already generating")

    class InvalidArgument(val reason: String) : MoteException("invalid argument: $reason")

    class Storage(val reason: String) : MoteException("storage error: $reason")

    /** A snapshot file is damaged, truncated or not a snapshot; nothing was restored from it. */
    class InvalidSnapshot(val reason: String) : MoteException("invalid snapshot: $reason")

    class Internal(val reason: String, cause: Throwable? = null) :
        MoteException("internal error: $reason", cause)
}

internal fun FfiMoteException.toMoteException(): MoteException = when (this) {
    is FfiMoteException.ModelUnreadable -> MoteException.ModelUnreadable(path, reason)
    is FfiMoteException.InvalidModel -> MoteException.InvalidModel(reason)
    is FfiMoteException.UnsupportedModel -> MoteException.UnsupportedModel(reason)
    is FfiMoteException.InsufficientMemory -> MoteException.InsufficientMemory(needed, available)
    is FfiMoteException.PromptTooLong -> MoteException.PromptTooLong(tokens, context)
    is FfiMoteException.ContextFull -> MoteException.ContextFull(context)
    is FfiMoteException.Cancelled -> MoteException.Cancelled()
    is FfiMoteException.Busy -> MoteException.Busy()
    is FfiMoteException.InvalidArgument -> MoteException.InvalidArgument(reason)
    is FfiMoteException.Storage -> MoteException.Storage(reason)
    is FfiMoteException.InvalidSnapshot -> MoteException.InvalidSnapshot(reason)
    is FfiMoteException.Internal -> MoteException.Internal(reason, this)
}

/** Runs a call into the native layer, translating its errors into [MoteException]. */
internal inline fun <T> native(block: () -> T): T = try {
    block()
} catch (e: FfiMoteException) {
    throw e.toMoteException()
} catch (e: dev.mote.ffi.InternalException) {
    // A Rust panic caught by UniFFI in a call that has no error type.
    throw MoteException.Internal(e.message ?: "native failure", e)
}
