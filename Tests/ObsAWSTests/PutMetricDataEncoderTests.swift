import Foundation
import ObsCore
import ObsNet
import Testing

@testable import ObsAWS

/// Every PutMetricData limit, checked on the encoded bodies themselves.
@Suite struct PutMetricDataEncoderTests {
    static func fields(_ body: String) -> [(String, String)] {
        body.split(separator: "&").map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            return (
                URIEncoding.decode(String(parts[0]), plusIsSpace: true),
                URIEncoding.decode(String(parts.count > 1 ? parts[1] : ""), plusIsSpace: true)
            )
        }
    }

    /// The datum indices of a body, and the highest Values index of any datum.
    static func shape(_ body: String) -> (datums: Int, maxValues: Int, maxDimensions: Int) {
        var datums = Set<String>()
        var maxValues = 0
        var maxDimensions = 0
        for (name, _) in fields(body) where name.hasPrefix("MetricData.member.") {
            let parts = name.split(separator: ".")
            datums.insert(String(parts[2]))
            if parts[3] == "Values" { maxValues = max(maxValues, Int(parts[5])!) }
            if parts[3] == "Dimensions" { maxDimensions = max(maxDimensions, Int(parts[5])!) }
        }
        return (datums.count, maxValues, maxDimensions)
    }

    func descriptor(_ name: String = "Latency", kind: MetricKind = .counter, namespace: String = "Obs/Test")
        -> MetricDescriptor
    {
        MetricDescriptor(namespace: namespace, name: name, unit: .milliseconds, kind: kind)
    }

    @Test func aCounterBecomesOneDatumWithEveryField() {
        let encoder = PutMetricDataEncoder(selfMetrics: SelfMetrics())
        let datum = MetricDatum(
            descriptor: descriptor(), dimensions: Dimensions([("Service", "user service"), ("Route", "/api/v1")]),
            timestamp: 1_764_198_000, value: .single(12.5))
        let requests = encoder.encode([datum])
        #expect(requests.count == 1)
        let fields = Dictionary(uniqueKeysWithValues: Self.fields(requests[0].body))
        #expect(fields["Action"] == "PutMetricData")
        #expect(fields["Version"] == "2010-08-01")
        #expect(fields["Namespace"] == "Obs/Test")
        #expect(fields["MetricData.member.1.MetricName"] == "Latency")
        #expect(fields["MetricData.member.1.Dimensions.member.1.Name"] == "Route")
        #expect(fields["MetricData.member.1.Dimensions.member.2.Value"] == "user service")
        #expect(fields["MetricData.member.1.Timestamp"] == "2025-11-26T23:00:00Z")
        #expect(fields["MetricData.member.1.Unit"] == "Milliseconds")
        #expect(fields["MetricData.member.1.StorageResolution"] == "60")
        #expect(fields["MetricData.member.1.Value"] == "12.5")
    }

    @Test func requestsHoldAtMost1000Datums() {
        let encoder = PutMetricDataEncoder(selfMetrics: SelfMetrics())
        let data = (0..<2500).map {
            MetricDatum(
                descriptor: descriptor(), dimensions: Dimensions([("N", "\($0)")]), timestamp: 0, value: .single(1))
        }
        let requests = encoder.encode(data)
        #expect(requests.map(\.datumCount) == [1000, 1000, 500])
        for request in requests {
            #expect(Self.shape(request.body).datums == request.datumCount)
            #expect(request.body.utf8.count <= CloudWatchLimits.maxRequestBytes)
        }
    }

    @Test func requestsStayUnderOneMegabyte() {
        let encoder = PutMetricDataEncoder(selfMetrics: SelfMetrics())
        let long = String(repeating: "v", count: 1024)
        let data = (0..<900).map { n in
            MetricDatum(
                descriptor: descriptor(),
                dimensions: Dimensions((0..<3).map { d in ("D\(d)", "\(long.dropLast(8))\(n)") }),
                timestamp: 0, value: .single(1))
        }
        let requests = encoder.encode(data)
        #expect(requests.count > 1)
        #expect(requests.reduce(0) { $0 + $1.datumCount } == 900)
        for request in requests { #expect(request.body.utf8.count <= CloudWatchLimits.maxRequestBytes) }
    }

    @Test func distributionsSplitAt150ValuesIntoDatumsOfTheSameMetricAndTimestamp() {
        let encoder = PutMetricDataEncoder(selfMetrics: SelfMetrics())
        let buckets = (1...400).map { (value: Double($0), count: 2.0) }
        let datum = MetricDatum(
            descriptor: descriptor(kind: .distribution), dimensions: Dimensions(), timestamp: 60,
            value: .distribution(StatisticSet(), buckets))
        let requests = encoder.encode([datum])
        #expect(requests.count == 1)
        let shape = Self.shape(requests[0].body)
        #expect(shape.datums == 3)
        #expect(shape.maxValues == 150)
        let fields = Self.fields(requests[0].body)
        #expect(fields.filter { $0.0.hasSuffix(".MetricName") }.allSatisfy { $0.1 == "Latency" })
        #expect(Set(fields.filter { $0.0.hasSuffix(".Timestamp") }.map(\.1)).count == 1)
        #expect(fields.filter { $0.0.contains(".Values.member.") }.count == 400)
        #expect(!fields.contains { $0.0.contains("StatisticValues") }, "Values and StatisticValues are exclusive")
    }

    @Test func nonFiniteAndOutOfRangeValuesAreCountedNeverSent() {
        let selfMetrics = SelfMetrics()
        let encoder = PutMetricDataEncoder(selfMetrics: selfMetrics)
        let data: [MetricDatum] = [
            .init(descriptor: descriptor("A"), dimensions: Dimensions(), timestamp: 0, value: .single(.nan)),
            .init(descriptor: descriptor("B"), dimensions: Dimensions(), timestamp: 0, value: .single(-.infinity)),
            .init(descriptor: descriptor("C"), dimensions: Dimensions(), timestamp: 0, value: .single(0x1p361)),
            .init(
                descriptor: descriptor("D", kind: .gauge), dimensions: Dimensions(), timestamp: 0,
                value: .statistics(StatisticSet(sampleCount: 1, sum: .infinity, minimum: 1, maximum: .infinity))),
            .init(descriptor: descriptor("E"), dimensions: Dimensions(), timestamp: 0, value: .single(3)),
        ]
        let requests = encoder.encode(data)
        #expect(requests.count == 1)
        #expect(requests[0].datumCount == 1)
        #expect(!requests[0].body.lowercased().contains("nan") && !requests[0].body.lowercased().contains("inf"))
        #expect(selfMetrics[.nonFiniteValue] == 3)
        #expect(selfMetrics[.valueOutOfRange] == 1)
    }

    @Test func dimensionsAreCappedAt30AndValuesAtTheirLength() {
        let encoder = PutMetricDataEncoder(selfMetrics: SelfMetrics())
        let datum = MetricDatum(
            descriptor: descriptor(),
            dimensions: Dimensions((0..<40).map { ("D\($0)", $0 == 0 ? String(repeating: "x", count: 2000) : "") }),
            timestamp: 0, value: .single(1))
        let body = encoder.encode([datum])[0].body
        #expect(Self.shape(body).maxDimensions == 30)
        for (name, value) in Self.fields(body) where name.contains(".Dimensions.member.") && name.hasSuffix(".Value") {
            #expect((1...1024).contains(value.count))
        }
    }

    @Test func namespacesGoToSeparateRequests() {
        let encoder = PutMetricDataEncoder(selfMetrics: SelfMetrics())
        let requests = encoder.encode([
            .init(descriptor: descriptor(namespace: "A"), dimensions: Dimensions(), timestamp: 0, value: .single(1)),
            .init(descriptor: descriptor(namespace: "B"), dimensions: Dimensions(), timestamp: 0, value: .single(1)),
        ])
        #expect(requests.map(\.namespace) == ["A", "B"])
    }
}

