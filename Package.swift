// swift-tools-version:6.1
import PackageDescription

/// Upcoming features every target of ours is built with (STYLE.md: strict, explicit code).
let strictness: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

/// The scrape parser's release build runs without the runtime's dynamic exclusivity checks: its
/// parser is a class whose state each line reads and writes, and the checks on those accesses were
/// a fifth of a scraping agent's CPU (BENCHMARKS.md, whole processes). One thread uses a parser at
/// a time; debug builds (the tests) and the fuzzers keep the checks.
let parserRelease: [SwiftSetting] = [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]

/// How the agent is linked on Linux, for its resident memory (BENCHMARKS.md, PostgreSQL section):
/// lld with packed relative relocations (DT_RELR, glibc 2.36+: Debian 12) keeps the binary
/// position-independent without a megabyte of relocation records mapped for its whole life; and the
/// agent exports no symbols but the GnuTLS hook (Sources/CObsNet/gnutls_skip.c), so the dynamic
/// linker does not page through 5,700 exported Swift symbols at each lookup.
let agentLinking: [LinkerSetting] = [
    .unsafeFlags(
        [
            "-use-ld=lld",
            "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs",
            "-Xlinker", "--no-export-dynamic",
            "-Xlinker", "--export-dynamic-symbol=_gnutls_global_init_skip",
        ],
        .when(platforms: [.linux]))
]

