import Foundation
import Mote

/// The app's one engine. Holding a single model keeps memory predictable:
/// loading another drops this reference, and the old model's memory goes
/// once its sessions are released too.
@MainActor
final class EngineStore {
    private var current: (path: String, engine: MoteEngine)?

    /// Enough for a few turns with a small model; 0 would take the model's (capped) default.
    static let options = LoadOptions(contextLength: 2048)

    func load(_ url: URL) async throws -> MoteEngine {
        if let current, current.path == url.path { return current.engine }
        current = nil
        let engine = try await MoteEngine.load(path: url.path, options: Self.options)
        current = (url.path, engine)
        LifecycleHook.install(for: engine)
        return engine
    }
}
