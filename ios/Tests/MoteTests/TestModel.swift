import Foundation
import Mote

/// The real SmolLM2 model, passed in by scripts/test-swift.sh as MOTE_TEST_MODEL.
enum TestModel {
    static var path: String {
        guard let p = ProcessInfo.processInfo.environment["MOTE_TEST_MODEL"],
              FileManager.default.fileExists(atPath: p) else {
            fatalError("set MOTE_TEST_MODEL to the SmolLM2 GGUF (scripts/test-swift.sh does)")
        }
        return p
    }

    /// Greedy and short: deterministic and fast enough for a 2-core CI box.
    static func greedy(_ maxTokens: Int = 16) -> GenerationConfig {
        .greedy(maxTokens: maxTokens)
    }

    static func load() async throws -> MoteEngine {
        try await MoteEngine.load(path: path, options: LoadOptions(contextLength: 1024))
    }

    /// Resident set size of this process, from /proc (Linux hosts only).
    static func rssBytes() -> Int {
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
        let kb = line.split(separator: " ").compactMap { Int($0) }.first ?? 0
        return kb * 1024
    }
}

/// Collects callbacks from any thread.
final class Collected<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [T] = []

    func append(_ item: T) { lock.withLock { items.append(item) } }
    var all: [T] { lock.withLock { items } }
}
