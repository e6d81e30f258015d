import Foundation

/// Models live in the app's Documents directory. The app's Info.plist sets
/// UIFileSharingEnabled and LSSupportsOpeningDocumentsInPlace, so that folder
/// shows up in Finder (iPhone ▸ Files ▸ Mote) and in the Files app
/// (On My iPhone ▸ Mote): copying a .gguf there is all it takes.
enum ModelFiles {
    static var documents: URL {
        FileManager.default.urls(for: .documentDirectory, in: .userDomainMask)[0]
    }

    static func list() -> [URL] {
        let urls = (try? FileManager.default.contentsOfDirectory(
            at: documents,
            includingPropertiesForKeys: [.fileSizeKey],
            options: [.skipsHiddenFiles]
        )) ?? []
        return urls
            .filter { $0.pathExtension.lowercased() == "gguf" }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
    }

    static func sizeDescription(_ url: URL) -> String {
        let bytes = (try? url.resourceValues(forKeys: [.fileSizeKey]).fileSize) ?? 0
        return ByteCountFormatter.string(fromByteCount: Int64(bytes), countStyle: .file)
    }
}
