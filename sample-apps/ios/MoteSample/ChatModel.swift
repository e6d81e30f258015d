import Foundation
import Mote

/// One conversation with the app's engine, for SwiftUI. Main-actor isolated,
/// so the pieces of a reply are appended where SwiftUI reads them.
@MainActor
final class ChatModel: ObservableObject {
    @Published private(set) var turns: [Turn] = []
    @Published private(set) var isGenerating = false
    @Published private(set) var modelState: ModelState = .scanning
    @Published private(set) var notice: String?

    private let engines: EngineStore
    private var session: ChatSession?
    private var replyTask: Task<Void, Never>?
    private var files: [URL] = []

    private static let systemPrompt = "You are a helpful assistant. Answer briefly."
    private static let config = GenerationConfig(maxTokens: 512)

    init(engines: EngineStore) {
        self.engines = engines
        showModels(autoPick: true)
    }

    /// Rescans Documents; with `autoPick` a single model is loaded straight away.
    func showModels(autoPick: Bool = false) {
        files = ModelFiles.list()
        if files.isEmpty {
            modelState = .missing
        } else if autoPick, files.count == 1 {
            select(files[0])
        } else {
            modelState = .choosing(files)
        }
    }

    /// Back from the Files app or Finder: look again only while waiting for a model.
    func refreshModelsIfNeeded() {
        switch modelState {
        case .missing, .choosing: showModels(autoPick: true)
        default: break
        }
    }

    func select(_ url: URL) {
        replyTask?.cancel()
        session = nil
        turns = []
        isGenerating = false
        modelState = .loading(url.lastPathComponent)
        Task {
            do {
                let engine = try await engines.load(url)
                session = try engine.newSession(systemPrompt: Self.systemPrompt)
                let info = try engine.info
                let detail = String(
                    format: "%.0f M parameters · %.1f bits/weight · context %d",
                    Double(info.parameters) / 1e6, info.bitsPerWeight, Int(info.contextLength)
                )
                modelState = .ready(name: url.lastPathComponent, detail: "\(info.architecture) · \(detail)")
            } catch {
                modelState = .failed(Self.describe(error), files)
            }
        }
    }

    func send(_ text: String) {
        let message = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard let session, !message.isEmpty, !isGenerating else { return }
        turns.append(Turn(fromUser: true, text: message))
        let answer = Turn(fromUser: false, text: "")
        turns.append(answer)
        isGenerating = true
        notice = nil
        replyTask = Task {
            // Pieces arrive on a Mote worker thread; this stream hands them to
            // the main actor in order.
            let (pieces, sink) = AsyncStream.makeStream(of: String.self)
            let started = ReplyTimer()
            let display = Task { @MainActor () -> String? in
                var timer = started
                for await piece in pieces {
                    timer.onPiece()
                    append(piece, to: answer.id)
                }
                return timer.summary
            }
            var outcome: String?
            do {
                // `send` rather than `stream`: it returns only once the session is
                // idle, so when this task ends the next send or reset cannot be busy.
                let reply = try await session.send(message, config: Self.config) { sink.yield($0) }
                if reply.finish == .contextFull {
                    outcome = "the context is full: start a new chat"
                }
            } catch is CancellationError {
                // Stop (or leaving the chat) cancelled this task, and with it the reply.
                outcome = "stopped"
            } catch {
                outcome = Self.describe(error)
            }
            // `send` has returned, so no piece is still coming.
            sink.finish()
            let summary = await display.value
            finish(answer.id, footer: [summary ?? "no reply", outcome].compactMap { $0 }.joined(separator: " · "))
        }
    }

    func stop() {
        replyTask?.cancel()
    }

    func newChat() {
        let running = replyTask
        running?.cancel()
        Task {
            // The reply task ends after `send` returned, i.e. with the session
            // idle, so reset cannot fail with `.busy`: nothing to poll.
            await running?.value
            guard let session else { return }
            do {
                try session.reset()
                turns = []
                notice = nil
            } catch {
                notice = "Could not start a new chat: \(Self.describe(error))"
            }
        }
    }

    private func append(_ piece: String, to id: UUID) {
        guard let i = turns.firstIndex(where: { $0.id == id }) else { return }
        turns[i].text += piece
    }

    private func finish(_ id: UUID, footer: String) {
        if let i = turns.firstIndex(where: { $0.id == id }) {
            turns[i].footer = footer
        }
        isGenerating = false
    }

    private static func describe(_ error: Error) -> String {
        // No `.contextFull` here: the session keeps the default `.dropOldest`
        // policy, which forgets old turns instead of throwing it. A reply that
        // fills the context ends normally with `finish == .contextFull` (see send).
        switch error {
        case MoteError.promptTooLong:
            return "That message is too long for this model's context."
        case MoteError.modelUnreadable(let path, let reason):
            return "Cannot read \(path): \(reason)"
        case MoteError.insufficientMemory:
            return "Not enough free memory for this model."
        default:
            return error.localizedDescription
        }
    }
}
