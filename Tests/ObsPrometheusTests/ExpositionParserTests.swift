import Testing

@testable import ObsPrometheus

/// What the parser hands out, sample by sample.
@Suite struct ExpositionParserTests {
    struct Seen: Equatable {
        var family: String
        var type: MetricType
        var familyIndex: Int
        var name: String
        var suffix: SampleSuffix
        var labels: [String]
        var value: Double
        var timestamp: Double?

        static func == (a: Seen, b: Seen) -> Bool {
            a.family == b.family && a.type == b.type && a.familyIndex == b.familyIndex && a.name == b.name
                && a.suffix == b.suffix
                && a.labels == b.labels && (a.value == b.value || (a.value.isNaN && b.value.isNaN))
                && a.timestamp == b.timestamp
        }
    }

    static func parse(_ text: String, _ format: ExpositionFormat, strict: Bool = true) throws -> [Seen] {
        var seen: [Seen] = []
        try ExpositionParser(format: format, strict: strict).parse(Array(text.utf8)) { s in
            seen.append(
                Seen(
                    family: s.familyName.string, type: s.familyType, familyIndex: s.familyIndex, name: s.name.string,
                    suffix: s.suffix,
                    labels: (0..<s.labels.count).map { "\(s.labels[$0].name)=\(s.labels[$0].value)" }, value: s.value,
                    timestamp: s.timestamp))
        }
        return seen
    }

    @Test func micrometerOutputWithTrailingCommasAndSummaries() throws {
        let text = """
            # HELP hikaricp_connections_active Active connections
            # TYPE hikaricp_connections_active gauge
            hikaricp_connections_active{pool="HikariPool-1",} 3.0
            # HELP http_server_requests_seconds
            # TYPE http_server_requests_seconds summary
            http_server_requests_seconds_count{method="GET",status="200",uri="/api/products/{id}",} 12.0
            http_server_requests_seconds_sum{method="GET",status="200",uri="/api/products/{id}",} 0.5
            # TYPE http_server_requests_seconds_max gauge
            http_server_requests_seconds_max{method="GET",status="200",uri="/api/products/{id}",} 0.25

            """
        let seen = try Self.parse(text, .prometheusText)
        #expect(seen.count == 4)
        #expect(
            seen[0]
                == Seen(
                    family: "hikaricp_connections_active", type: .gauge, familyIndex: 0,
                    name: "hikaricp_connections_active",
                    suffix: .none, labels: ["pool=HikariPool-1"], value: 3, timestamp: nil))
        #expect(
            seen[1].family == "http_server_requests_seconds" && seen[1].suffix == .count && seen[1].type == .summary)
        #expect(seen[1].labels == ["method=GET", "status=200", "uri=/api/products/{id}"])
        #expect(seen[2].suffix == .sum && seen[2].value == 0.5 && seen[2].familyIndex == seen[1].familyIndex)
        #expect(
            seen[3].family == "http_server_requests_seconds_max" && seen[3].type == .gauge
                && seen[3].familyIndex != seen[1].familyIndex)
    }

    @Test func escapedLabelValuesAreUnescaped() throws {
        let seen = try Self.parse(#"a{x="q\"uo\\te\nnl",y="plain"} 1"# + "\n", .prometheusText)
        #expect(seen[0].labels == ["x=q\"uo\\te\nnl", "y=plain"])
        #expect(throws: ExpositionError.self) { try Self.parse(#"a{x="bad\t"} 1"# + "\n", .prometheusText) }
    }

    @Test func specialValuesAndTimestamps() throws {
        let seen = try Self.parse("a NaN\nb +Inf 1500\nc -inf\nd 1e3 -2000\ne 0.1\n", .prometheusText)
        #expect(seen[0].value.isNaN)
        #expect(seen[1].value == .infinity && seen[1].timestamp == 1.5)
        #expect(seen[2].value == -.infinity)
        #expect(seen[3].value == 1000 && seen[3].timestamp == -2)
        #expect(seen[4].value == 0.1)
    }

    @Test func numbersConvertExactly() {
        let cases = [
            "0.1", "1.7560473e+06", "0.013300656000000001", "9223372036854775808", "123456789012345678901234567890",
            "1e-300", "4.9e-324", "2.2250738585072014e-308", "0000000000000000000000001.2e-1", ".5", "5.", "-0.0",
        ]
        for text in cases {
            let span = Array(text.utf8)
            let value = span.withUnsafeBytes { NumberParsing.real(ByteSpan(base: $0.baseAddress, count: $0.count)) }
            #expect(value == Double(text), "\(text)")
        }
        for bad in ["", "+", "1e", "1.2.3", "0x10", "1_000", "e5", ".", "Inf"] {
            let span = Array(bad.utf8)
            #expect(
                span.withUnsafeBytes { NumberParsing.real(ByteSpan(base: $0.baseAddress, count: $0.count)) } == nil,
                "\(bad)")
        }
    }

    @Test func openMetricsCountersAndHistogramsFormOneFamilyEach() throws {
        let text = """
            # TYPE requests counter
            requests_total{code="200"} 10 1700000000.5
            requests_created{code="200"} 1600000000
            # TYPE latency_seconds histogram
            latency_seconds_bucket{le="0.1"} 3
            latency_seconds_bucket{le="+Inf"} 5
            latency_seconds_count 5
            latency_seconds_sum 1.5
            # EOF
            """
        let seen = try Self.parse(text, .openMetrics)
        #expect(
            seen.map(\.family) == [
                "requests", "requests", "latency_seconds", "latency_seconds", "latency_seconds", "latency_seconds",
            ])
        #expect(seen.map(\.suffix) == [.total, .created, .bucket, .bucket, .count, .sum])
        #expect(seen.map(\.familyIndex) == [0, 0, 1, 1, 1, 1])
        #expect(seen[0].timestamp == 1_700_000_000.5)
    }

    @Test func errorsNameTheLine() throws {
        do {
            _ = try Self.parse("a 1\nb{x=1} 2\n", .prometheusText)
            Issue.record("should fail")
        } catch let error as ExpositionError {
            #expect(error.line == 2)
            #expect(error.message == "label x's value must be in double quotes")
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test func contentTypeChoosesTheFormat() {
        #expect(
            ExpositionFormat(contentType: "application/openmetrics-text; version=1.0.0; charset=utf-8") == .openMetrics)
        #expect(ExpositionFormat(contentType: "text/plain; version=0.0.4; charset=utf-8") == .prometheusText)
        #expect(ExpositionFormat(contentType: nil) == .prometheusText)
    }

    @Test func theParserIsReusableAndSeesEachBodyAfresh() throws {
        let parser = ExpositionParser(format: .openMetrics)
        for _ in 0..<3 {
            var count = 0
            try parser.parse(Array("# TYPE a gauge\na 1\n# EOF\n".utf8)) { _ in count += 1 }
            #expect(count == 1)
        }
    }
}
