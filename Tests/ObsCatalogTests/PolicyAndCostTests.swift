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
        assumptions.routesPerService = 10
        assumptions.statusClasses = 2
        let estimate = CostEstimate(
            metrics: [APIMetrics.requests, APIMetrics.latency, PostgresMetrics.commits],
            targets: AlarmTargets(
                services: ["a", "b"],
                databases: [.init(instance: "db", database: "x"), .init(instance: "db", database: "y")]),
            flushInterval: 60, alarms: nil, dashboards: 6, assumptions: assumptions, prices: Self.prices)
        // Requests and Latency: 2 services × 10 routes × 2 classes, plus one rollup per service; Commits: 2 databases.
        #expect(estimate.lines[0].quantity == 2 * (2 * 10 * 2 + 2) + 2)
        #expect(abs(estimate.lines[0].monthly - 86 * 0.30) < 1e-9)
        #expect(abs(estimate.lines[1].quantity - 30.4 * 24 * 60) < 1e-6, "one PutMetricData request a flush")
        #expect(estimate.lines.last?.monthly == 9, "three dashboards beyond the free three")
    }
}
