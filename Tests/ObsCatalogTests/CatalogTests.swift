import Foundation
import ObsCore
import Testing

@testable import ObsCatalog

@Suite struct CatalogTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// docs/metrics.md is the whole catalog, the sources' own definitions included
    /// (`SourceRegistryTests` compares it whole); here, every built-in definition is in it.
    @Test func checkedInMetricsReferenceHasEveryBuiltInMetric() throws {
        let checkedIn = try String(contentsOf: Self.root.appendingPathComponent("docs/metrics.md"), encoding: .utf8)
        for definition in Catalog.builtIn.definitions {
            #expect(
                checkedIn.contains("| `\(definition.name)` |"),
                "docs/metrics.md lacks \(definition.name): run `obsctl catalog --format markdown`")
        }
    }

    static let alarms = AlarmGenerator(
        targets: AlarmTargets(
            services: ["user-service", "keycloak"], databases: [.init(instance: "db", database: "app")]))

    @Test(arguments: DashboardID.allCases)
    func widgetsSitOnTheGridWithoutOverlap(_ id: DashboardID) {
        let widgets = DashboardGenerator(catalog: .builtIn, alarms: Self.alarms).body(for: id).widgets
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

    @Test func everyPlacedMetricIsDrawnWithItsDimensionsAndDistributionsWithPercentiles() {
        let generator = DashboardGenerator(catalog: .builtIn)
        let expressions = DashboardID.allCases.flatMap { generator.body(for: $0).widgets }
            .compactMap(\.properties.metrics).flatMap { $0 }.flatMap { $0 }.map(\.expression)
        for definition in Catalog.builtIn.definitions where definition.placement != nil {
            let detailed = definition.publishedDimensionSets(apiRoutes: true)[0]
            let schema = ([definition.namespace] + detailed).joined(separator: ",")
            let mine = expressions.filter {
                $0.contains("{\(schema)}") && $0.contains("MetricName=\"\(definition.name)\"")
            }
            #expect(!mine.isEmpty, "\(definition.id) is drawn")
            if definition.kind == .distribution {
                for p in ["p50", "p90", "p99"] {
                    #expect(mine.contains { $0.contains("'\(p)'") }, "\(definition.id) \(p)")
                }
            }
        }
    }

    @Test(arguments: [true, false])
    func everySearchReadsASchemaTheAgentEmits(apiRoutes: Bool) {
        let generator = DashboardGenerator(catalog: .builtIn, alarms: Self.alarms, apiRoutes: apiRoutes)
        let expressions = DashboardID.allCases.flatMap { generator.body(for: $0).widgets }
            .compactMap(\.properties.metrics).flatMap { $0 }.flatMap { $0 }.map(\.expression).filter {
                $0.hasPrefix("SEARCH(")
            }
        #expect(expressions.count > 40)
        for expression in expressions {
            let schema = expression.drop { $0 != "{" }.dropFirst().prefix { $0 != "}" }.split(separator: ",").map(
                String.init)
            let name = String(expression.components(separatedBy: "MetricName=\"")[1].prefix { $0 != "\"" })
            let definition = Catalog.builtIn.definitions.first { $0.namespace == schema.first && $0.name == name }
            #expect(definition != nil, "\(expression)")
            guard let definition else { continue }
            let emitted = definition.publishedDimensionSets(apiRoutes: apiRoutes).map(Set.init)
            #expect(emitted.contains(Set(schema.dropFirst())), "\(expression)")
            if !apiRoutes { #expect(!schema.contains("Route"), "\(expression)") }
        }
    }

    @Test func perServiceDashboardsHaveAServiceSelector() throws {
        let generator = DashboardGenerator(catalog: .builtIn)
        for id in DashboardID.allCases {
            let body = generator.body(for: id)
            let searches = body.widgets.compactMap(\.properties.metrics).flatMap { $0 }.flatMap { $0 }.map(\.expression)
                .filter { $0.hasPrefix("SEARCH(") }
            if DashboardGenerator.isPerService(id) {
                let variable = try #require(body.variables?.first)
                #expect(
                    variable.type == "pattern" && variable.pattern == "__SERVICE__"
                        && variable.populateFrom == "Service")
                #expect(variable.search.contains(",Service") || variable.search.contains("Service,"))
                // Every search over a metric with a Service dimension follows the selector.
                let withService = searches.filter { $0.contains(",Service") }
                #expect(
                    !withService.isEmpty && withService.allSatisfy { $0.contains(" Service=\"__SERVICE__\"'") }, "\(id)"
                )
            } else {
                #expect(body.variables == nil)
                #expect(!searches.contains { $0.contains("__SERVICE__") })
            }
        }
    }

    @Test func ratiosAreMetricMathOverHiddenTerms() throws {
        let widgets = DashboardGenerator(catalog: .builtIn).body(for: .database).widgets
        let ratio = try #require(widgets.first { $0.properties.title == "Buffer cache hit ratio" })
        let metrics = try #require(ratio.properties.metrics).flatMap { $0 }
        #expect(metrics.map(\.visible) == [false, false, nil])
        #expect(metrics.last?.expression == "100*SUM(e1)/(SUM(e1)+SUM(e2))")
    }

    @Test func eachAreaShowsItsAlarmsAndWhatToDo() throws {
        let generator = DashboardGenerator(catalog: .builtIn, region: "eu-west-1", alarms: Self.alarms)
        let api = generator.body(for: .api).widgets
        let status = try #require(api.first { $0.type == "alarm" })
        #expect(status.properties.alarms?.first == "arn:aws:cloudwatch:eu-west-1:${AWS::AccountId}:alarm:obs-api")
        #expect(
            status.properties.alarms?.contains(
                "arn:aws:cloudwatch:eu-west-1:${AWS::AccountId}:alarm:obs-api-error-rate-keycloak") == true)
        let help = try #require(
            api.first { $0.type == "text" && $0.properties.markdown?.hasPrefix("## When an alarm is red") == true })
        #expect(help.properties.markdown?.contains("5xx rate above 5 %") == true)
        let overview = generator.body(for: .overview).widgets.first { $0.type == "alarm" }
        #expect(overview?.properties.alarms?.count == generator.alarms!.areas().count)
    }

    @Test func theSliceIsDefinedOnce() {
        let catalog = Catalog.builtIn
        for column in [
            "xact_commit", "xact_rollback", "blks_hit", "blks_read", "tup_returned", "tup_fetched", "tup_inserted",
            "tup_updated", "tup_deleted", "deadlocks", "temp_bytes",
        ] {
            let matches = catalog.definitions.filter { $0.source == "pg_stat_database.\(column)" }
            #expect(matches.count == 1, "\(column)")
            #expect(matches.first?.kind == .counter)
            #expect(matches.first?.dimensions == ["DBInstance", "Database"])
        }
        #expect(catalog["postgres.database.temp_bytes"]?.unit == .bytes)
        #expect(catalog["postgres.activity.connections"]?.dimensions == ["DBInstance", "Database", "State"])
        #expect(catalog.definitions.allSatisfy { !$0.description.isEmpty })
    }

    @Test func theJSONFormListsEveryMetric() throws {
        let entries =
            try JSONSerialization.jsonObject(with: Data(CatalogDocument.json(.builtIn).utf8)) as! [[String: Any]]
        #expect(entries.count == Catalog.builtIn.definitions.count)
        let latency = try #require(entries.first { $0["id"] as? String == "api.latency" })
        #expect(latency["rollups"] as? [[String]] == [["Service"]])
        #expect((latency["dashboard"] as? [String: String])?["statistic"] == "p99")
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
