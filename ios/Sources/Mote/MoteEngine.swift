import MoteBindings

/// A loaded model. Load once and share it: the model's memory is returned when
/// the engine and every `ChatSession` created from it have been released.
public final class MoteEngine: Sendable {
    let inner: Engine

    private init(inner: Engine) {
        self.inner = inner
    }

    /// Loads a GGUF model file. Loading maps the file and prepares the weights,
    /// which takes from a few hundred milliseconds to seconds, so it runs on a
    /// detached task, off the caller's actor. It cannot be interrupted.
    ///
    /// - Throws: `MoteError.modelUnreadable` if `path` cannot be read,
    ///   `MoteError.invalidModel` / `.unsupportedModel` for bad files.
    public static func load(path: String, options: LoadOptions = LoadOptions()) async throws -> MoteEngine {
        try await Task.detached(priority: .userInitiated) {
            MoteEngine(inner: try Engine.load(path: path, options: options))
        }.value
    }

    /// Architecture, size and context length of the loaded model.
    public var info: ModelInfo {
        get throws { try inner.info() }
    }

    /// Starts a conversation. Sessions are independent and may run concurrently.
    public func newSession(systemPrompt: String? = nil) throws -> ChatSession {
        let session = ChatSession(inner: try inner.newSession())
        if let systemPrompt {
            try session.setSystemPrompt(systemPrompt)
        }
        return session
    }
}
