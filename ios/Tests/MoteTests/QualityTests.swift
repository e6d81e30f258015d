import Foundation
import XCTest
import Mote

/// The quantization study's calls from Swift, on the real SmolLM2.
final class QualityTests: XCTestCase {
    func testQuantizeThenEvaluate() async throws {
        XCTAssertTrue(Quantizer.types.contains("Q4_K_M"))
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mote-q-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("q8.gguf").path
        do {
            _ = try await Quantizer.quantize(input: TestModel.path, output: out, type: "Q9_Z")
            XCTFail("an unknown type must throw")
        } catch let e as MoteError {
            guard case .invalidArgument = e else { return XCTFail("\(e)") }
        }
        let s = try await Quantizer.quantize(input: TestModel.path, output: out, type: "Q8_0")
        XCTAssert((8.0...9.0).contains(s.bitsPerWeight), "\(s)")
        XCTAssertGreaterThan(s.requantized, 0)
        let engine = try await MoteEngine.load(path: out, options: LoadOptions(contextLength: 512))
        let set = #"{"name":"t","items":[{"id":"a","context":"The capital of France is Paris.","question":"What is the capital of France?","answers":["Paris"]}]}"#
        let q = try await engine.evaluate(qaSetJSON: set, perplexityText: String(repeating: "The capital of France is Paris. ", count: 8), context: 16)
        XCTAssertEqual(q.qaItems, 1)
        XCTAssert(q.perplexity > 1 && (0...100).contains(q.qaF1), "\(q)")
    }
}
