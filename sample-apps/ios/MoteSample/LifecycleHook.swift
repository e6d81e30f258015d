import Mote

/// Frees the model's memory when the app goes to the background or the system
/// runs low, and throttles on thermal changes (`MoteLifecycle`). EngineStore
/// calls this for every engine it loads; it holds one engine, so one lifecycle.
@MainActor
enum LifecycleHook {
    private static var current: MoteLifecycle?

    static func install(for engine: MoteEngine) {
        current?.uninstall()
        // Without it the app still works, only without releases under pressure.
        current = try? MoteLifecycle(engine: engine)
    }
}
