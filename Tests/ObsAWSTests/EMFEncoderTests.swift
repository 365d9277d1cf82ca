import Foundation
import ObsCore
import Testing

@testable import ObsAWS

/// The EMF encoder against the reference library's golden output and the spec's rules
/// (fixtures: Fixtures/emf, see SOURCES.md).
@Suite struct EMFEncoderTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
        "Fixtures/emf")
    static let timestamp: Int64 = 1_700_000_000

    static func golden(_ name: String) throws -> [Any] {
        let text = try String(
            contentsOf: fixtures.appendingPathComponent("reference-lib-output/\(name).jsonl"), encoding: .utf8)
        return try text.split(separator: "\n").map { try JSONSerialization.jsonObject(with: Data($0.utf8)) }
    }

    /// JSON with dimension sets sorted, so that sets naming the same keys compare equal.
    static func normalized(_ value: Any) -> NSObject {
        if var object = value as? [String: Any] {
            if var aws = object["_aws"] as? [String: Any], var directives = aws["CloudWatchMetrics"] as? [[String: Any]]
            {
                for i in directives.indices {
                    if let sets = directives[i]["Dimensions"] as? [[String]] {
                        directives[i]["Dimensions"] = sets.map { $0.sorted() }
                    }
                }
                aws["CloudWatchMetrics"] = directives
                object["_aws"] = aws
            }
            return object as NSDictionary
        }
        return value as! NSObject
    }

    static func parse(_ lines: [String]) throws -> [Any] {
        try lines.map { try JSONSerialization.jsonObject(with: Data($0.utf8)) }
    }

    func datum(
        _ name: String, _ unit: MetricUnit, _ value: MetricDatum.Value,
        dims: [(String, String)] = [("Service", "orders")], resolution: Int = 60
    ) -> MetricDatum {
        let kind: MetricKind = {
            switch value {
            case .single: return .counter
            case .statistics: return .gauge
            case .distribution: return .distribution
            }
        }()
        return MetricDatum(
            descriptor: MetricDescriptor(
                namespace: "ObservabilityAgent", name: name, unit: unit, kind: kind, storageResolution: resolution),
            dimensions: Dimensions(dims), timestamp: Self.timestamp, value: value)
    }

    let encoder = EMFEncoder(selfMetrics: SelfMetrics())

    @Test func basicTwoMetricsMatchTheReference() throws {
        let dims = [("Service", "orders"), ("Instance", "i-0abc")]
        let lines = encoder.encode([
            datum(
                "hikaricp_connections_active", .count,
                .statistics(StatisticSet(sampleCount: 1, sum: 7, minimum: 7, maximum: 7)), dims: dims),
            datum(
                "latency", .milliseconds, .statistics(StatisticSet(sampleCount: 2, sum: 25, minimum: 10, maximum: 15)),
                dims: dims),
        ])
        let ours = try Self.parse(lines).map(Self.normalized)
        #expect(ours == (try Self.golden("basic-two-metrics")).map(Self.normalized))
    }

    @Test func highResolutionMatchesTheReference() throws {
        let lines = encoder.encode([datum("cpu", .percent, .single(42), resolution: 1)])
        #expect(
            (try Self.parse(lines)).map(Self.normalized) == (try Self.golden("high-resolution")).map(Self.normalized))
    }

    @Test func moreThan100MetricsSplitAsTheReferenceDoes() throws {
        let lines = encoder.encode((0..<105).map { datum("m\($0)", .count, .single(Double($0))) })
        #expect(lines.count == 2)
        #expect(
            (try Self.parse(lines)).map(Self.normalized) == (try Self.golden("105-metrics-split")).map(Self.normalized))
    }

    @Test func moreThan100ValuesSplitAsTheReferenceDoes() throws {
        var histogram = LogHistogram()
        for v in 0..<150 { histogram.add(Double(v)) }
        let lines = encoder.encode([datum("latency", .milliseconds, .distribution(StatisticSet(), histogram.buckets))])
        let ours = try Self.parse(lines) as! [[String: Any]]
        let golden = try Self.golden("150-values-split") as! [[String: Any]]
        #expect(ours.count == golden.count)
        for (a, b) in zip(ours, golden) {
            let x = a["latency"] as! [Double]
            let y = b["latency"] as! [Double]
            #expect(x.count == y.count)
            for (u, v) in zip(x, y) { #expect(abs(u - v) <= 0.01 * v * (1 + 1e-9), "bucket values within 1 %") }
            #expect(
                NSDictionary(dictionary: a["_aws"] as! [String: Any])
                    == NSDictionary(dictionary: b["_aws"] as! [String: Any]))
        }
    }

    /// The reference library writes `"Dimensions": []` for no dimensions, which the spec's schema
    /// refuses (minItems 1); we write one empty dimension set, which it accepts.
    @Test func noDimensionsIsOneEmptyDimensionSet() throws {
        let line = encoder.encode([datum("no_dims", .none, .single(1), dims: [])])[0]
        #expect(line.contains("\"Dimensions\": [[]]"))
        #expect(EMFValidator.violations(line).isEmpty)
    }

    @Test(arguments: [
        "101-metric-definitions", "101-values-array", "31-dimension-keys", "bad-unit", "dimension-value-1025-chars",
        "missing-dimension-target", "missing-timestamp", "nested-target", "numeric-dimension-value",
        "string-metric-value",
    ])
    func theValidatorRejectsEachInvalidDocument(_ name: String) throws {
        let text = try String(
            contentsOf: Self.fixtures.appendingPathComponent("invalid-authored/\(name).json"), encoding: .utf8)
        #expect(!EMFValidator.violations(text).isEmpty, "\(name) must be refused")
    }

    @Test func theValidatorAcceptsTheSpecExampleAndTheGoldens() throws {
        let example = try String(
            contentsOf: Self.fixtures.appendingPathComponent("valid/aws-docs-spec-example.json"), encoding: .utf8)
        #expect(EMFValidator.violations(example).isEmpty)
        for name in [
            "basic-two-metrics", "high-resolution", "105-metrics-split", "150-values-split",
            "two-dimension-sets-and-property",
        ] {
            let text = try String(
                contentsOf: Self.fixtures.appendingPathComponent("reference-lib-output/\(name).jsonl"), encoding: .utf8)
            for line in text.split(separator: "\n") {
                #expect(EMFValidator.violations(String(line)).isEmpty, "\(name)")
            }
        }
    }

    /// Inputs that push every limit: nothing the encoder writes breaks a rule.
    @Test func nothingEmittedBreaksARule() {
        let selfMetrics = SelfMetrics()
        let encoder = EMFEncoder(selfMetrics: selfMetrics)
        var histogram = LogHistogram()
        for v in 0..<1000 { histogram.add(Double(v) * 1.7) }
        let manyDimensions = (0..<31).map { ("D\($0)", "v\($0)") }
        var data = (0..<250).map { datum("m\($0)", .count, .single(Double($0))) }
        data.append(datum("wide", .count, .single(1), dims: manyDimensions))
        data.append(datum("long", .count, .single(1), dims: [("Route", String(repeating: "x", count: 1025))]))
        data.append(datum("empty", .count, .single(1), dims: [("Route", "")]))
        data.append(datum("latency", .milliseconds, .distribution(StatisticSet(), histogram.buckets)))
        data.append(datum("nan", .count, .single(.nan)))
        data.append(
            datum(
                "inf", .count, .statistics(StatisticSet(sampleCount: 1, sum: .infinity, minimum: 0, maximum: .infinity))
            ))
        let lines = encoder.encode(data)
        #expect(lines.count > 3)
        for line in lines {
            #expect(EMFValidator.violations(line).isEmpty, "\(line.prefix(200))")
        }
        #expect(selfMetrics[.nonFiniteValue] == 2)
        #expect(!lines.contains { $0.contains("\"nan\"") || $0.contains("\"inf\"") })
    }
}
