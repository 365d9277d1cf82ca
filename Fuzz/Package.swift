// swift-tools-version:6.1
import PackageDescription

// libFuzzer targets for the parsers that read what others write: a package of its own so that CI's
// build of the main package does not build them. `Fuzz/run` builds them with AddressSanitizer and
// libFuzzer's coverage instrumentation, links libFuzzer's driver, and runs each for a bounded time.
let package = Package(
    name: "obs-fuzz",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "obs", path: "..")
    ],
    targets: [
        .target(name: "FuzzSupport"),
        .executableTarget(
            name: "fuzz-keycloak",
            dependencies: [
                "FuzzSupport", .product(name: "ObsJournal", package: "obs"), .product(name: "ObsAWS", package: "obs"),
                .product(name: "ObsCore", package: "obs"),
            ]),
        .executableTarget(
            name: "fuzz-prometheus",
            dependencies: [
                "FuzzSupport", .product(name: "ObsPrometheus", package: "obs"),
                .product(name: "ObsCore", package: "obs"),
            ]),
        .executableTarget(name: "fuzz-xray", dependencies: ["FuzzSupport", .product(name: "ObsXRay", package: "obs")]),
        .executableTarget(
            name: "fuzz-config", dependencies: ["FuzzSupport", .product(name: "ObsAgent", package: "obs")]),
        .executableTarget(
            name: "fuzz-statsd", dependencies: ["FuzzSupport", .product(name: "ObsStatsD", package: "obs")]),
        .executableTarget(name: "fuzz-emf", dependencies: ["FuzzSupport", .product(name: "ObsEMF", package: "obs")]),
    ]
)
