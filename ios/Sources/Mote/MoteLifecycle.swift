import Foundation
#if canImport(UIKit)
import UIKit
#endif

/// Connects a `MoteEngine` to the app's lifecycle through `NotificationCenter`:
/// a memory warning is `.critical` (the default policy unmaps the weights), entering
/// the background is `.background` (sessions are snapshotted and their KV caches
/// dropped). What each level frees is the engine's `MemoryPolicy`; the next
/// call reloads whatever was released, so the app has nothing to do on return.
public final class MoteLifecycle: @unchecked Sendable {
    /// The notifications to observe. UIKit's on iOS; elsewhere, names of the
    /// same meaning that a host (or a test) posts itself.
    public struct Signals: Sendable {
        public var memoryWarning: Notification.Name
        public var didEnterBackground: Notification.Name
        public var willEnterForeground: Notification.Name

        public init(memoryWarning: Notification.Name, didEnterBackground: Notification.Name, willEnterForeground: Notification.Name) {
            self.memoryWarning = memoryWarning
            self.didEnterBackground = didEnterBackground
            self.willEnterForeground = willEnterForeground
        }

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
    private let onRelease: (@Sendable (ReleaseReport) -> Void)?
    private let lock = NSLock()
    private var observers: [NSObjectProtocol] = []
    private var foreground = true

    /// True until the app enters the background, and again once it returns.
    public var isInForeground: Bool { lock.withLock { foreground } }

    /// Starts observing. With a `snapshotDirectory` (default: Caches/mote-sessions)
    /// the snapshot action writes sessions there, so a dropped KV cache comes
    /// back from disk instead of being recomputed.
    ///
    /// Releases run on the posting thread (UIKit posts on the main thread):
    /// memory must be free when a warning's handler returns, and work done
    /// inside `didEnterBackground` finishes before the app is suspended.
    /// A release never waits for a generation; busy sessions are released when
    /// their reply ends. `onRelease` sees every report.
    public init(
        engine: MoteEngine,
        snapshotDirectory: URL? = MoteLifecycle.defaultSnapshotDirectory,
        center: NotificationCenter = .default,
        signals: Signals = .platform,
        onRelease: (@Sendable (ReleaseReport) -> Void)? = nil
    ) throws {
        self.engine = engine
        self.center = center
        self.onRelease = onRelease
        if let snapshotDirectory {
            try FileManager.default.createDirectory(at: snapshotDirectory, withIntermediateDirectories: true)
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
        ]
    }

    deinit {
        uninstall()
    }

    public static var defaultSnapshotDirectory: URL? {
        FileManager.default.urls(for: .cachesDirectory, in: .userDomainMask).first?
            .appendingPathComponent("mote-sessions", isDirectory: true)
    }

    /// Stops observing; the engine keeps its current memory policy.
    public func uninstall() {
        let removed = lock.withLock {
            defer { observers = [] }
            return observers
        }
        for observer in removed {
            center.removeObserver(observer)
        }
    }

    private func release(_ level: PressureLevel) {
        // A notification handler has no one to throw to; a failed release only
        // means the memory stays until the next signal.
        guard let report = try? engine.onMemoryPressure(level) else { return }
        onRelease?(report)
    }
}
