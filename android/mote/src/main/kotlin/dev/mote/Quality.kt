package dev.mote

import dev.mote.ffi.QualitySummary
import dev.mote.ffi.QuantizeSummary
import dev.mote.ffi.quantizeModel as ffiQuantizeModel
import dev.mote.ffi.quantizeTypes as ffiQuantizeTypes
import kotlinx.coroutines.CoroutineDispatcher
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.withContext

/**
 * The quantization study on the device: make a variant of a model and score
 * it, to compare bits, speed, energy and quality on the phone itself. Both
 * calls take minutes and run on [dispatcher] (never the main thread).
 */
object Quantizer {
    /** The types [quantize] accepts, as `mote quantize --type` names them. */
    val types: List<String> get() = ffiQuantizeTypes()

    /**
     * Writes [input] quantized as [type] to [output] (byte-identical to
     * llama.cpp's llama-quantize), through `output.partial` so a failure
     * never leaves a truncated model.
     *
     * @throws MoteException.InvalidArgument for an unknown [type].
     * @throws MoteException.Storage if the disk is full or unwritable.
     */
    suspend fun quantize(
        input: String,
        output: String,
        type: String,
        threads: Int = 0,
        dispatcher: CoroutineDispatcher = Dispatchers.Default,
    ): QuantizeSummary = withContext(dispatcher) {
        native { ffiQuantizeModel(input, output, type, threads.toUInt()) }
    }
}

/**
 * Perplexity and SQuAD-style QA (exact match and F1, percent), greedy.
 * [qaSetJson] is in the format of Mote's `squad-mini.json`; an empty
 * [perplexityText] scores the set's passages.
 */
suspend fun MoteEngine.evaluate(
    qaSetJson: String,
    perplexityText: String = "",
    context: Int = 256,
    dispatcher: CoroutineDispatcher = Dispatchers.Default,
): QualitySummary = withContext(dispatcher) {
    native { ffi.evaluate(qaSetJson, perplexityText, context.toUInt()) }
}
