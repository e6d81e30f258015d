import Foundation
import MoteBindings

public typealias CatalogueEntry = MoteBindings.CatalogueEntry
public typealias ModelVersion = MoteBindings.ModelVersion
public typealias VersionStatus = MoteBindings.VersionStatus
public typealias DownloadProgress = MoteBindings.DownloadProgress
public typealias PullResult = MoteBindings.PullResult
public typealias DamagedVersion = MoteBindings.DamagedVersion
public typealias ResidentModel = MoteBindings.ResidentModel

/// What a pull reports: `.progress` events, then one `.done`.
public enum DownloadEvent: Sendable {
    case progress(DownloadProgress)
    case done(PullResult)
}

/// Models on the device: a catalogue, resumable SHA-256-verified downloads,
/// installed versions with validation and rollback.
///
/// Downloads run on a native thread; the blocking calls (hashing a file,
/// validating a version by loading it) run on a detached task. Ending the
/// iteration of a pull's stream early, or cancelling the task, pauses the
/// pull: its partial file is kept, and the next pull of the same model resumes
/// where it stopped, after the app was killed too. For downloads that must
/// continue while the app is suspended, use a background `URLSession` and hand
/// the file to `installFile(at:sha256:name:)`.
public final class ModelManager: Sendable {
    let inner: MoteBindings.ModelManager

    /// The store in `directory` (e.g. Application Support/models), created if
    /// needed. `catalogueJSON` replaces the built-in catalogue.
    public init(directory: URL, catalogueJSON: String? = nil) throws {
        inner = try modelCall { try MoteBindings.ModelManager.open(dir: directory.path, catalogueJson: catalogueJSON) }
    }

    /// The models this manager can pull.
    public var catalogue: [CatalogueEntry] { inner.catalogue() }

    /// The largest catalogue model whose estimated memory at `context` tokens
    /// (0: 4096) fits in `headroom` of `deviceMemory` bytes
    /// (`ProcessInfo.physicalMemory`); `nil` if none fits.
    public func recommend(deviceMemory: Int, context: Int = 0, headroom: Double = 0.5) throws -> CatalogueEntry? {
        try modelCall { try inner.recommend(deviceMemoryBytes: ffiCount(deviceMemory), context: ffiCount(context), headroom: headroom) }
    }

    /// Every installed version of every model.
    public func installed() async throws -> [ModelVersion] {
        try await blocking { try $0.installed() }
    }

    /// Downloads catalogue entry `id`; the stream finishes once the model is
    /// verified and installed, and throws `ModelError` otherwise. `sha256` is
    /// needed only for entries without a pinned hash.
    public func pull(_ id: String, sha256: String? = nil) -> AsyncThrowingStream<DownloadProgress, Error> {
        progress(of: pullEvents(id, sha256: sha256))
    }

    /// `pull` with the result as the last event.
    public func pullEvents(_ id: String, sha256: String? = nil) -> AsyncThrowingStream<DownloadEvent, Error> {
        events { [inner] in inner.pull(id: id, sha256: sha256, listener: $0) }
    }

    /// `pull` for any URL, installed as a version of `name` (default: the file name without `.gguf`).
    public func pull(url: String, sha256: String, name: String? = nil) -> AsyncThrowingStream<DownloadProgress, Error> {
        progress(of: pullEvents(url: url, sha256: sha256, name: name))
    }

    public func pullEvents(url: String, sha256: String, name: String? = nil) -> AsyncThrowingStream<DownloadEvent, Error> {
        events { [inner] in inner.pullUrl(url: url, sha256: sha256, name: name, listener: $0) }
    }

    /// Pulls `id` and returns what was installed. Cancelling the task pauses
    /// the pull and throws `CancellationError`.
    public func install(
        _ id: String, sha256: String? = nil, onProgress: (@Sendable (DownloadProgress) -> Void)? = nil
    ) async throws -> PullResult {
        try await result(of: pullEvents(id, sha256: sha256), onProgress)
    }

    public func install(
        url: String, sha256: String, name: String? = nil, onProgress: (@Sendable (DownloadProgress) -> Void)? = nil
    ) async throws -> PullResult {
        try await result(of: pullEvents(url: url, sha256: sha256, name: name), onProgress)
    }

    /// Verifies and installs a file the app downloaded itself (a background
    /// `URLSession`); moved into the store when on the same volume. A file
    /// whose hash differs is left where it was.
    public func installFile(at file: URL, sha256: String, name: String) async throws -> ModelVersion {
        try await blocking { try $0.installFile(path: file.path, sha256: sha256, name: name) }
    }

    /// Makes `version` of `name` the one `resolve` returns, after checking that
    /// it parses, loads and generates a token. On failure it throws
    /// `.validationFailed` and the previous version stays active.
    public func activate(_ name: String, version: Int) async throws -> ModelVersion {
        try await blocking { try $0.activate(name: name, version: ffiCount32(version)) }
    }

