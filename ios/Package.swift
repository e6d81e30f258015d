// swift-tools-version:6.0
// Mote: on-device LLM chat for iOS and macOS.
//
// Targets:
//   MoteFFI       the C interface of the Rust library: an XCFramework on Apple
//                 platforms (scripts/build-ios.sh), a system library over the
//                 host-built libmote_ffi.so on Linux (scripts/test-swift.sh).
//   MoteBindings  UniFFI-generated Swift (scripts/gen-bindings.sh writes it).
//   Mote          the hand-written async API apps import.
import Foundation
import PackageDescription

#if os(Linux)
// Linux exists only to run the tests on CI hosts without Xcode.
let libDir = ProcessInfo.processInfo.environment["MOTE_FFI_LIB_DIR"]
    ?? Context.packageDirectory + "/../target/debug"
let ffiTarget: Target = .systemLibrary(name: "MoteFFI", path: "Sources/MoteFFI")
let ffiLinker: [LinkerSetting] = [
    .linkedLibrary("mote_ffi"),
    .unsafeFlags(["-L", libDir, "-Xlinker", "-rpath", "-Xlinker", libDir]),
]
#else
let ffiTarget: Target = .binaryTarget(name: "MoteFFI", path: "MoteFFI.xcframework")
let ffiLinker: [LinkerSetting] = []
#endif

let package = Package(
    name: "Mote",
    platforms: [.iOS(.v15), .macOS(.v12)],
    products: [
        .library(name: "Mote", targets: ["Mote"]),
    ],
    targets: [
        ffiTarget,
        .target(
            name: "MoteBindings",
            dependencies: ["MoteFFI"],
            path: "Sources/MoteBindings",
            exclude: ["README.md"],
            linkerSettings: ffiLinker
        ),
        .target(name: "Mote", dependencies: ["MoteBindings"], path: "Sources/Mote"),
        .testTarget(name: "MoteTests", dependencies: ["Mote"], path: "Tests/MoteTests"),
    ],
    swiftLanguageModes: [.v6]
)
