import Foundation
import MoteBindings

public typealias QuantizeSummary = MoteBindings.QuantizeSummary
public typealias QualitySummary = MoteBindings.QualitySummary

/// The quantization study on the device: make a variant of a model and
/// score it, to compare bits, speed, energy and quality on the phone itself.
/// Both calls take minutes and run detached, off the caller's actor.
public enum Quantizer {
    /// The types `quantize` accepts (as `mote quantize --type` names them).
    public static var types: [String] { MoteBindings.quantizeTypes() }

    /// Writes `input` quantized as `type` to `output` (byte-identical to
    /// llama.cpp's llama-quantize), through `output.partial`, so a failure
    /// never leaves a truncated model. Throws `MoteError.invalidArgument`
    /// for an unknown type, `.storage` when the disk is full.
    public static func quantize(input: String, output: String, type: String, threads: UInt32 = 0) async throws -> QuantizeSummary {
        try await Task.detached(priority: .utility) {
            try mapped { try MoteBindings.quantizeModel(input: input, output: output, quantType: type, threads: threads) }
        }.value
    }
}

extension MoteEngine {
    /// Perplexity and SQuAD-style QA (exact match and F1, percent), greedy.
    /// `qaSetJSON` is in the format of Mote's squad-mini.json; an empty
    /// `perplexityText` scores the set's passages.
    public func evaluate(qaSetJSON: String, perplexityText: String = "", context: UInt32 = 256) async throws -> QualitySummary {
        let inner = self.inner
        return try await Task.detached(priority: .utility) {
            try mapped { try inner.evaluate(qaSetJson: qaSetJSON, perplexityText: perplexityText, context: context) }
        }.value
    }
}
