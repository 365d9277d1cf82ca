// swift-tools-version:6.1
import PackageDescription

// The benchmarks are a package of their own so that CI's build of the main package does not
// build them (or the malloc interposer). Run them with `Benchmarks/run`.
let package = Package(
    name: "obs-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "obs", path: ".."),
        .package(url: "https://github.com/ordo-one/malloc-interposer", from: "1.6.1"),
    ],
    targets: [
        .executableTarget(
            name: "obs-benchmarks",
            dependencies: [
                .product(name: "ObsCore", package: "obs"),
                .product(name: "ObsAWS", package: "obs"),
                .product(name: "ObsNet", package: "obs"),
                .product(name: "ObsXRay", package: "obs"),
                .product(name: "ObsPrometheus", package: "obs"),
                .product(name: "ObsPostgres", package: "obs"),
                .product(name: "ObsJournal", package: "obs"),
                .product(name: "ObsDelivery", package: "obs"),
                .product(name: "CObsNet", package: "obs"),
                .product(name: "MallocInterposerSwift", package: "malloc-interposer"),
            ],
            swiftSettings: [.unsafeFlags(["-Ounchecked"])])
    ]
)
