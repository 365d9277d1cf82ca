import Foundation
import Logging
import ObsAWS
import ObsCore
import ObsNet
import ObsSource
import Testing

@testable import ObsDelivery

/// PutLogEvents and PutTraceSegments against the local endpoint, through the spool, read back
/// with boto3.
@Suite(.enabled(if: TestServices.hasAWS, "needs moto_server from scripts/test"))
struct LogAndTraceDeliveryTests {
    static func client(_ service: AWSService) -> AWSClient {
        AWSClient(
            service: service, endpoint: TestServices.awsEndpoint, region: "us-east-1",
            credentials: AWSCredentials(accessKeyID: "testing", secretAccessKey: "testing-secret"),
            transport: CurlTransport())
    }

    static func read(_ arguments: [String]) async throws -> Any {
        let script = TestServices.repositoryRoot.appendingPathComponent("scripts/lib/aws_read.py").path
        let (status, out, err) = try await ChildProcess.run(
            "/usr/bin/env", ["python3", script, TestServices.awsEndpoint] + arguments,
            environment: TestServices.cleanEnvironment())
        guard status == 0 else { throw ChildProcess.Failure(message: err) }
        return try JSONSerialization.jsonObject(with: Data(out.utf8))
    }

    @Test func logEventsLandInAGroupAndStreamTheSenderCreates() async throws {
        let metrics = SelfMetrics()
        let dir = TestServices.temporaryDirectory("spool")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let spool = try DiskSpool(directory: dir, maxBytes: 64 << 20, selfMetrics: metrics)
        let sink = CloudWatchLogSink(spool: spool, selfMetrics: metrics, logger: Logger(label: "test"))
        let group = "/ecs/shop-\(UUID().uuidString.prefix(8))"
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        var events = (0..<12_000).map {
            CloudWatchLogEvent(timestamp: now - Int64(12_000 - $0), message: "event \($0)")
        }
        events[5].message = "multi-line\r\nstack trace\n\tat Keycloak ü"
        events.append(CloudWatchLogEvent(timestamp: now - 20 * 86_400_000, message: "too old"))
        let ids = sink.spool(group: group, stream: "host-a/keycloak.service", events: events, now: now)
        #expect(ids.count == 2)
        #expect(metrics[.logEventTooOld] == 1)

        let shipper = SpoolShipper(
            spool: spool, sender: PutLogEventsSender(client: Self.client(.cloudWatchLogs)), selfMetrics: metrics,
            logger: Logger(label: "test"))
        await shipper.drain(within: 30)
        #expect(spool.pending().isEmpty)
        let landed = try await Self.read(["logs", group, "host-a/keycloak.service"]) as? [[String: Any]] ?? []
        #expect(landed.count == 12_000)
        #expect(landed.map { $0["message"] as? String ?? "" } == events.prefix(12_000).map(\.message))
    }

    @Test func traceSegmentsLandAndCanBeReadBack() async throws {
        let metrics = SelfMetrics()
        let dir = TestServices.temporaryDirectory("spool")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let spool = try DiskSpool(directory: dir, maxBytes: 64 << 20, selfMetrics: metrics)
        let sink = XRayTraceSink(spool: spool, selfMetrics: metrics, logger: Logger(label: "test"))
        let start = Date().timeIntervalSince1970
        let epoch = String(Int(start), radix: 16)
        let traces = (0..<3).map { "1-\(epoch)-\(String(format: "%024x", $0 + 1))" }
        let documents = (0..<60).map { i in
            #"{"id":"\#(String(format: "%016x", i + 1))","trace_id":"\#(traces[i % 3])","name":"user-service","start_time":\#(start),"end_time":\#(start + 0.05),"http":{"request":{"method":"GET","url":"/api/users/\#(i)"}}}"#
        }
        sink.publish(documents)
        sink.flush()
        let spooled = spool.pending()
        #expect(spooled.count == 1, "60 segments gathered into one batch of two calls")
        #expect(spooled.first.flatMap(spool.load)?.payload.split(separator: UInt8(ascii: "\n")).count == 2)
        let shipper = SpoolShipper(
            spool: spool, sender: PutTraceSegmentsSender(client: Self.client(.xRay), sink: sink), selfMetrics: metrics,
            logger: Logger(label: "test"))
        await shipper.drain(within: 30)
        #expect(spool.pending().isEmpty)
        let landed = try await Self.read(["traces"] + traces) as? [[String: Any]] ?? []
        #expect(Set(landed.compactMap { $0["id"] as? String }) == Set((0..<60).map { String(format: "%016x", $0 + 1) }))
    }

    @Test func rejectedLogEventsAreCountedByReason() {
        let body = Array(
            #"{"nextSequenceToken":"x","rejectedLogEventsInfo":{"tooNewLogEventStartIndex":8,"tooOldLogEventEndIndex":1,"expiredLogEventEndIndex":2}}"#
                .utf8)
        #expect(PutLogEventsSender.rejectedCounts(body, events: 10) == ["tooNew": 2, "tooOld": 3])
        #expect(PutLogEventsSender.rejectedCounts(Array(#"{"nextSequenceToken":"x"}"#.utf8), events: 10).isEmpty)
    }
}
