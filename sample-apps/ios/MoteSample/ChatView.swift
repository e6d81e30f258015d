import SwiftUI

struct ChatView: View {
    @ObservedObject var model: ChatModel

    var body: some View {
        NavigationStack {
            content
                .navigationTitle(title)
                .navigationBarTitleDisplayMode(.inline)
                .toolbar {
                    if isReady {
                        ToolbarItem(placement: .navigationBarLeading) {
                            Button("Models") { model.showModels() }
                        }
                        ToolbarItem(placement: .navigationBarTrailing) {
                            Button("New chat") { model.newChat() }
                        }
                    }
                }
        }
    }

    private var isReady: Bool {
        if case .ready = model.modelState { return true }
        return false
    }

    private var title: String {
        if case .ready(let name, _) = model.modelState { return name }
        return "Mote"
    }

    @ViewBuilder
    private var content: some View {
        switch model.modelState {
        case .scanning:
            ProgressView("Looking for models…")
        case .loading(let name):
            ProgressView("Loading \(name)…")
        case .missing:
            ModelPickerView(files: [], error: nil, onPick: { model.select($0) }, onRescan: { model.showModels(autoPick: true) })
        case .choosing(let files):
            ModelPickerView(files: files, error: nil, onPick: { model.select($0) }, onRescan: { model.showModels() })
        case .failed(let message, let files):
            ModelPickerView(files: files, error: message, onPick: { model.select($0) }, onRescan: { model.showModels() })
        case .ready(_, let detail):
            VStack(spacing: 0) {
                Text(detail)
                    .font(.caption2)
                    .foregroundStyle(.secondary)
                    .padding(.vertical, 4)
                if let notice = model.notice {
                    Text(notice).font(.footnote).foregroundStyle(.red)
                }
                MessageList(turns: model.turns)
                InputBar(isGenerating: model.isGenerating, onSend: { model.send($0) }, onStop: { model.stop() })
            }
        }
    }
}

private struct MessageList: View {
    let turns: [Turn]

    var body: some View {
        ScrollViewReader { proxy in
            ScrollView {
                LazyVStack(spacing: 8) {
                    ForEach(turns) { turn in
                        Bubble(turn: turn).id(turn.id)
                    }
                }
                .padding(12)
            }
            // Follow the reply as it grows.
            .onChange(of: turns.last?.text) { _ in
                if let id = turns.last?.id { proxy.scrollTo(id, anchor: .bottom) }
            }
        }
    }
}

private struct Bubble: View {
    let turn: Turn

    var body: some View {
        VStack(alignment: turn.fromUser ? .trailing : .leading, spacing: 2) {
            Text(turn.text.isEmpty ? "…" : turn.text)
                .textSelection(.enabled)
                .padding(10)
                .background(
                    turn.fromUser ? Color.accentColor.opacity(0.18) : Color.secondary.opacity(0.12),
                    in: RoundedRectangle(cornerRadius: 12)
                )
            if let footer = turn.footer {
                Text(footer).font(.caption2).foregroundStyle(.secondary)
            }
        }
        .frame(maxWidth: .infinity, alignment: turn.fromUser ? .trailing : .leading)
    }
}

private struct InputBar: View {
    let isGenerating: Bool
    let onSend: (String) -> Void
    let onStop: () -> Void
    @State private var draft = ""

    var body: some View {
        HStack(alignment: .bottom, spacing: 8) {
            TextField("Message", text: $draft, axis: .vertical)
                .lineLimit(1...4)
                .textFieldStyle(.roundedBorder)
            if isGenerating {
                Button("Stop", action: onStop)
                    .buttonStyle(.bordered)
            } else {
                Button("Send") {
                    onSend(draft)
                    draft = ""
                }
                .buttonStyle(.borderedProminent)
                .disabled(draft.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty)
            }
        }
        .padding(8)
    }
}
