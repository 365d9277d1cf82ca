import Foundation
import Testing

@testable import ObsCatalog

@Suite struct PolicyAndCostTests {
    static let prices = try! JSONDecoder().decode(
        Prices.self,
        from: Data(contentsOf: CatalogTests.root.appendingPathComponent("packaging/cloudwatch-prices.json")))

    @Test func putMetricDataIsLimitedToTheNamespaces() throws {
        let document = IAMPolicy(needs: .init(namespaces: ["Obs/PostgreSQL", "Obs/Agent"], xray: false)).document()
        let statements = document["Statement"] as! [[String: Any]]
        #expect(statements.count == 2)
        let put = statements[0]
        #expect(put["Action"] as? String == "cloudwatch:PutMetricData")
        #expect(
            ((put["Condition"] as! [String: [String: [String]]])["StringEquals"]!["cloudwatch:namespace"]) == [
                "Obs/Agent", "Obs/PostgreSQL",
            ])
        #expect(!statements.contains { ($0["Action"] as? [String])?.contains("xray:PutTraceSegments") == true })
        let withXRay =
            IAMPolicy(
                needs: .init(
                    namespaces: ["Obs/Agent"], xray: true,
                    logGroupARNs: ["arn:aws:logs:eu-west-1:123456789012:log-group:/ecs/ecom"])
            )
            .document()["Statement"] as! [[String: Any]]
        #expect(
            withXRay.contains {
                ($0["Action"] as? [String]) == [
                    "xray:GetSamplingRules", "xray:GetSamplingTargets", "xray:PutTraceSegments",
                ]
            })
        let logs = try #require(withXRay.first { $0["Sid"] as? String == "ShipJournal" })
        #expect(
            logs["Resource"] as? [String] == [
                "arn:aws:logs:eu-west-1:123456789012:log-group:/ecs/ecom",
                "arn:aws:logs:eu-west-1:123456789012:log-group:/ecs/ecom:log-stream:*",
            ])
    }

    @Test func metricTiersAreAppliedInTurn() {
        #expect(Self.prices.metrics(0) == 0)
        #expect(abs(Self.prices.metrics(10_000) - 3_000) < 1e-6)
        #expect(abs(Self.prices.metrics(10_100) - (3_000 + 10)) < 1e-6)
        #expect(abs(Self.prices.metrics(2_000_000) - (3_000 + 24_000 + 37_500 + 20_000)) < 1e-6)
    }

    @Test func theEstimateCountsEverySeriesAndRollup() {
        var assumptions = CostAssumptions()
        assumptions.values["Route"] = 10
        assumptions.values["Table"] = 7
        let metrics = [APIMetrics.requests, APIMetrics.errors, APIMetrics.latency, PostgresMetrics.commits]
        var targets = AlarmTargets(
            services: ["a", "b"],
            databases: [.init(instance: "db", database: "x"), .init(instance: "db", database: "y")])
        targets.values["Table"] = 5
        let estimate = CostEstimate(
            metrics: metrics.map { ($0, $0.publishedDimensionSets(apiRoutes: true)) }
                + [(PostgresMetrics.tableSeqScans, [PostgresMetrics.tableSeqScans.dimensions])],
            targets: targets, flushInterval: 60, alarms: nil, dashboards: 6,
            readers: [SeriesSet(APIMetrics.requests, ["Service"]): ["alarm api-requests-anomaly"]],
            assumptions: assumptions, prices: Self.prices)
        // Requests and Latency: 2 services × 10 routes, plus one rollup per service; Errors: per
        // service only; Commits: 2 databases; table scans: 2 databases × 5 tables (the config's
        // top_tables wins over the assumption).
        #expect(estimate.seriesCount == 2 * (2 * 10 + 2) + 2 + 2 + 2 * 5)
        #expect(estimate.lines[0].quantity == Double(estimate.seriesCount))
        #expect(abs(estimate.lines[0].monthly - Double(estimate.seriesCount) * 0.30) < 1e-9)
        #expect(abs(estimate.lines[1].quantity - 30.4 * 24 * 60) < 1e-6, "one PutMetricData request a flush")
        #expect(estimate.lines.last?.monthly == 9, "three dashboards beyond the free three")
        let requests = estimate.metrics.filter { $0.metric.id == "api.requests" }
        #expect(requests.map(\.series) == [20, 2])
        #expect(requests[0].factors.map(\.0) == ["Service", "Route"], "Method is counted in Route")
        #expect(requests[1].readers == ["alarm api-requests-anomaly"])
        #expect(requests[0].readers.isEmpty)
        #expect(abs(estimate.metrics.reduce(0) { $0 + $1.monthly } - estimate.lines[0].monthly) < 1e-9)
        #expect(estimate.metrics.filter { $0.metric.id == "api.errors" }.map(\.dimensions) == [["Service"]])
        #expect(CostEstimate.describe(requests[0].factors) == "Service 2 × Route 10")
    }

    @Test func aGivenAssumptionWinsOverTheConfig() {
        var targets = AlarmTargets(services: [], databases: [.init(instance: "db", database: "x")])
        targets.values["Table"] = 5
        var assumptions = CostAssumptions()
        func tables() -> Int {
            CostEstimate(
                metrics: [(PostgresMetrics.tableSeqScans, [PostgresMetrics.tableSeqScans.dimensions])],
                targets: targets,
                flushInterval: 60, alarms: nil, dashboards: 0, assumptions: assumptions, prices: Self.prices
            ).seriesCount
        }
        #expect(tables() == 5, "the config's top_tables over the default")
        assumptions.values["Table"] = 2
        assumptions.given.insert("Table")
        #expect(tables() == 2, "--assume Table=2 over the config")
    }

    @Test func perRouteSeriesFollowTheSwitch() {
        #expect(APIMetrics.latency.publishedDimensionSets(apiRoutes: true) == [APIMetrics.dimensions, ["Service"]])
        #expect(APIMetrics.latency.publishedDimensionSets(apiRoutes: false) == [["Service"]])
        #expect(APIMetrics.errors.publishedDimensionSets(apiRoutes: true) == [["Service"]])
        #expect(
            PostgresMetrics.commits.publishedDimensionSets(apiRoutes: false) == [PostgresMetrics.commits.dimensions])
        #expect(
            Catalog.builtIn.rollupsOnly(apiRoutes: true) == [
                APIMetrics.errors.descriptor, APIMetrics.throttles.descriptor,
            ])
        #expect(Catalog.builtIn.rollupsOnly(apiRoutes: false).count == 5)
    }
}
