import Foundation
#if canImport(UIKit)
import UIKit
#endif

/// Runs lifecycle work (releases, snapshot writes) on a serial background
/// queue, so a notification handler never blocks the main thread: a snapshot
/// is disk I/O, and a main thread stuck in `didEnterBackground` is what the
/// watchdog kills. On iOS each job runs inside a UIKit background task, so the
/// app is not suspended halfway through writing a snapshot.
final class BackgroundWork: Sendable {
    // Serial: a background release and a later memory warning must not run
    // interleaved, and `flush` relies on the order.
    private let queue = DispatchQueue(label: "dev.mote.lifecycle", qos: .utility)

    /// `keepAlive`: wrap the job in a UIKit background task (for work that
    /// must finish before suspension; a thermal update need not).
    func run(_ name: String, keepAlive: Bool = true, _ work: @escaping @Sendable () -> Void) {
        #if canImport(UIKit)
        guard keepAlive else { return queue.async(execute: work) }
        let task = BackgroundTask(name)
        queue.async {
            work()
            task.end()
        }
        #else
        queue.async(execute: work)
        #endif
    }

    /// Returns once every job queued before it has finished.
    func flush() async {
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            queue.async { done.resume() }
        }
    }
}

#if canImport(UIKit)
/// One `beginBackgroundTask`/`endBackgroundTask` pair. `UIApplication` is
/// main-actor only: begin runs synchronously when the notification arrives on
/// the main thread (UIKit posts lifecycle notifications there), otherwise as
/// soon as the main actor runs it. `end` may come first, from any thread, and
/// more than once (the expiration handler and the job both call it).
private final class BackgroundTask: @unchecked Sendable {
    private let lock = NSLock()
    private var id: UIBackgroundTaskIdentifier?
    private var ended = false

    init(_ name: String) {
        if Thread.isMainThread {
            MainActor.assumeIsolated { self.begin(name) }
        } else {
            Task { @MainActor in self.begin(name) }
        }
    }

    @MainActor
    private func begin(_ name: String) {
        // The expiration handler must end the task, or iOS kills the app.
        let id = UIApplication.shared.beginBackgroundTask(withName: name) { [self] in end() }
        let endNow = lock.withLock {
            self.id = id
            return ended
        }
        if endNow { end() }
    }

    func end() {
        let id: UIBackgroundTaskIdentifier? = lock.withLock {
            ended = true
            defer { self.id = nil }
            return self.id
        }
        guard let id, id != .invalid else { return }
        let raw = id.rawValue // an Int crosses to the main actor without Sendable questions
        Task { @MainActor in UIApplication.shared.endBackgroundTask(UIBackgroundTaskIdentifier(rawValue: raw)) }
    }
}
#endif
