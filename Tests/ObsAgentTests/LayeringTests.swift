import Foundation
import Testing

/// The modules' dependencies point one way (docs/ARCHITECTURE.md): core ← catalog, http ← source
/// contract, aws ← sources ← delivery ← agent ← executables. Each module's imports are read from
/// its files; an import of a module of the same or a higher layer is an arrow against the
/// direction, and fails here.
@Suite struct LayeringTests {
    /// Each of our modules' layer: a module imports only modules of lower layers.
    static let layers: [String: Int] = [
        "CObsNet": 0, "CLibPQ": 0, "CCurl": 0, "CSystemd": 0, "CCrypto": 0, "CZlib": 0,
        "ObsCore": 1,
        "ObsCatalog": 2, "ObsNet": 2,
        "ObsSource": 3, "ObsAWS": 3,
        "ObsPostgres": 4, "ObsPrometheus": 4, "ObsXRay": 4, "ObsJournal": 4, "ObsStatsD": 4, "ObsEMF": 4,
        "ObsDelivery": 5,
        "ObsAgent": 6,
        "obs-agent": 7, "obsctl": 7,
    ]

    /// The arrows against the direction in `imports` (module → the modules it imports); modules
    /// not of ours (the toolchain's, packages') are not judged.
    static func violations(_ imports: [String: Set<String>]) -> [String] {
        var found: [String] = []
        for (module, imported) in imports.sorted(by: { $0.key < $1.key }) {
            guard let layer = layers[module] else {
                found.append("\(module): not placed in a layer (LayeringTests.layers)")
                continue
            }
            for other in imported.sorted() {
                guard let otherLayer = layers[other] else { continue }
                if otherLayer >= layer {
                    found.append("\(module) (layer \(layer)) imports \(other) (layer \(otherLayer))")
                }
            }
        }
        return found
    }

    /// Every module under Sources/ with the modules its Swift files import.
    static func importsOfTheTree() throws -> [String: Set<String>] {
        // This file is Tests/ObsAgentTests/LayeringTests.swift.
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let sources = root.appendingPathComponent("Sources")
        var imports: [String: Set<String>] = [:]
        for module in try FileManager.default.contentsOfDirectory(atPath: sources.path) {
            let directory = sources.appendingPathComponent(module)
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory),
                isDirectory.boolValue
            else { continue }
            var found = Set<String>()
            let files = FileManager.default.enumerator(atPath: directory.path)?.compactMap { $0 as? String } ?? []
            for file in files where file.hasSuffix(".swift") {
                let text = try String(contentsOf: directory.appendingPathComponent(file), encoding: .utf8)
                for line in text.split(separator: "\n") {
                    let words = line.split(separator: " ")
                    guard let at = words.firstIndex(of: "import"), at + 1 < words.count,
                        words[..<at].allSatisfy({ $0.hasPrefix("@") || ["public", "package", "internal"].contains($0) })
                    else { continue }
                    found.insert(String(words[at + 1].split(separator: ".").first ?? ""))
                }
            }
            imports[module] = found
        }
        return imports
    }

    @Test func noImportPointsAgainstTheDirection() throws {
        let imports = try Self.importsOfTheTree()
        #expect(imports.count >= 15, "found the modules: \(imports.keys.sorted())")
        #expect(
            imports["ObsJournal"]?.contains("ObsAWS") == true,
            "the imports are read: the journal writes PutLogEvents bodies")
        #expect(Self.violations(imports) == [])
    }

    @Test func theCheckFindsAnArrowAgainstTheDirection() {
        #expect(Self.violations(["ObsCore": ["ObsAgent"]]) == ["ObsCore (layer 1) imports ObsAgent (layer 6)"])
        #expect(
            Self.violations(["ObsJournal": ["ObsDelivery", "Logging"]]) == [
                "ObsJournal (layer 4) imports ObsDelivery (layer 5)"
            ])
        #expect(
            Self.violations(["ObsXRay": ["ObsPostgres"]]) == ["ObsXRay (layer 4) imports ObsPostgres (layer 4)"],
            "sources do not import each other")
        #expect(Self.violations(["ObsNew": []]) == ["ObsNew: not placed in a layer (LayeringTests.layers)"])
        #expect(Self.violations(["ObsDelivery": ["ObsAWS", "ObsSource", "FoundationEssentials"]]) == [])
    }
}
