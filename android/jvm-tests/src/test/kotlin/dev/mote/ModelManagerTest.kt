package dev.mote

import com.sun.net.httpserver.HttpServer
import java.io.File
import java.net.InetSocketAddress
import java.nio.file.Files
import java.security.MessageDigest
import kotlin.random.Random
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertTrue
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.flow.toList
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.After
import org.junit.Test

// The "Get a model" example from docs/android.md, verbatim (docExamplesAreVerbatim).
suspend fun readyModel(models: ModelManager, id: String): File {
    try {
        return models.resolve(id) // installed on an earlier run
    } catch (e: ModelException.NotInstalled) {
        // First run: download it, with progress.
    }
    models.pull(id).collect { p ->
        val total = p.totalBytes ?: return@collect
        println("${100 * p.downloadedBytes / total} %")
    }
    return models.resolve(id)
}

/**
 * The Kotlin model manager against a loopback HTTP server started by the test
 * (the JDK's own, with `Range` support): a pull as a `Flow<DownloadProgress>`,
 * pause by cancelling the collector and resume, typed errors, installing an
 * app-downloaded real model with activation, `ModelSet`, and a model loaded
 * from inside a larger file as from an APK asset.
 */
class ModelManagerTest {
    private val dir: File = Files.createTempDirectory("mote-models").toFile()
    private val data = Random(7).nextBytes(3 shl 20)
    private val sha = sha256(data)
    private val server = HttpServer.create(InetSocketAddress("127.0.0.1", 0), 0).apply {
        createContext("/m.gguf") { ex ->
            val from = ex.requestHeaders.getFirst("Range")?.removePrefix("bytes=")?.removeSuffix("-")?.toInt() ?: 0
            ex.responseHeaders.add("ETag", "\"v1\"")
            if (from > 0) {
                ex.responseHeaders.add("Content-Range", "bytes $from-${data.size - 1}/${data.size}")
                ex.sendResponseHeaders(206, (data.size - from).toLong())
            } else {
                ex.sendResponseHeaders(200, data.size.toLong())
            }
            try {
                ex.responseBody.use { out ->
                    // Slow enough that a cancel lands mid-transfer.
                    for (off in from until data.size step 64 * 1024) {
                        out.write(data, off, minOf(64 * 1024, data.size - off))
                        out.flush()
                        Thread.sleep(2)
                    }
                }
            } catch (_: java.io.IOException) {
                // The client went away (a paused pull): nothing to do.
            }
        }
        start()
    }
    private val url = "http://127.0.0.1:${server.address.port}/m.gguf"

    @After
    fun tearDown() {
        server.stop(0)
        dir.deleteRecursively()
    }

    @Test
    fun pullIsAFlowOfProgressThatPausesAndResumes() = runBlocking<Unit> {
        ModelManager.open(dir).use { m ->
            // Collecting one progress event and stopping pauses the pull.
            val first = withTimeout(30_000) { m.pullUrl(url, sha, "m").first() }
            assertTrue(first.downloadedBytes > 0)
            assertTrue(m.installed().isEmpty(), "a paused pull installs nothing")

            val progress = mutableListOf<DownloadProgress>()
            val result = withTimeout(60_000) { m.installUrl(url, sha, "m") { progress += it } }
            assertTrue(result.resumedFromBytes > 0, "resumed from ${result.resumedFromBytes}")
            assertEquals(data.size.toLong(), result.resumedFromBytes + result.fetchedBytes, "no byte fetched twice")
            assertTrue(progress.zipWithNext().all { (a, b) -> a.downloadedBytes <= b.downloadedBytes })
            assertTrue(data.contentEquals(File(result.model.path).readBytes()))
            assertEquals(File(result.model.path), m.resolve("m"))
            assertEquals(listOf(result.model), m.installed())

            // Pulling again is instant and the flow completes normally.
            assertEquals(emptyList(), m.pullUrl(url, sha, "m").toList())
        }
    }

