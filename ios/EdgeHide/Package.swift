// swift-tools-version:5.9
// EdgeHide: encrypt camera frames with one-time keys on the device and
// classify them on a server that never sees the frame or the key.
//
// EdgeHideFFI.xcframework (the Rust library and its C header) is built by
// build-xcframework.sh on a Mac; see ../../README.md, "iOS".
import PackageDescription

let package = Package(
    name: "EdgeHide",
    platforms: [.iOS(.v15), .macOS(.v12)],
    products: [
        .library(name: "EdgeHide", targets: ["EdgeHide"]),
    ],
    targets: [
        .binaryTarget(name: "EdgeHideFFI", path: "EdgeHideFFI.xcframework"),
        .target(
            name: "EdgeHide",
            dependencies: ["EdgeHideFFI"],
            linkerSettings: [.linkedFramework("Metal"), .linkedFramework("CoreVideo")]
        ),
        .testTarget(name: "EdgeHideTests", dependencies: ["EdgeHide"]),
    ]
)
