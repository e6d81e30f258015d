package dev.mote.sample.engine

import android.content.Context
import android.net.Uri
import android.provider.OpenableColumns
import java.io.File
import java.io.IOException

/**
 * Where the app looks for GGUF models. Both are app storage, so no permission
 * is needed:
 * - `files/models/` (internal): `adb push` to /data/local/tmp, then `run-as cp`;
 * - `Android/data/dev.mote.sample/files/models/` (external app dir): plain `adb push`.
 * The SDK loads by file path (it memory-maps the file), which is why a picked
 * document is copied into `files/models/` rather than read through its URI.
 */
object ModelFiles {
    fun internalDir(context: Context) = File(context.filesDir, "models")

    fun dirs(context: Context): List<File> =
        listOfNotNull(internalDir(context), context.getExternalFilesDir("models"))

    /** Blocking file-system access: call off the main thread. */
    fun list(context: Context): List<File> = dirs(context)
        .flatMap { dir -> dir.listFiles().orEmpty().filter { it.isFile && it.name.endsWith(".gguf", ignoreCase = true) } }
        .sortedBy { it.name }

    /** A file name from [list], an absolute path, or null for the first model found. */
    fun resolve(context: Context, nameOrPath: String?): File? = when {
        nameOrPath == null -> list(context).firstOrNull()
        nameOrPath.startsWith("/") -> File(nameOrPath).takeIf { it.isFile }
        else -> list(context).firstOrNull { it.name == nameOrPath }
    }

    /** Copies a document picked with the system file picker into `files/models/`. Blocking. */
    fun import(context: Context, uri: Uri): File {
        val dir = internalDir(context).apply { mkdirs() }
        val name = displayName(context, uri)?.takeIf { it.endsWith(".gguf", ignoreCase = true) }
            ?: "imported-${System.currentTimeMillis()}.gguf"
        val target = File(dir, File(name).name) // File(name).name drops any path a provider put in the name
        val partial = File(dir, "${target.name}.partial")
        val input = context.contentResolver.openInputStream(uri) ?: throw IOException("cannot open $uri")
        input.use { src -> partial.outputStream().use { dst -> src.copyTo(dst, bufferSize = 1 shl 20) } }
        // A half-copied model must never look like a model: .partial is not listed.
        if (!partial.renameTo(target)) {
            partial.delete()
            throw IOException("cannot move the imported model to $target")
        }
        return target
    }

    private fun displayName(context: Context, uri: Uri): String? =
        context.contentResolver.query(uri, arrayOf(OpenableColumns.DISPLAY_NAME), null, null, null)?.use { c ->
            if (c.moveToFirst()) c.getString(0) else null
        }
}
