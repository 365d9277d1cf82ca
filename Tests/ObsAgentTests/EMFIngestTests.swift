import Foundation
import Logging
import ObsAgent
import ObsCatalog
import ObsCore
import ObsSource
import Testing

@testable import ObsEMF

/// The EMF source: applications' Embedded Metric Format events over TCP and UDP become CloudWatch
/// metrics, read by the rules of the format; an event that breaks one is dropped whole and counted.
@Suite struct EMFIngestTests {
    static func event(
        _ metrics: String = #"[{"Name":"Latency","Unit":"Milliseconds"},{"Name":"Orders","Unit":"Count"}]"#,
        dimensions: String = #"[["Service"],["Service","Route"]]"#, namespace: String = "Ecom/Checkout",
        members: String = #""Service":"checkout","Route":"/api/orders","Latency":[12,15,200],"Orders":3"#
    ) -> String {
        #"{"_aws":{"Timestamp":1796661627000,"CloudWatchMetrics":[{"Namespace":"\#(namespace)","Dimensions":\#(dimensions),"Metrics":\#(metrics)}]},\#(members)}"#
    }

    static func parse(_ text: String) -> Result<EMFEvent, EMFEvent.Problem> {
        Array(text.utf8).withUnsafeBytes { EMFEvent.parse($0) }
    }

