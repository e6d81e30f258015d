import Foundation
#if canImport(UIKit)
import UIKit
#endif

/// Connects a `MoteEngine` to the app's lifecycle through `NotificationCenter`:
/// a memory warning is `.critical` (the default policy unmaps the weights), entering
/// the background is `.background` (sessions are snapshotted and their KV caches
/// dropped), and every thermal state change goes to `engine.onThermalState`.
/// What each level frees is the engine's `MemoryPolicy`; the next call reloads
/// whatever was released, so the app has nothing to do on return.
public final class MoteLifecycle: @unchecked Sendable {
    /// The notifications to observe. UIKit's and `ProcessInfo`'s on iOS;
    /// elsewhere, names of the same meaning that a host (or a test) posts itself.
    public struct Signals: Sendable {
        public var memoryWarning: Notification.Name
        public var didEnterBackground: Notification.Name
        public var willEnterForeground: Notification.Name
        public var thermalStateDidChange: Notification.Name
        /// Reads the thermal state when `thermalStateDidChange` arrives (the
        /// system's notification carries none).
        public var thermalState: @Sendable () -> ThermalState

        public init(
            memoryWarning: Notification.Name,
            didEnterBackground: Notification.Name,
            willEnterForeground: Notification.Name,
            thermalStateDidChange: Notification.Name = Signals.thermalNotification,
            thermalState: @escaping @Sendable () -> ThermalState = { ThermalState.current }
        ) {
            self.memoryWarning = memoryWarning
            self.didEnterBackground = didEnterBackground
            self.willEnterForeground = willEnterForeground
            self.thermalStateDidChange = thermalStateDidChange
            self.thermalState = thermalState
        }

        #if canImport(Darwin)
        public static let thermalNotification = ProcessInfo.thermalStateDidChangeNotification
        #else
        public static let thermalNotification = Notification.Name("MoteThermalStateDidChange")
        #endif

        #if canImport(UIKit)
        public static let platform = Signals(
            memoryWarning: UIApplication.didReceiveMemoryWarningNotification,
            didEnterBackground: UIApplication.didEnterBackgroundNotification,
            willEnterForeground: UIApplication.willEnterForegroundNotification
        )
        #else
        public static let platform = Signals(
            memoryWarning: Notification.Name("MoteDidReceiveMemoryWarning"),
            didEnterBackground: Notification.Name("MoteDidEnterBackground"),
            willEnterForeground: Notification.Name("MoteWillEnterForeground")
        )
        #endif
    }

    private let engine: MoteEngine
    private let center: NotificationCenter
    private let signals: Signals
    private let onRelease: (@Sendable (ReleaseReport) -> Void)?
    private let work = BackgroundWork()
    private let lock = NSLock()
    private var observers: [NSObjectProtocol] = []
    private var foreground = true

    /// True until the app enters the background, and again once it returns.
    public var isInForeground: Bool { lock.withLock { foreground } }

    /// Starts observing, and applies the current thermal state. With a
    /// `snapshotDirectory` (default: Caches/mote-sessions) the snapshot action
    /// writes sessions there, so a dropped KV cache comes back from disk
    /// instead of being recomputed. On iOS the directory gets the data
    /// protection class `.completeUntilFirstUserAuthentication`, which the
    /// snapshot files created in it inherit: they can be written while the
    /// device is locked in the background, but not read before the first
    /// unlock after a reboot.
    ///
    /// No handler blocks the posting (main) thread: releases and snapshot
    /// writes run on a serial background queue, on iOS inside
    /// `beginBackgroundTask`/`endBackgroundTask` so suspension waits for them.
    /// A release never waits for a generation; busy sessions are released
    /// when their reply ends. `onRelease` sees every report, on that queue.
    public init(
        engine: MoteEngine,
        snapshotDirectory: URL? = MoteLifecycle.defaultSnapshotDirectory,
        center: NotificationCenter = .default,
        signals: Signals = .platform,
        onRelease: (@Sendable (ReleaseReport) -> Void)? = nil
    ) throws {
        self.engine = engine
        self.center = center
        self.signals = signals
        self.onRelease = onRelease
        if let snapshotDirectory {
            try Self.prepare(snapshotDirectory)
            var policy = try engine.memoryPolicy
            policy.snapshotDir = snapshotDirectory.path
            try engine.setMemoryPolicy(policy)
        }
        let observe = { (name: Notification.Name, handle: @escaping @Sendable (MoteLifecycle) -> Void) in
            center.addObserver(forName: name, object: nil, queue: nil) { [weak self] _ in
                if let self { handle(self) }
            }
        }
        observers = [
            observe(signals.memoryWarning) { $0.release(.critical) },
            observe(signals.didEnterBackground) { lifecycle in
                lifecycle.lock.withLock { lifecycle.foreground = false }
                lifecycle.release(.background)
            },
            observe(signals.willEnterForeground) { lifecycle in
                lifecycle.lock.withLock { lifecycle.foreground = true }
            },
            observe(signals.thermalStateDidChange) { $0.applyThermalState() },
        ]
        // The device may already be hot when the engine is installed.
        applyThermalState()
    }

    deinit {
        uninstall()
    }

    public static var defaultSnapshotDirectory: URL? {
        FileManager.default.urls(for: .cachesDirectory, in: .userDomainMask).first?
            .appendingPathComponent("mote-sessions", isDirectory: true)
    }

    /// Stops observing; the engine keeps its current memory policy. Work
    /// already queued still runs.
    public func uninstall() {
        let removed = lock.withLock {
            defer { observers = [] }
            return observers
        }
        for observer in removed {
            center.removeObserver(observer)
        }
    }

    /// Returns once the releases and thermal updates queued so far have run
    /// (handlers return before their work is done).
    public func waitForPendingWork() async {
        await work.flush()
    }

    private static func prepare(_ directory: URL) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        #if canImport(UIKit)
        // Set on the directory, not per file: files created in it inherit the
        // class, including snapshots the core writes with plain POSIX calls.
        // Not `.complete`: a background release runs while the device may be
        // locked and must still be able to write.
        try FileManager.default.setAttributes(
            [.protectionKey: FileProtectionType.completeUntilFirstUserAuthentication],
            ofItemAtPath: directory.path
        )
        #endif
    }

    private func release(_ level: PressureLevel) {
        let engine = engine
        let onRelease = onRelease
        work.run("mote-release-\(level)") {
            // A notification handler has no one to throw to; a failed release
            // only means the memory stays until the next signal.
            guard let report = try? engine.onMemoryPressure(level) else { return }
            onRelease?(report)
        }
    }

    private func applyThermalState() {
        let engine = engine
        let read = signals.thermalState
        // Read on the queue, not in the handler: a burst of changes then ends
        // on the latest state.
        work.run("mote-thermal", keepAlive: false) {
            _ = try? engine.onThermalState(read())
        }
    }
}
