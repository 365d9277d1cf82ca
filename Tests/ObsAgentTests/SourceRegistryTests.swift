import Foundation
import ObsAgent
import ObsCatalog
import ObsSource
import Testing

/// The registry is the one list of sources: the catalog, the config's sections and obsctl's
/// documents all come from it.
@Suite struct SourceRegistryTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    @Test func checkedInMetricsReferenceIsWhatObsctlGenerates() throws {
        let checkedIn = try String(contentsOf: Self.root.appendingPathComponent("docs/metrics.md"), encoding: .utf8)
        #expect(
            checkedIn == CatalogDocument.markdown(SourceRegistry.catalog),
            "docs/metrics.md is stale: run `obsctl catalog --format markdown`")
    }

    @Test func everySourceHasAKeyOfItsOwnAndEveryMetricInTheCatalog() {
        let keys = SourceRegistry.builtIn.map(\.key)
        #expect(Set(keys).count == keys.count)
        #expect(keys == ["postgres", "prometheus", "xray", "journald", "statsd", "emf"])
        for registration in SourceRegistry.builtIn {
            for definition in registration.metrics {
                #expect(SourceRegistry.catalog[definition.id] == definition, "\(registration.key): \(definition.id)")
                #expect(SourceRegistry.sources(emitting: definition).contains("sources.\(registration.key)"))
            }
        }
    }

    @Test func everySectionIsDocumented() throws {
        let config = try String(contentsOf: Self.root.appendingPathComponent("docs/CONFIG.md"), encoding: .utf8)
        for registration in SourceRegistry.builtIn {
            #expect(
                config.contains("## sources.\(registration.key)"),
                "docs/CONFIG.md has no section for sources.\(registration.key)")
        }
    }
}