    @Test func aValidEventGivesEachMetricOfEachDimensionSet() throws {
        let event = try Self.parse(Self.event()).get()
        #expect(event.timestamp == 1_796_661_627_000)
        #expect(event.observations.count == 4, "two metrics × two dimension sets")
        let latency = try #require(event.observations.first { $0.name == "Latency" && $0.dimensions.count == 2 })
        #expect(
            latency.namespace == "Ecom/Checkout" && latency.unit == .milliseconds && latency.values == [12, 15, 200])
        #expect(
            latency.dimensions.map(\.name) == ["Service", "Route"]
                && latency.dimensions.map(\.value) == ["checkout", "/api/orders"])
        #expect(event.observations.first { $0.name == "Orders" }?.values == [3])
        let noDimensions = try Self.parse(Self.event(dimensions: "[]")).get()
        #expect(noDimensions.observations.count == 2 && noDimensions.observations.allSatisfy { $0.dimensions.isEmpty })
        let highResolution = try Self.parse(Self.event(#"[{"Name":"Latency","StorageResolution":1}]"#)).get()
        #expect(
            highResolution.observations.first?.storageResolution == 1
                && highResolution.observations.first?.unit == MetricUnit.none)
    }

    @Test(arguments: [
        ("[1,2]", EMFEvent.Problem.notJSON), ("not json", .notJSON), (#"{"a":1}"#, .noMetadata),
        (#"{"_aws":{"CloudWatchMetrics":[]}}"#, .badTimestamp),
        (#"{"_aws":{"Timestamp":"now","CloudWatchMetrics":[]}}"#, .badTimestamp),
        (#"{"_aws":{"Timestamp":1,"CloudWatchMetrics":[]}}"#, .noDirectives),
        (event(namespace: "AWS/EC2"), .badNamespace), (event(namespace: ""), .badNamespace),
        (event(dimensions: #"[["Missing"]]"#), .badDimensionValue),
        (event(dimensions: #"["Service"]"#), .badDimensions),
        (event(dimensions: "[[" + (0..<31).map { "\"D\($0)\"" }.joined(separator: ",") + "]]"), .badDimensions),
        (event(members: #""Service":7,"Route":"/","Latency":1,"Orders":1"#), .badDimensionValue),
        (event("[]"), .badMetrics), (event(#"[{"Unit":"Count"}]"#), .badMetrics),
        (event(#"[{"Name":"Latency","Unit":"Furlongs"}]"#), .badUnit),
        (event(#"[{"Name":"Latency","StorageResolution":5}]"#), .badResolution),
        (event(members: #""Service":"s","Route":"/","Latency":"fast","Orders":1"#), .badValue),
        (event(members: #""Service":"s","Route":"/","Latency":[],"Orders":1"#), .badValue),
        (event(members: #""Service":"s","Route":"/","Orders":1"#), .badValue),
        (event(members: #""Service":"s","Route":"/","Latency":1e400,"Orders":1"#), .notJSON),
        (
            event(
                members:
                    #""Service":"s","Route":"/","Latency":[\#((0..<101).map(String.init).joined(separator: ","))],"Orders":1"#
            ), .badValue
        ),
    ])
    func eventsThatBreakARuleAreRefusedWithTheReason(_ text: String, _ problem: EMFEvent.Problem) {
        #expect(Self.parse(text) == .failure(problem))
    }

    /// Sends `lines` to a running source over TCP (in two pieces, the second line split across
    /// them) and `datagrams` over UDP, and returns one flush of what was recorded.
    @Test func eventsOverTCPAndUDPBecomeMetricsAndBadOnesAreCounted() async throws {
        var settings = EMFSource.Settings()
        settings.port = 0
        settings.maxEventBytes = 4096
        let recorder = Recorder()
        let aggregator = Aggregator(recorder: recorder)
        let source = try EMFSource(settings: settings, recorder: recorder, logger: Logger(label: "test"))
        let task = Task { await source.run() }

        let good = Self.event()
        let user = Self.event(members: #""Service":"user","Route":"/api/users","Latency":[5],"Orders":1"#)
        let tooLong = Self.event(
            members:
                #""Service":"\#(String(repeating: "x", count: 900))","Route":"/","Latency":1,"Orders":1,"Pad":"\#(String(repeating: "p", count: 4000))""#
        )
        let stream = good + "\n" + "{broken\r\n" + tooLong + "\n" + user + "\r\n"
        let bytes = Array(stream.utf8)
        let cut = good.utf8.count + 20
        let tcp = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(source.port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(tcp, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        #expect(connected == 0)
        for piece in [bytes[..<cut], bytes[cut...]] {
            _ = piece.withUnsafeBytes { send(tcp, $0.baseAddress, $0.count, 0) }
            try await Task.sleep(for: .milliseconds(50))
        }
        close(tcp)
        let udp = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        for datagram in [
            Self.event(members: #""Service":"udp","Route":"/","Latency":[1,2],"Orders":5"#),
            Self.event(namespace: "AWS/Lambda"),
        ] {
            _ = withUnsafePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { to in
                    Array(datagram.utf8).withUnsafeBytes {
                        sendto(udp, $0.baseAddress, $0.count, 0, to, socklen_t(MemoryLayout<sockaddr_in>.size))
                    }
                }
            }
        }
        close(udp)
        let deadline = Date().addingTimeInterval(20)
        while source.eventsRecorded + recorder.selfMetrics[.emfEventInvalid] < 6, Date() < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        task.cancel()
        await task.value
        aggregator.drain()
        let data = aggregator.flush(timestamp: 0)

        #expect(source.eventsRecorded == 3, "two over TCP, one over UDP")
        #expect(
            recorder.selfMetrics[.emfEventInvalid] == 3,
            "the broken line, the one past max_event_bytes, the AWS/ namespace")
        func latency(_ service: String, route: Bool) -> MetricDatum? {
            data.first {
                $0.descriptor.namespace == "Ecom/Checkout" && $0.descriptor.name == "Latency"
                    && $0.dimensions["Service"] == service && ($0.dimensions["Route"] != nil) == route
            }
        }
        guard case .distribution(let stats, _)? = latency("checkout", route: true)?.value else {
            Issue.record("no checkout latency: \(data)")
            return
        }
        #expect(stats.sampleCount == 3 && stats.minimum == 12 && stats.maximum == 200)
        #expect(
            latency("checkout", route: false) != nil && latency("user", route: true) != nil
                && latency("udp", route: false) != nil)
        #expect(latency("checkout", route: true)?.descriptor.unit == .milliseconds)
        #expect(data.contains { $0.descriptor == EMFMetrics.events.descriptor && $0.value == .single(3) })
    }

    @Test func anEventOutsideTheListedNamespacesIsDroppedWhole() throws {
        var settings = EMFSource.Settings()
        settings.port = 0
        settings.namespaces = ["Ecom/Checkout"]
        let recorder = Recorder()
        let source = try EMFSource(settings: settings, recorder: recorder, logger: Logger(label: "test"))
        for event in [Self.event(), Self.event(namespace: "Other/App")] {
            Array(event.utf8).withUnsafeBytes { source.handle($0) }
        }
        #expect(source.eventsRecorded == 1)
        #expect(recorder.selfMetrics[.emfNamespaceRefused] == 1)
    }

    @Test func metricsPastTheLimitAreDroppedAndCounted() throws {
        var settings = EMFSource.Settings()
        settings.port = 0
        settings.maxMetrics = 1
        let recorder = Recorder()
        let source = try EMFSource(settings: settings, recorder: recorder, logger: Logger(label: "test"))
        // Latency and Orders: the first fits the limit, the second does not; a second event of the
        // same metric with other dimension values is a new series of a known metric.
        for event in [Self.event(), Self.event(members: #""Service":"user","Route":"/","Latency":5,"Orders":2"#)] {
            Array(event.utf8).withUnsafeBytes { source.handle($0) }
        }
        let aggregator = Aggregator(recorder: recorder)
        aggregator.drain()
        let data = aggregator.flush(timestamp: 0).filter { $0.descriptor.namespace == "Ecom/Checkout" }
        #expect(Set(data.map(\.descriptor.name)) == ["Latency"])
        #expect(Set(data.compactMap { $0.dimensions["Service"] }) == ["checkout", "user"])
        #expect(recorder.selfMetrics[.emfMetricLimit] == 4, "Orders in two dimension sets, in each of the two events")
    }

    @Test func theIAMPolicyAllowsTheIngestNamespaces() throws {
        let listed = try AgentConfig.parse(
            yaml: "sources:\n  statsd:\n    namespace: Ecom/App\n  emf:\n    namespaces: [Ecom/Checkout]\n",
            environment: [:])
        let namespaces = listed.configuredSources.flatMap { $0.registration.namespaces($0.settings) }
        #expect(Set(namespaces) == ["Ecom/App", "Ecom/Checkout"])
        let policy = IAMPolicy(needs: .init(namespaces: namespaces, xray: false)).document()
        let statements = try #require(policy["Statement"] as? [[String: Any]])
        #expect((statements.first?["Condition"] as? [String: Any])?["StringEquals"] != nil)
        let any = try AgentConfig.parse(yaml: "sources:\n  emf: {}\n", environment: [:])
        let open = any.configuredSources.flatMap { $0.registration.namespaces($0.settings) }
        #expect(open == ["*"])
        let anyStatements = try #require(
            IAMPolicy(needs: .init(namespaces: open, xray: false)).document()["Statement"] as? [[String: Any]])
        #expect(
            (anyStatements.first?["Condition"] as? [String: Any])?["StringLike"] != nil, "a pattern needs StringLike")
        #expect(
            throws: ConfigError(
                "sources.emf.namespaces[0]",
                "a namespace is 1 to 255 characters and does not start with AWS/, got \"AWS/EC2\"")
        ) {
            try AgentConfig.parse(yaml: "sources:\n  emf:\n    namespaces: [AWS/EC2]\n", environment: [:])
        }
    }

    @Test func theConfigSectionIsReadAndCheckedByName() throws {
        let config = try AgentConfig.parse(
            yaml: "sources:\n  emf:\n    address: 0.0.0.0:25888\n    udp: false\n", environment: [:])
        let settings = try #require(config.sources["emf"] as? EMFSource.Settings)
        #expect(settings.host == "0.0.0.0" && settings.port == 25888 && settings.tcp && !settings.udp)
        #expect(throws: ConfigError("sources.emf", "turn on tcp, udp or both")) {
            try AgentConfig.parse(yaml: "sources:\n  emf:\n    tcp: false\n    udp: false\n", environment: [:])
        }
    }
}
