import SwiftUI

@main
struct MoteSampleApp: App {
    @StateObject private var chat = ChatModel(engines: EngineStore())
    @Environment(\.scenePhase) private var scenePhase

    var body: some Scene {
        WindowGroup {
            ChatView(model: chat)
        }
        .onChange(of: scenePhase) { phase in
            // Files copied in with the Files app or Finder appear while we are away.
            if phase == .active { chat.refreshModelsIfNeeded() }
        }
    }
}
