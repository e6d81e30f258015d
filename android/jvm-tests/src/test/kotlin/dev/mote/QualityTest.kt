package dev.mote

import java.nio.file.Files
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertTrue
import kotlinx.coroutines.runBlocking
import org.junit.Test

/** The quantization study's calls from Kotlin, on the real SmolLM2. */
class QualityTest {
    @Test
    fun quantizeThenEvaluate(): Unit = runBlocking {
        assertTrue("Q4_K_M" in Quantizer.types)
        val dir = Files.createTempDirectory("mote-q")
        val out = dir.resolve("q8.gguf").toString()
        assertFailsWith<MoteException.InvalidArgument> { Quantizer.quantize(TestModel.path, out, "Q9_Z") }
        val s = Quantizer.quantize(TestModel.path, out, "Q8_0")
        assertTrue(s.bitsPerWeight in 8.0..9.0, "$s")
        assertTrue(s.requantized > 0u, "the Q4_1 source is requantized: $s")
        val engine = MoteEngine.load(out, LoadOptions(contextLength = 512))
        val set = """{"name":"t","items":[{"id":"a","context":"The capital of France is Paris.","question":"What is the capital of France?","answers":["Paris"]}]}"""
        val q = engine.evaluate(set, perplexityText = "The capital of France is Paris. ".repeat(8), context = 16)
        assertEquals(1u, q.qaItems)
        assertTrue(q.perplexity > 1.0 && q.qaF1 in 0.0..100.0, "$q")
        engine.close()
        dir.toFile().deleteRecursively()
    }
}