let package = Package(
    name: "obs",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "obs-agent", targets: ["obs-agent"]),
        .executable(name: "obsctl", targets: ["obsctl"]),
        .library(name: "ObsCore", targets: ["ObsCore"]),
        .library(name: "ObsCatalog", targets: ["ObsCatalog"]),
        .library(name: "ObsSource", targets: ["ObsSource"]),
        .library(name: "ObsNet", targets: ["ObsNet"]),
        .library(name: "ObsAWS", targets: ["ObsAWS"]),
        .library(name: "ObsXRay", targets: ["ObsXRay"]),
        .library(name: "ObsStatsD", targets: ["ObsStatsD"]),
        .library(name: "ObsEMF", targets: ["ObsEMF"]),
        .library(name: "ObsPrometheus", targets: ["ObsPrometheus"]),
        .library(name: "ObsPostgres", targets: ["ObsPostgres"]),
        .library(name: "ObsJournal", targets: ["ObsJournal"]),
        .library(name: "ObsDelivery", targets: ["ObsDelivery"]),
        .library(name: "ObsAgent", targets: ["ObsAgent"]),
        .library(name: "CObsNet", targets: ["CObsNet"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
    ],
    targets: [
        // C libraries from Debian, each imported by exactly one Swift module.
        .systemLibrary(
            name: "CLibPQ", pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"]), .brew(["libpq"])]),
        .systemLibrary(
            name: "CCurl", pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev"]), .brew(["curl"])]),
        .systemLibrary(
            name: "CSystemd", pkgConfig: "libsystemd",
            providers: [.apt(["libsystemd-dev"])]),
        .systemLibrary(
            name: "CCrypto", pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"]), .brew(["openssl@3"])]),
        .systemLibrary(
            name: "CZlib", pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"]), .brew(["zlib"])]),

        // Glue Swift cannot express (recvmmsg, mallopt), as SwiftNIO's CNIOLinux does.
        .target(name: "CObsNet"),

        // The core: observations, recorder, aggregator. Depends on nothing of ours.
        .target(name: "ObsCore", swiftSettings: strictness),
        // The metric catalog shared by the agent and obsctl.
        .target(name: "ObsCatalog", dependencies: ["ObsCore"], swiftSettings: strictness),
        // The source contract, the signal routes' protocols, source registration and config reading.
        .target(
            name: "ObsSource",
            dependencies: ["ObsCore", "ObsCatalog", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strictness),
        // Sources.
        .target(
            name: "ObsPostgres",
            dependencies: [
                "CLibPQ", "ObsCore", "ObsCatalog", "ObsSource", .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictness),
        .target(
            name: "ObsXRay",
            dependencies: [
                "ObsCore", "ObsCatalog", "ObsSource", "ObsNet", .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictness),
        .target(
            name: "ObsStatsD",
            dependencies: [
                "ObsCore", "ObsCatalog", "ObsSource", "ObsNet", "ObsAWS",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictness),
        .target(
            name: "ObsEMF",
            dependencies: [
                "ObsCore", "ObsCatalog", "ObsSource", "ObsNet", "ObsAWS",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictness),
        .target(
            name: "ObsPrometheus",
            dependencies: [
                "ObsCore", "ObsCatalog", "ObsSource", "ObsNet", .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictness + parserRelease),
        .target(
            name: "ObsJournal",
            dependencies: [
                "CSystemd", "CObsNet", "ObsCore", "ObsCatalog", "ObsSource", "ObsAWS",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictness),
        // Network I/O below the sources: the libcurl transport (every outbound request), gzip, the
        // retry policy, the loopback HTTP server for the agent's own endpoints, UDP listeners.
        .target(
            name: "ObsNet",
            dependencies: ["CCurl", "CZlib", "CObsNet", "ObsCore", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strictness),
        // AWS: SigV4, credentials, clients, request encoders and limits.
        .target(
            name: "ObsAWS",
            dependencies: [
                "CCrypto", "ObsCore", "ObsNet",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictness),
        // Sinks: where flushed metric data goes.
        .target(
            name: "ObsDelivery",
            dependencies: [
                "ObsAWS", "ObsNet", "ObsCore", "ObsSource", .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictness),
        // Configuration, wiring and lifecycle of the agent.
        .target(
            name: "ObsAgent",
            dependencies: [
                "CObsNet", "ObsCore", "ObsCatalog", "ObsSource", "ObsNet", "ObsPostgres", "ObsPrometheus", "ObsXRay",
                "ObsStatsD", "ObsEMF", "ObsAWS", "ObsDelivery", "ObsJournal",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictness),
        .executableTarget(
            name: "obs-agent",
            dependencies: [
                "ObsAgent", "ObsAWS", "ObsSource", .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strictness,
            linkerSettings: agentLinking),
        .executableTarget(
            name: "obsctl",
            dependencies: [
                "ObsCatalog", "ObsCore", "ObsSource", "ObsAgent", "ObsAWS",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strictness),

        .testTarget(name: "ObsCoreTests", dependencies: ["ObsCore"], swiftSettings: strictness),
        .testTarget(name: "ObsCatalogTests", dependencies: ["ObsCatalog", "ObsCore"], swiftSettings: strictness),
        .testTarget(
            name: "ObsAWSTests", dependencies: ["ObsAWS", "ObsNet", "ObsCore"],
            exclude: ["Fixtures"], swiftSettings: strictness),
        .testTarget(
            name: "ObsPostgresTests", dependencies: ["ObsPostgres", "ObsCatalog", "ObsCore"],
            swiftSettings: strictness),
        .testTarget(
            name: "ObsAgentTests",
            dependencies: [
                "ObsAgent", "ObsCore", "ObsCatalog", "ObsSource", "ObsDelivery", "ObsNet", "ObsAWS", "ObsJournal",
                "ObsPostgres", "ObsPrometheus", "ObsXRay", "ObsStatsD", "ObsEMF",
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: strictness),
        .testTarget(
            name: "ObsDeliveryTests",
            dependencies: [
                "ObsDelivery", "ObsAWS", "ObsNet", "ObsCore", .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictness),
        .testTarget(
            name: "ObsXRayTests", dependencies: ["ObsXRay", "ObsCore", "ObsCatalog"], exclude: ["Fixtures"],
            swiftSettings: strictness),
        .testTarget(
            name: "ObsPrometheusTests",
            dependencies: [
                "ObsPrometheus", "ObsCore", "ObsCatalog", "ObsNet", .product(name: "Logging", package: "swift-log"),
            ], exclude: ["Fixtures"],
            swiftSettings: strictness),
        .testTarget(
            name: "ObsJournalTests",
            dependencies: [
                "ObsJournal", "CObsNet", "ObsCore", "ObsCatalog", "ObsSource", "ObsAWS", "ObsNet", "ObsDelivery",
            ], exclude: ["Fixtures"],
            swiftSettings: strictness),
    ]
)
