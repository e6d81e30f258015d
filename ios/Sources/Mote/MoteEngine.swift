import MoteBindings

/// A loaded model. Load once and share it: the model's memory is returned when
/// the engine and every `ChatSession` created from it have been released.
public final class MoteEngine: Sendable {
    let inner: Engine

    private init(inner: Engine) {
        self.inner = inner
    }

    /// An engine the native side already loaded (`ModelSet`).
    convenience init(wrapping inner: Engine) {
        self.init(inner: inner)
    }

    /// Loads a GGUF model file. Loading maps the file and prepares the weights,
    /// which takes from a few hundred milliseconds to seconds, so it runs on a
    /// detached task, off the caller's actor. It cannot be interrupted.
    ///
    /// - Throws: `MoteError.modelUnreadable` if `path` cannot be read,
    ///   `.invalidModel` / `.unsupportedModel` for bad files,
    ///   `.insufficientMemory` when the model would not fit (on iOS the
    ///   figure is `os_proc_available_memory()`, read natively), and
    ///   `.invalidArgument` for negative `LoadOptions` counts.
    public static func load(path: String, options: LoadOptions = LoadOptions()) async throws -> MoteEngine {
        try await Task.detached(priority: .userInitiated) {
            MoteEngine(inner: try mapped { try Engine.load(path: path, options: options) })
        }.value
    }

    /// Architecture, size and context length of the loaded model.
    public var info: ModelInfo {
        get throws { try mapped { try inner.info() } }
    }

    /// Applies the memory policy for `level`: trims, snapshots sessions, drops
    /// KV caches or unmaps the weights. Returns at once even while replies are
    /// generating; those sessions are released when their reply ends. The next
    /// call reloads whatever was freed, transparently.
    @discardableResult
    public func onMemoryPressure(_ level: PressureLevel) throws -> ReleaseReport {
        try mapped { try inner.onMemoryPressure(level: level) }
    }

    /// Frees exactly what `actions` name, whatever the policy says.
    @discardableResult
    public func release(_ actions: Actions) throws -> ReleaseReport {
        try mapped { try inner.release(actions: actions) }
    }

    /// Where the native memory goes right now.
    public var memoryReport: MemoryReport {
        get throws { try mapped { try inner.memoryReport() } }
    }

    /// Which actions each `PressureLevel` triggers.
    public var memoryPolicy: MemoryPolicy {
        get throws { try mapped { try inner.memoryPolicy() } }
    }

    public func setMemoryPolicy(_ policy: MemoryPolicy) throws {
        try mapped { try inner.setMemoryPolicy(policy: policy) }
    }

    /// False after a release unmapped the weights (the next call reloads them).
    public var isLoaded: Bool {
        get throws { try mapped { try inner.isLoaded() } }
    }

    /// Set when the previous load with the same `LoadOptions.stateDir` never finished.
    public var unfinishedLoad: UnfinishedLoad? {
        get throws { try mapped { try inner.unfinishedLoad() } }
    }

    /// A session continued from a snapshot written by `ChatSession.saveSnapshot(to:)`
    /// or by the memory policy. Throws `.invalidSnapshot` for a damaged file
    /// or one of another model.
    public func restoreSession(path: String) throws -> ChatSession {
        ChatSession(inner: try mapped { try inner.restoreSession(path: path) })
    }

    /// Starts a conversation. Sessions are independent and may run concurrently.
    public func newSession(systemPrompt: String? = nil) throws -> ChatSession {
        let session = ChatSession(inner: try mapped { try inner.newSession() })
        if let systemPrompt {
            try session.setSystemPrompt(systemPrompt)
        }
        return session
    }
}
