import Foundation

/// One bubble. An assistant turn grows while its reply streams.
struct Turn: Identifiable, Equatable {
    let id = UUID()
    let fromUser: Bool
    var text: String
    /// Under a finished reply: TTFT and speed, plus "stopped" or an error.
    var footer: String?
}

enum ModelState: Equatable {
    case scanning
    /// No model in Documents; the screen explains how to copy one in.
    case missing
    case choosing([URL])
    case loading(String)
    case ready(name: String, detail: String)
    case failed(String, [URL])
}
