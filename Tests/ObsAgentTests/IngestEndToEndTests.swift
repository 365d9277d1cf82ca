import Foundation
import Testing

/// The agent binary taking applications' StatsD lines and EMF events, as the CloudWatch agent
/// does, and sending the metrics to the local CloudWatch endpoint, read back with boto3.
@Suite(
    .enabled(
        if: TestServices.hasAWS && TestServices.hasBinary, "needs scripts/test: moto_server and the built obs-agent"),
    .serialized)
struct IngestEndToEndTests {
    /// Sends `payload` to 127.0.0.1:`port` over UDP, or over TCP when `tcp`.
    static func send(_ payload: String, port: Int, tcp: Bool) {
        let fd = socket(AF_INET, Int32((tcp ? SOCK_STREAM : SOCK_DGRAM).rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bytes = Array(payload.utf8)
        withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { to in
                if tcp {
                    #expect(connect(fd, to, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0)
                    #expect(bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, 0) } == bytes.count)
                } else {
                    #expect(
                        bytes.withUnsafeBytes {
                            sendto(fd, $0.baseAddress, $0.count, 0, to, socklen_t(MemoryLayout<sockaddr_in>.size))
                        } == bytes.count)
                }
            }
        }
    }

    /// The port a source said it listens on (`<message>` log line's address).
    static func port(_ agent: ChildProcess, _ message: String) async throws -> Int {
        #expect(await agent.waitForOutput(containing: message, timeout: 30), "\(agent.stdout)\(agent.stderr)")
        let line = agent.stdout.split(separator: "\n").first { $0.contains(message) } ?? ""
        let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String]
        return Int(try #require(object?["address"]).split(separator: ":").last ?? "") ?? 0
    }

    @Test func statsdLinesAndEMFEventsLandInCloudWatch() async throws {
        let service = "ingest-\(UUID().uuidString.prefix(8))"
        let config = try TestServices.writeTemporary(
            """
            agent:
              flush_interval: 10s
              health_address: off
            metrics:
              sink: cloudwatch
            sources:
              statsd:
                address: 127.0.0.1:0
                namespace: Ecom/StatsD
              emf:
                address: 127.0.0.1:0
            """)
        defer { try? FileManager.default.removeItem(atPath: config) }
        let agent = try ChildProcess(
            TestServices.agentPath, ["--config", config],
            environment: TestServices.cleanEnvironment(TestServices.awsEnvironment))
        let statsd = try await Self.port(agent, "statsd listening")
        let emf = try await Self.port(agent, "emf listening")

        Self.send(
            "orders.placed:3|c|#service:\(service)\norders.placed:1|c|@0.5|#service:\(service)\nnot a line",
            port: statsd, tcp: false)
        let event =
            #"{"_aws":{"Timestamp":1796661627000,"CloudWatchMetrics":[{"Namespace":"Ecom/EMF","Dimensions":[["Service"]],"Metrics":[{"Name":"Latency","Unit":"Milliseconds"}]}]},"Service":"\#(service)","Latency":[10,20,30]}"#
        Self.send(event + "\n", port: emf, tcp: true)
        Self.send(event, port: emf, tcp: false)
        // Ended by SIGTERM once everything is sent (a loaded machine may take longer than any fixed
        // window to get here): its last flush carries what it read.
        try await Task.sleep(for: .seconds(1))
        kill(agent.process.processIdentifier, SIGTERM)
        #expect(await agent.wait(timeout: 60) == 0, "\(agent.stdout.suffix(3000))")

        let orders = try await LandedMetric.read(
            namespace: "Ecom/StatsD", dimension: "service=\(service)", metric: "orders.placed")
        #expect(orders.map(\.total).reduce(0, +) == 5, "3 + 1 ÷ 0.5: \(orders)")
        let latency = try await LandedMetric.read(
            namespace: "Ecom/EMF", dimension: "Service=\(service)", metric: "Latency")
        let count = latency.flatMap(\.datapoints).compactMap(\.sample_count).reduce(0, +)
        #expect(count == 6, "three values from the TCP event and three from the UDP one: \(latency)")
        #expect(latency.first?.unit == "Milliseconds", "the event's unit reaches CloudWatch")
        let dropped = try await LandedMetric.read(
            namespace: "Obs/Agent", dimension: "Reason=statsd_line_invalid", metric: "Dropped")
        #expect(dropped.map(\.total).reduce(0, +) >= 1, "the bad StatsD line is counted")
    }
}
