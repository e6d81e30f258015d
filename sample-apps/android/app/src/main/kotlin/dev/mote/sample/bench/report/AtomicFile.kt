package dev.mote.sample.bench.report

import java.io.File
import java.io.FileOutputStream
import java.io.IOException

/**
 * Writes [text] so that readers see either the old file or the whole new one.
 * scripts/profile-battery.sh polls the file and takes the first copy that
 * parses, so a half-written file must never carry the final name.
 */
fun writeAtomically(target: File, text: String) {
    val tmp = File(target.parentFile, "${target.name}.tmp")
    FileOutputStream(tmp).use { out ->
        out.write(text.toByteArray(Charsets.UTF_8))
        // Without fsync a crash after the rename can leave an empty file behind it.
        out.fd.sync()
    }
    // rename(2) within one directory is atomic and replaces an existing target.
    if (!tmp.renameTo(target)) {
        tmp.delete()
        throw IOException("cannot rename $tmp to $target")
    }
}