    @Test
    fun docExampleDownloadsOnceFromTheCatalogue() = runBlocking<Unit> {
        val catalogue = """{"format": 1, "entries": [{"id": "tiny", "name": "Tiny", "family": "test", "file_name": "tiny.gguf",
            "parameters": 1, "quant": "Q4_0", "bits_per_weight": 4.5, "context_length": 256, "kv_bytes_per_token": 1,
            "licence": "none", "sha256": "$sha", "sources": [[{"url": "$url"}]]}]}"""
        ModelManager.open(dir, catalogue).use { m ->
            val file = withTimeout(60_000) { readyModel(m, "tiny") }
            assertTrue(data.contentEquals(file.readBytes()))
            server.stop(0) // the second call must not need the network
            assertEquals(file, readyModel(m, "tiny"))
        }
    }

    @Test
    fun errorsAreTyped() = runBlocking<Unit> {
        ModelManager.open(dir).use { m ->
            val e = assertFailsWith<ModelException.ChecksumMismatch> { m.installUrl(url, sha256(byteArrayOf(1)), "m") }
            assertTrue(e.path.endsWith("m.gguf"))
            assertFailsWith<ModelException.UnknownEntry> { m.install("no-such-model") }
            assertFailsWith<ModelException.NotInstalled> { m.resolve("m") }
            assertFailsWith<ModelException.InvalidArgument> { m.recommend(-1) }
        }
        assertFailsWith<ModelException.InvalidCatalogue> { ModelManager.open(dir, catalogueJson = "{") }
    }

    @Test
    fun installFileActivateAndModelSet() = runBlocking<Unit> {
        ModelManager.open(dir).use { m ->
            assertTrue(m.catalogue.any { it.id == "smollm2-135m-instruct-q4_1" && it.sha256 != null })
            assertTrue(m.recommend(2L shl 30)!!.ramBytes4k <= 1L shl 30)

            val model = File(TestModel.path).readBytes()
            val handedOver = File(Files.createTempDirectory("handover").toFile(), "smol.gguf").apply { writeBytes(model) }
            val v = m.installFile(handedOver, sha256(model), "smol")
            assertEquals(VersionStatus.INSTALLED, v.status)
            val active = m.activate("smol", v.version)
            assertEquals(VersionStatus.VALID, active.status)
            assertTrue(active.active)

            val broken = File(handedOver.parentFile, "smol-v2.gguf").apply { writeBytes(model.copyOf(1 shl 20)) }
            val v2 = m.installFile(broken, sha256(model.copyOf(1 shl 20)), "smol")
            assertFailsWith<ModelException.ValidationFailed> { m.activate("smol", v2.version) }
            assertEquals(File(active.path), m.resolve("smol"), "rolled back to the version that works")

            ModelSet(budgetBytes = 1L shl 30, LoadOptions(contextLength = 256)).use { set ->
                set.get("smol", m.resolve("smol")).use { engine ->
                    val reply = engine.newSession().use { it.send("Hi", TestModel.greedy(4)) }
                    assertTrue(reply.text.isNotEmpty())
                }
                assertEquals(listOf("smol"), set.residents.map { it.name })
                assertTrue(set.evict("smol"))
                assertTrue(set.residents.none { it.loaded })
            }
        }
    }

    @Test
    fun modelEmbeddedInALargerFileLoadsInPlace() = runBlocking<Unit> {
        val model = File(TestModel.path).readBytes()
        val offset = 4096L + 32 * 5
        val apk = File(dir, "app.apk")
        apk.writeBytes(Random(1).nextBytes(offset.toInt()) + model + Random(2).nextBytes(999))
        val options = LoadOptions(contextLength = 256, byteOffset = offset, byteLength = model.size.toLong())
        val fromApk = MoteEngine.load(apk.path, options).use { e -> e.newSession().use { it.send("Hi", TestModel.greedy(6)).text } }
        val plain = MoteEngine.load(TestModel.path, LoadOptions(contextLength = 256)).use { e ->
            e.newSession().use { it.send("Hi", TestModel.greedy(6)).text }
        }
        assertEquals(plain, fromApk)
        assertFailsWith<MoteException.InvalidArgument> { MoteEngine.load(apk.path, LoadOptions(byteOffset = offset)) }
    }

    private fun sha256(b: ByteArray) = MessageDigest.getInstance("SHA-256").digest(b).joinToString("") { "%02x".format(it) }
}