    /// The file to load for `name`: its active version, else its newest one that has not failed.
    public func resolve(_ name: String) async throws -> URL {
        URL(fileURLWithPath: try await blocking { try $0.resolve(name: name) })
    }

    /// Removes one version, or all versions of `name`; returns the files deleted.
    @discardableResult
    public func remove(_ name: String, version: Int? = nil) async throws -> [String] {
        try await blocking { try $0.remove(name: name, version: version.map(ffiCount32)) }
    }

    /// Re-hashes installed files; returns the versions whose file is missing or changed.
    public func verify(_ name: String? = nil) async throws -> [DamagedVersion] {
        try await blocking { try $0.verify(name: name) }
    }

    /// Keeps each model's active version and its newest `keep` others that did not fail; returns the files deleted.
    @discardableResult
    public func gc(keep: Int) async throws -> [String] {
        try await blocking { try $0.gc(keep: ffiCount32(keep)) }
    }

    private func blocking<T: Sendable>(_ call: @escaping @Sendable (MoteBindings.ModelManager) throws -> T) async throws -> T {
        let inner = inner
        return try await Task.detached(priority: .utility) { try modelCall { try call(inner) } }.value
    }

    private func progress(of events: AsyncThrowingStream<DownloadEvent, Error>) -> AsyncThrowingStream<DownloadProgress, Error> {
        AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    for try await case .progress(let p) in events { continuation.yield(p) }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    private func result(
        of events: AsyncThrowingStream<DownloadEvent, Error>, _ onProgress: (@Sendable (DownloadProgress) -> Void)?
    ) async throws -> PullResult {
        do {
            for try await event in events {
                switch event {
                case .progress(let p): onProgress?(p)
                case .done(let r): return r
                }
            }
        } catch ModelError.cancelled where Task.isCancelled {
            throw CancellationError()
        }
        try Task.checkCancellation()
        throw ModelError.internal(reason: "a pull ended without a result")
    }

    /// One native pull per stream. A consumer that stops early (or whose task
    /// is cancelled) cancels the pull, which then ends with `.cancelled` and
    /// keeps its partial file; a pull started right after waits for it to let go.
    private func events(
        _ start: @escaping @Sendable (DownloadListener) -> DownloadHandle
    ) -> AsyncThrowingStream<DownloadEvent, Error> {
        AsyncThrowingStream(bufferingPolicy: .unbounded) { continuation in
            let handle = start(PullListener(continuation))
            continuation.onTermination = { reason in
                if case .cancelled = reason { handle.cancel() }
            }
        }
    }
}

/// Feeds a pull's stream; the native side calls `onComplete` or `onError` exactly once.
final class PullListener: DownloadListener, Sendable {
    let continuation: AsyncThrowingStream<DownloadEvent, Error>.Continuation

    init(_ continuation: AsyncThrowingStream<DownloadEvent, Error>.Continuation) {
        self.continuation = continuation
    }

    func onProgress(progress: DownloadProgress) { continuation.yield(.progress(progress)) }

    func onComplete(result: PullResult) {
        continuation.yield(.done(result))
        continuation.finish()
    }

    func onError(error: MoteBindings.ModelError) { continuation.finish(throwing: ModelError(error)) }
}

/// Several models under one memory budget: getting one that does not fit
/// unmaps the least recently used others first. An evicted model's sessions
/// stay valid; their conversations come back when it is loaded again.
public final class ModelSet: Sendable {
    let inner: MoteBindings.ModelSet

    public init(budgetBytes: Int, options: LoadOptions = LoadOptions()) throws {
        inner = try mapped { try MoteBindings.ModelSet(budgetBytes: ffiCount(budgetBytes), options: options) }
    }

    /// The engine for `name` (the file at `path`, e.g. from `ModelManager.resolve`),
    /// loading it or mapping its weights again after evicting others as needed.
    /// Call it each time the app turns to a model, so the set knows which is in use.
    /// Throws `MoteError.insufficientMemory` if it cannot fit even alone.
    public func engine(named name: String, path: URL) async throws -> MoteEngine {
        let inner = inner
        return try await Task.detached(priority: .userInitiated) {
            MoteEngine(wrapping: try mapped { try inner.get(name: name, path: path.path) })
        }.value
    }

    /// Unmaps `name`'s weights now; false if it was not loaded.
    @discardableResult
    public func evict(_ name: String) -> Bool { inner.evict(name: name) }

    /// Every model the set knows, least recently used first.
    public var residents: [ResidentModel] { inner.residents() }

    public var budgetBytes: Int { Int(inner.budgetBytes()) }
}
