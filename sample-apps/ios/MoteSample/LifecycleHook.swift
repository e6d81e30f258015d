import Mote

/// INTEGRATION POINT (lifecycle observer): the Android SDK has
/// `MoteLifecycle.install(application, engine)`, which releases the model's
/// memory when the app goes to the background or the system runs low; the
/// Swift package has no counterpart yet. When it lands, install it here for
/// every engine the app loads (EngineStore calls this), replacing the body.
@MainActor
enum LifecycleHook {
    static func install(for engine: MoteEngine) {
        _ = engine
    }
}
