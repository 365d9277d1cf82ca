import Foundation
import Logging
import ObsAgent
import ObsCatalog
import ObsCore
import ObsSource
import Testing

@testable import ObsStatsD

/// The StatsD source: lines as the CloudWatch agent reads them, each type aggregated as it says,
/// every bad line counted and dropped.
@Suite struct StatsDTests {
    @Test func linesOfEveryTypeParse() throws {
        func parse(_ text: String) throws -> StatsDLine { try StatsDLine.parse(text).get() }
        let counter = try parse("orders.placed:2|c|@0.5|#service:checkout,env:prod")
        #expect(
            counter.name == "orders.placed" && counter.kind == .counter && counter.value == 2
                && counter.sampleRate == 0.5)
        #expect(
            counter.tags.map(\.name) == ["env", "service"] && counter.tags.map(\.value) == ["prod", "checkout"],
            "sorted by name")
        let gauge = try parse("queue.depth:-3|g")
        #expect(gauge.kind == .gauge && gauge.value == -3 && gauge.isDelta)
        #expect(try parse("queue.depth:7|g").isDelta == false)
        #expect(try parse("latency:12.5|ms").kind == .timer)
        #expect(try parse("latency:12.5|h").kind == .timer, "h is a timer, as the agent reads it")
        let set = try parse("users:alice|s")
        #expect(set.kind == .set && set.member == "alice")
        #expect(try parse("x:1|c|#flag,k:v").tags.map(\.name) == ["k"], "a tag without a value is ignored")
        #expect(try parse("x:1|c|#k:a,k:b").tags.map(\.value) == ["b"], "the last value of a tag given twice")
        #expect(try parse("ünïcode.metric:1|c").name == "ünïcode.metric")
    }

    @Test(arguments: [
        ("no colon", StatsDLine.Problem.noValue), ("x:1", .badType), ("x:1|q", .badType), (":1|c", .badName),
        ("x:nan|c", .badValue), ("x:inf|g", .badValue), ("x:0x10|c", .badValue), ("x:|c", .badValue),
        ("x:1e999|ms", .badValue),
        ("x:1|c|@0", .badSampleRate), ("x:1|c|@1.5", .badSampleRate), ("x:1|c|@abc", .badSampleRate),
        ("x:1|c|#:v", .badTag), ("x:1|c|#k:", .badTag), ("x:1|c|extra", .unknownField),
        ("\(String(repeating: "n", count: 256)):1|c", .badName), ("x\u{01}y:1|c", .badName),
        ("x:1|c|#" + (0..<31).map { "k\($0):v" }.joined(separator: ","), .tooManyTags),
        ("x:1|c|#k:" + String(repeating: "v", count: 1025), .badTag),
    ])
    func badLinesAreRefusedWithTheirReason(_ text: String, _ problem: StatsDLine.Problem) {
        #expect(StatsDLine.parse(text) == .failure(problem))
    }

    @Test func invalidUTF8IsRefused() {
        let bytes: [UInt8] = [0x78, 0xFF, 0x3A, 0x31, 0x7C, 0x63]
        bytes.withUnsafeBytes { #expect(StatsDLine.parse($0) == .failure(.notUTF8)) }
    }

    /// Sends `datagrams` to a running source and returns what one flush of the recorder holds.
    static func run(_ datagrams: [String], settings: StatsDSource.Settings = StatsDSource.Settings(), expectLines: Int)
        async throws -> (data: [MetricDatum], recorder: Recorder)
    {
        var settings = settings
        settings.port = 0
        let recorder = Recorder()
        let aggregator = Aggregator(recorder: recorder)
        let source = try StatsDSource(settings: settings, recorder: recorder, logger: Logger(label: "test"))
        let task = Task { await source.run() }
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(fd) }
        var target = sockaddr_in()
        target.sin_family = sa_family_t(AF_INET)
        target.sin_port = UInt16(source.port).bigEndian
        target.sin_addr.s_addr = inet_addr("127.0.0.1")
        for datagram in datagrams {
            let sent = withUnsafePointer(to: &target) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { to in
                    Array(datagram.utf8).withUnsafeBytes {
                        sendto(fd, $0.baseAddress, $0.count, 0, to, socklen_t(MemoryLayout<sockaddr_in>.size))
                    }
                }
            }
            #expect(sent == datagram.utf8.count)
        }
        let deadline = Date().addingTimeInterval(20)
        let dropped = { recorder.selfMetrics[.statsdLineInvalid] + recorder.selfMetrics[.statsdMetricLimit] }
        while source.linesRecorded + dropped() < expectLines, Date() < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        task.cancel()
        await task.value
        aggregator.drain()
        return (aggregator.flush(timestamp: 0), recorder)
    }

    @Test func eachTypeIsAggregatedAsTheCloudWatchAgentDoes() async throws {
        var settings = StatsDSource.Settings()
        settings.namespace = "Ecom/App"
        let lines = [
            "orders.placed:1|c|#service:checkout\norders.placed:2|c|@0.5|#service:checkout",
            "queue.depth:10|g\nqueue.depth:+5|g\nqueue.depth:-3|g",
            "checkout.latency:120|ms|#service:checkout\r\ncheckout.latency:80|ms|@0.25|#service:checkout",
            "users:alice|s\nusers:bob|s\nusers:alice|s",
            "not a line\nx:1|q\ny:nan|c",
        ]
        let (data, recorder) = try await Self.run(lines, settings: settings, expectLines: 13)
        func datum(_ name: String) -> MetricDatum? {
            data.first { $0.descriptor.name == name && $0.descriptor.namespace == "Ecom/App" }
        }
        #expect(datum("orders.placed")?.value == .single(5), "1 + 2 ÷ 0.5")
        #expect(datum("orders.placed")?.dimensions == Dimensions([("service", "checkout")]))
        #expect(datum("queue.depth")?.last == 12, "10, then +5, then -3")
        guard case .distribution(let stats, _) = datum("checkout.latency")?.value else {
            Issue.record("no timer distribution: \(data)")
            return
        }
        #expect(stats.sampleCount == 5, "one at rate 1, one standing for four at rate 0.25")
        #expect(stats.minimum == 80 && stats.maximum == 120)
        #expect(datum("checkout.latency")?.descriptor.unit == .milliseconds)
        #expect(datum("users")?.value == .single(2), "two distinct members")
        #expect(recorder.selfMetrics[.statsdLineInvalid] == 3)
        #expect(data.contains { $0.descriptor == StatsDMetrics.lines.descriptor && $0.value == .single(10) })
    }

    @Test func metricsPastTheLimitAreDroppedAndCounted() async throws {
        var settings = StatsDSource.Settings()
        settings.maxMetrics = 2
        let (data, recorder) = try await Self.run(
            ["a:1|c\nb:1|c\nc:1|c\na:1|c|#k:v\nd:1|g"], settings: settings, expectLines: 5)
        #expect(Set(data.filter { $0.descriptor.namespace == "StatsD" }.map(\.descriptor.name)) == ["a", "b"])
        #expect(
            recorder.selfMetrics[.statsdMetricLimit] == 2, "c and d; a with a new tag is a new series of a known metric"
        )
    }

    @Test func theConfigSectionIsReadAndCheckedByName() throws {
        let config = try AgentConfig.parse(
            yaml: "sources:\n  statsd:\n    address: 0.0.0.0:9125\n    namespace: Ecom/App\n    max_metrics: 50\n",
            environment: [:])
        let settings = try #require(config.sources["statsd"] as? StatsDSource.Settings)
        #expect(
            settings.host == "0.0.0.0" && settings.port == 9125 && settings.namespace == "Ecom/App"
                && settings.maxMetrics == 50)
        #expect(config.hasSources)
        #expect(
            throws: ConfigError(
                "sources.statsd.namespace",
                "a namespace is 1 to 255 characters and does not start with AWS/, got \"AWS/EC2\"")
        ) {
            try AgentConfig.parse(yaml: "sources:\n  statsd:\n    namespace: AWS/EC2\n", environment: [:])
        }
        #expect(throws: ConfigError.self) {
            try AgentConfig.parse(yaml: "sources:\n  statsd:\n    adress: :8125\n", environment: [:])
        }
    }
}
