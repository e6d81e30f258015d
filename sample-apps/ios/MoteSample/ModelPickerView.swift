import SwiftUI

/// Picks a model, or explains how to copy one into Documents when there is none.
struct ModelPickerView: View {
    let files: [URL]
    let error: String?
    let onPick: (URL) -> Void
    let onRescan: () -> Void

    var body: some View {
        List {
            if let error {
                Section { Text(error).foregroundStyle(.red) }
            }
            if files.isEmpty {
                Section("No model yet") {
                    Text("Copy a GGUF chat model, for example SmolLM2-135M-Instruct.Q4_1.gguf, into this app's Documents folder:")
                    Text("• Mac: Finder ▸ your iPhone ▸ Files ▸ Mote, drag the file in.")
                    Text("• iPhone: Files app ▸ On My iPhone ▸ Mote, move or copy the file there.")
                    Text("docs/sample-apps.md has the details.").foregroundStyle(.secondary)
                }
            } else {
                Section("Choose a model") {
                    ForEach(files, id: \.self) { url in
                        Button {
                            onPick(url)
                        } label: {
                            VStack(alignment: .leading) {
                                Text(url.lastPathComponent)
                                Text(ModelFiles.sizeDescription(url)).font(.caption).foregroundStyle(.secondary)
                            }
                        }
                    }
                }
            }
            Section {
                Button("Look again", action: onRescan)
            }
        }
    }
}
