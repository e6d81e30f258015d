package dev.mote

import dev.mote.ffi.ModelException as FfiModelException

/**
 * Every failure of [ModelManager]. Branch on what the app can act on: no
 * network ([Network], [Http]), no space ([NoSpace]), a bad file
 * ([ChecksumMismatch], [ValidationFailed]). [Cancelled] is a pause: pulling
 * the same model again resumes where it stopped.
 */
sealed class ModelException(message: String, cause: Throwable? = null) : Exception(message, cause) {
    /** The network failed and the retries are used up; the partial file is kept for a resume. */
    class Network(val url: String, val attempts: Int, val reason: String) :
        ModelException("download of $url failed after $attempts attempts: $reason")

    /** The server answered with an HTTP error retrying does not fix. */
    class Http(val url: String, val status: Int) : ModelException("$url answered HTTP $status")

    /** The bytes do not hash to the expected SHA-256; the file was removed. */
    class ChecksumMismatch(val path: String, val expected: String, val actual: String) :
        ModelException("SHA-256 mismatch for $path: expected $expected, got $actual")

    /** Not enough free space (bytes); nothing was installed. */
    class NoSpace(val path: String, val needed: Long, val available: Long) :
        ModelException("not enough space in $path: $needed bytes needed, $available available")

    class Storage(val path: String, val reason: String) : ModelException("$path: $reason")

    /** Paused by cancellation; the partial file is kept for the next pull. */
    class Cancelled : ModelException("download paused")

    /** Another pull of the same file is running. */
    class InProgress(val path: String) : ModelException("a download to $path is already in progress")

    class NotInstalled(val name: String) : ModelException("no installed model named $name")

    class UnknownEntry(val id: String) : ModelException("no catalogue entry $id")

    class InvalidCatalogue(val reason: String) : ModelException("catalogue: $reason")

    /** The version failed activation; the previously active version stays active. */
    class ValidationFailed(val name: String, val version: Int, val reason: String) :
        ModelException("$name version $version failed validation: $reason")

    class InvalidArgument(val reason: String) : ModelException("invalid argument: $reason")

    class Internal(val reason: String, cause: Throwable? = null) : ModelException("internal error: $reason", cause)
}

internal fun FfiModelException.toModelException(): ModelException = when (this) {
    is FfiModelException.Network -> ModelException.Network(url, attempts, reason)
    is FfiModelException.Http -> ModelException.Http(url, status)
    is FfiModelException.ChecksumMismatch -> ModelException.ChecksumMismatch(path, expected, actual)
    is FfiModelException.NoSpace -> ModelException.NoSpace(path, needed, available)
    is FfiModelException.Storage -> ModelException.Storage(path, reason)
    is FfiModelException.Cancelled -> ModelException.Cancelled()
    is FfiModelException.InProgress -> ModelException.InProgress(path)
    is FfiModelException.NotInstalled -> ModelException.NotInstalled(name)
    is FfiModelException.UnknownEntry -> ModelException.UnknownEntry(id)
    is FfiModelException.InvalidCatalogue -> ModelException.InvalidCatalogue(reason)
    is FfiModelException.ValidationFailed -> ModelException.ValidationFailed(name, version, reason)
    is FfiModelException.InvalidArgument -> ModelException.InvalidArgument(reason)
    is FfiModelException.Internal -> ModelException.Internal(reason, this)
}

/** Runs a model-manager call, translating its errors into [ModelException]. */
internal inline fun <T> models(block: () -> T): T = try {
    block()
} catch (e: FfiModelException) {
    throw e.toModelException()
} catch (e: dev.mote.ffi.InternalException) {
    throw ModelException.Internal(e.message ?: "native failure", e)
}
