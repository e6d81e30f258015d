import Foundation
import XCTest
@testable import Mote

#if canImport(Glibc)
import Glibc
#endif

/// The Swift model manager against a loopback HTTP server started by the test:
/// a pull as an `AsyncThrowingStream` of progress, pause by leaving the loop
/// and resume, typed errors, an app-downloaded real model installed and
/// activated, `ModelSet`, and a model loaded from inside a larger file.
final class ModelManagerTests: XCTestCase {
    var dir: URL!

    override func setUp() {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("mote-models-\(UUID().uuidString)")
    }

    override func tearDown() {
        try? FileManager.default.removeItem(at: dir)
    }

    func testPullStreamsProgressPausesAndResumes() async throws {
        let data = Data((0..<(3 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 13) })
        let server = try LoopbackServer(body: data)
        defer { server.stop() }
        let sha = sha256Hex(data)
        let m = try ModelManager(directory: dir)

        // Leaving the loop after the first event pauses the pull.
        for try await p in m.pull(url: server.url, sha256: sha, name: "m") {
            XCTAssertGreaterThan(p.downloadedBytes, 0)
            break
        }
        let none = try await m.installed()
        XCTAssertTrue(none.isEmpty, "a paused pull installs nothing")

        let seen = Collected<DownloadProgress>()
        let r = try await m.install(url: server.url, sha256: sha, name: "m") { seen.append($0) }
        XCTAssertGreaterThan(r.resumedFromBytes, 0, "resumed")
        XCTAssertEqual(r.resumedFromBytes + r.fetchedBytes, Int64(data.count), "no byte fetched twice")
        XCTAssertTrue(zip(seen.all, seen.all.dropFirst()).allSatisfy { $0.downloadedBytes <= $1.downloadedBytes })
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: r.model.path)), data)
        let resolved = try await m.resolve("m")
        XCTAssertEqual(resolved.path, r.model.path)
        let installed = try await m.installed()
        XCTAssertEqual(installed, [r.model])
    }

    func testErrorsAreTyped() async throws {
        let server = try LoopbackServer(body: Data(repeating: 7, count: 100_000))
        defer { server.stop() }
        let m = try ModelManager(directory: dir)
        do {
            _ = try await m.install(url: server.url, sha256: sha256Hex(Data([1])), name: "m")
            XCTFail("a wrong hash installs nothing")
        } catch ModelError.checksumMismatch(let path, _, _) {
            XCTAssertTrue(path.hasSuffix("m.gguf"))
        }
        do {
            _ = try await m.install("no-such-model")
            XCTFail("unknown entry")
        } catch ModelError.unknownEntry(let id) {
            XCTAssertEqual(id, "no-such-model")
        }
        do {
            _ = try await m.resolve("m")
            XCTFail("nothing installed")
        } catch ModelError.notInstalled {}
        XCTAssertThrowsError(try ModelManager(directory: dir, catalogueJSON: "{")) { error in
            guard case ModelError.invalidCatalogue = error else { return XCTFail("\(error)") }
        }
    }

    func testInstallFileActivateAndModelSet() async throws {
        let m = try ModelManager(directory: dir)
        XCTAssertTrue(m.catalogue.contains { $0.id == "smollm2-135m-instruct-q4_1" && $0.sha256 != nil })
        let model = try Data(contentsOf: URL(fileURLWithPath: TestModel.path))
        let handover = FileManager.default.temporaryDirectory.appendingPathComponent("handover-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: handover, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: handover) }
        let good = handover.appendingPathComponent("smol.gguf")
        try model.write(to: good)
        let v = try await m.installFile(at: good, sha256: sha256Hex(model), name: "smol")
        XCTAssertEqual(v.status, .installed)
        let active = try await m.activate("smol", version: Int(v.version))
        XCTAssertEqual(active.status, .valid)

        let brokenBytes = model.prefix(1 << 20)
        let broken = handover.appendingPathComponent("smol-v2.gguf")
        try brokenBytes.write(to: broken)
        let v2 = try await m.installFile(at: broken, sha256: sha256Hex(Data(brokenBytes)), name: "smol")
        do {
            _ = try await m.activate("smol", version: Int(v2.version))
            XCTFail("a truncated model does not validate")
        } catch ModelError.validationFailed(_, let version, _) {
            XCTAssertEqual(version, 2)
        }
        let resolved = try await m.resolve("smol")
        XCTAssertEqual(resolved.path, active.path, "rolled back")

        let set = try ModelSet(budgetBytes: 1 << 30, options: LoadOptions(contextLength: 256))
        let engine = try await set.engine(named: "smol", path: resolved)
        let reply = try await engine.newSession().send("Hi", config: TestModel.greedy(4))
        XCTAssertFalse(reply.text.isEmpty)
        XCTAssertEqual(set.residents.map(\.name), ["smol"])
        XCTAssertTrue(set.evict("smol"))
        XCTAssertFalse(set.residents[0].loaded)
    }

    func testModelEmbeddedInALargerFileLoadsInPlace() async throws {
        let model = try Data(contentsOf: URL(fileURLWithPath: TestModel.path))
        let offset = 4096 + 32 * 3
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let bundle = dir.appendingPathComponent("bundle.bin")
        try (Data(repeating: 0xAB, count: offset) + model + Data(repeating: 1, count: 77)).write(to: bundle)
        let embedded = try await MoteEngine.load(
            path: bundle.path,
            options: LoadOptions(contextLength: 256, byteOffset: Int64(offset), byteLength: Int64(model.count)))
        let plain = try await MoteEngine.load(path: TestModel.path, options: LoadOptions(contextLength: 256))
        let a = try await embedded.newSession().send("Hi", config: TestModel.greedy(6))
        let b = try await plain.newSession().send("Hi", config: TestModel.greedy(6))
        XCTAssertEqual(a.text, b.text)
    }
}

