import Foundation
import ObsCore
import Testing

@testable import ObsCatalog

@Suite struct CatalogTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test(arguments: DashboardID.allCases)
    func checkedInDashboardIsWhatObsctlGenerates(_ id: DashboardID) throws {
        let checkedIn = try Data(contentsOf: Self.root.appendingPathComponent("dashboards/\(id.fileName)"))
        let generated = try DashboardGenerator(catalog: .builtIn).json(for: id)
        #expect(checkedIn == generated, "dashboards/\(id.fileName) is stale: run `obsctl dashboards`")
    }

    @Test func checkedInMetricsReferenceIsWhatObsctlGenerates() throws {
        let checkedIn = try String(contentsOf: Self.root.appendingPathComponent("docs/metrics.md"), encoding: .utf8)
        #expect(checkedIn == CatalogDocument.markdown(.builtIn), "docs/metrics.md is stale: run `obsctl catalog --format markdown`")
    }

    @Test(arguments: DashboardID.allCases)
    func widgetsSitOnTheGridWithoutOverlap(_ id: DashboardID) {
        let widgets = DashboardGenerator(catalog: .builtIn).body(for: id).widgets
        #expect(widgets.count > 1)
        var cells = Set<[Int]>()
        for widget in widgets {
            #expect(widget.x >= 0 && widget.x + widget.width <= DashboardGenerator.gridColumns)
            for x in widget.x..<(widget.x + widget.width) {
                for y in widget.y..<(widget.y + widget.height) {
                    #expect(cells.insert([x, y]).inserted, "widgets overlap at \(x),\(y)")
                }
            }
        }
    }

    @Test func everyPlacedMetricIsDrawnWithItsDimensions() {
        let generator = DashboardGenerator(catalog: .builtIn)
        let expressions = DashboardID.allCases.flatMap { generator.body(for: $0).widgets }
            .compactMap(\.properties.metrics).flatMap { $0 }.flatMap { $0 }.map(\.expression)
        let placed = Catalog.builtIn.definitions.filter { $0.placement != nil }
        #expect(expressions.count == placed.count)
        for definition in placed {
            let schema = ([definition.namespace] + definition.dimensions).joined(separator: ",")
            #expect(expressions.contains { $0.contains("{\(schema)}") && $0.contains("MetricName=\"\(definition.name)\"") })
        }
    }

    @Test func theSliceIsDefinedOnce() {
        let catalog = Catalog.builtIn
        for column in ["xact_commit", "xact_rollback", "blks_hit", "blks_read", "tup_returned", "tup_fetched", "tup_inserted",
            "tup_updated", "tup_deleted", "deadlocks", "temp_bytes"]
        {
            let matches = catalog.definitions.filter { $0.source == "pg_stat_database.\(column)" }
            #expect(matches.count == 1, "\(column)")
            #expect(matches.first?.kind == .counter)
            #expect(matches.first?.dimensions == ["DBInstance", "Database"])
        }
        #expect(catalog["postgres.database.temp_bytes"]?.unit == .bytes)
        #expect(catalog["postgres.activity.connections"]?.dimensions == ["DBInstance", "Database", "State"])
        #expect(catalog.definitions.allSatisfy { !$0.description.isEmpty })
    }

    @Test func duplicatesAreRefused() {
        let a = PostgresMetrics.commits
        var b = PostgresMetrics.rollbacks
        b.id = a.id
        #expect(throws: CatalogError.duplicateID(a.id)) { try Catalog([a, b]) }
        var c = PostgresMetrics.rollbacks
        c.descriptor.name = a.name
        #expect(throws: CatalogError.duplicateName(a.namespace, a.name)) { try Catalog([a, c]) }
    }
}