@Suite struct GzipTests {
    @Test func roundTripsAndShrinksAFormBody() {
        let body = Array(
            String(repeating: "&MetricData.member.1.Dimensions.member.1.Name=DBInstance", count: 2000).utf8)
        let compressed = Gzip.compress(body)
        #expect(compressed.prefix(2) == [0x1F, 0x8B], "a gzip header")
        #expect(compressed.count * 10 < body.count)
        #expect(Gzip.decompress(compressed) == body)
        #expect(Gzip.decompress(Gzip.compress([])) == [])
        #expect(Gzip.decompress(Array("not gzip".utf8)) == nil)
    }
}

@Suite struct HighResolutionEncodingTests {
    @Test func highResolutionMetricsCarryStorageResolution1() {
        let encoder = PutMetricDataEncoder(selfMetrics: SelfMetrics())
        let fast = MetricDescriptor(namespace: "T", name: "Fast", unit: .count, kind: .counter, storageResolution: 1)
        let odd = MetricDescriptor(namespace: "T", name: "Odd", unit: .count, kind: .counter, storageResolution: 5)
        let body = encoder.encode([
            MetricDatum(descriptor: fast, dimensions: Dimensions(), timestamp: 61, value: .single(1)),
            MetricDatum(descriptor: odd, dimensions: Dimensions(), timestamp: 60, value: .single(1)),
        ])[0].body
        #expect(body.contains("MetricData.member.1.StorageResolution=1&"))
        #expect(
            body.contains("MetricData.member.2.StorageResolution=60&"), "only 1 and 60 are valid; others are sent as 60"
        )
        #expect(body.contains("MetricData.member.1.Timestamp=1970-01-01T00%3A01%3A01Z"))
    }
}
