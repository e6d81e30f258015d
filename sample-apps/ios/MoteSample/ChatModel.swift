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
                    format: "%.0f M parameters · %.1f bits/weight · context %u",
                    Double(info.parameters) / 1e6, info.bitsPerWeight, info.contextLength
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
            var timer: ReplyTimer?
            var footer: String
            do {
                await session.waitUntilIdle()
                timer = ReplyTimer()
                for try await piece in session.stream(message, config: Self.config) {
                    timer?.onPiece()
                    append(piece, to: answer.id)
                }
                // Cancelling the task ends the loop quietly (and stops the generation).
                footer = Task.isCancelled
                    ? [timer?.summary, "stopped"].compactMap { $0 }.joined(separator: " · ")
                    : timer?.summary ?? "no reply"
            } catch {
                footer = Self.describe(error)
            }
            finish(answer.id, footer: footer)
        }
    }

    func stop() {
        replyTask?.cancel()
    }

    func newChat() {
        let running = replyTask
        running?.cancel()
        Task {
            await running?.value
            guard let session else { return }
            await session.waitUntilIdle()
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
        switch error {
        case MoteError.ContextFull:
            return "The conversation filled the context: start a new chat."
        case MoteError.PromptTooLong:
            return "That message is too long for this model's context."
        case MoteError.ModelUnreadable(let path, let reason):
            return "Cannot read \(path): \(reason)"
        default:
            return error.localizedDescription
        }
    }
}

extension ChatSession {
    /// A cancelled stream ends once no more pieces can arrive, but the Mote
    /// worker needs up to about one token longer to let go of the session;
    /// until then `stream` and `reset` would fail with `.Busy`.
    func waitUntilIdle() async {
        let deadline = ContinuousClock.now + .seconds(5)
        while isGenerating, ContinuousClock.now < deadline {
            try? await Task.sleep(nanoseconds: 10_000_000)
        }
    }
}