/// SHA-256 in hex, by the system's `sha256sum` (Foundation on Linux has no CryptoKit).
func sha256Hex(_ data: Data) -> String {
    let file = FileManager.default.temporaryDirectory.appendingPathComponent("sha-\(UUID().uuidString)")
    try? data.write(to: file)
    defer { try? FileManager.default.removeItem(at: file) }
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
    p.arguments = [file.path]
    let out = Pipe()
    p.standardOutput = out
    try? p.run()
    p.waitUntilExit()
    let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    return String(text.prefix(64))
}

/// A one-path HTTP/1.1 server on 127.0.0.1 with `Range` support, serving
/// slowly enough that a pause lands mid-transfer. Plain sockets: Foundation
/// on Linux has no HTTP server.
final class LoopbackServer: @unchecked Sendable {
    let url: String
    private let fd: Int32
    private let body: Data
    private let lock = NSLock()
    private var stopped = false

    init(body: Data) throws {
        self.body = body
        let sock = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { p -> Bool in
                bind(sock, p, len) == 0 && listen(sock, 8) == 0 && getsockname(sock, p, &len) == 0
            }
        }
        fd = sock
        guard bound else { throw POSIXError(.EADDRINUSE) }
        url = "http://127.0.0.1:\(UInt16(bigEndian: addr.sin_port))/m.gguf"
        Thread.detachNewThread { [self] in serve() }
    }

    func stop() {
        lock.withLock { stopped = true }
        shutdown(fd, Int32(SHUT_RDWR))
        close(fd)
    }

    private func serve() {
        while true {
            let c = accept(fd, nil, nil)
            if c < 0 { return }
            Thread.detachNewThread { [self] in answer(c) }
        }
    }

    private func answer(_ c: Int32) {
        defer { close(c) }
        var request = [UInt8](repeating: 0, count: 4096)
        let n = read(c, &request, request.count)
        guard n > 0 else { return }
        let head = String(decoding: request[0..<n], as: UTF8.self)
        var from = 0
        if let line = head.split(separator: "\r\n").first(where: { $0.lowercased().hasPrefix("range: bytes=") }) {
            from = Int(line.dropFirst("range: bytes=".count).split(separator: "-").first ?? "") ?? 0
        }
        var header = from > 0
            ? "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes \(from)-\(body.count - 1)/\(body.count)\r\n"
            : "HTTP/1.1 200 OK\r\n"
        header += "Content-Length: \(body.count - from)\r\nETag: \"v1\"\r\nConnection: close\r\n\r\n"
        guard send(c, header) else { return }
        var pos = from
        while pos < body.count, !lock.withLock({ stopped }) {
            let end = min(pos + 65_536, body.count)
            guard send(c, body[pos..<end]) else { return }
            pos = end
            usleep(2_000)
        }
    }

    private func send(_ c: Int32, _ text: String) -> Bool { send(c, Data(text.utf8)) }

    private func send(_ c: Int32, _ data: Data) -> Bool {
        data.withUnsafeBytes { raw in
            var off = 0
            while off < raw.count {
                let k = Glibc.send(c, raw.baseAddress! + off, raw.count - off, Int32(MSG_NOSIGNAL))
                if k <= 0 { return false }
                off += k
            }
            return true
        }
    }
}

// The "Get a model" example from docs/ios.md, verbatim.
func readyModel(_ models: ModelManager, id: String) async throws -> URL {
    if let url = try? await models.resolve(id) {
        return url // installed on an earlier run
    }
    for try await p in models.pull(id) {
        if let total = p.totalBytes { print("\(100 * p.downloadedBytes / total) %") }
    }
    return try await models.resolve(id)
}

final class ModelDocExampleTests: XCTestCase {
    func testReadyModelDownloadsOnceFromTheCatalogue() async throws {
        let data = Data((0..<300_000).map { UInt8(truncatingIfNeeded: $0 * 7) })
        let server = try LoopbackServer(body: data)
        let sha = sha256Hex(data)
        let catalogue = """
            {"format": 1, "entries": [{"id": "tiny", "name": "Tiny", "family": "test", "file_name": "tiny.gguf",
            "parameters": 1, "quant": "Q4_0", "bits_per_weight": 4.5, "context_length": 256, "kv_bytes_per_token": 1,
            "licence": "none", "sha256": "\(sha)", "sources": [[{"url": "\(server.url)"}]]}]}
            """
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mote-doc-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let models = try ModelManager(directory: dir, catalogueJSON: catalogue)
        let url = try await readyModel(models, id: "tiny")
        XCTAssertEqual(try Data(contentsOf: url), data)
        server.stop() // the second call must not need the network
        let again = try await readyModel(models, id: "tiny")
        XCTAssertEqual(again, url)
    }
}
