import Foundation
import Logging
import ObsAWS
import ObsCore
import ObsNet
import Synchronization
import Testing

@testable import ObsDelivery

/// An X-Ray endpoint that answers from a script (one status a call, 200 once the script is done)
/// and records the segment ids of each call it was sent.
final class ScriptedXRayTransport: HTTPTransport, @unchecked Sendable {
    private let state: Mutex<(script: [Int], calls: [[String]])>

    init(_ statuses: [Int]) {
        state = Mutex((statuses, []))
    }

    func send(_ request: HTTPRequest) async throws(TransportError) -> HTTPResponse {
        let object = try? JSONSerialization.jsonObject(with: Data(request.body)) as? [String: [String]]
        let ids = (object?["TraceSegmentDocuments"] ?? []).compactMap {
            (try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])?["id"] as? String
        }
        let status = state.withLock { state in
            state.calls.append(ids)
            return state.script.isEmpty ? 200 : state.script.removeFirst()
        }
        let body: String
        switch status {
        case 200: body = #"{"UnprocessedTraceSegments":[]}"#
        case 400: body = #"{"__type":"InvalidRequestException","message":"bad segment"}"#
        default: body = #"{"__type":"ServiceUnavailableException","message":"down"}"#
        }
        return HTTPResponse(status: status, body: Array(body.utf8))
    }

    var calls: [[String]] { state.withLock { $0.calls } }
}

@Suite struct TraceSpoolTests {
    static func documents(_ range: Range<Int>) -> [String] {
        range.map {
            #"{"id":"\#(String(format: "%016x", $0))","trace_id":"1-5759e988-bd862e3fe1be46a994272793","start_time":1,"end_time":2}"#
        }
    }

    /// A shipper sending `sink`'s spool to `transport` through the X-Ray sender.
    static func shipper(_ sink: XRayTraceSink, _ metrics: SelfMetrics, _ transport: ScriptedXRayTransport)
        -> SpoolShipper
    {
        let client = AWSClient(
            service: .xRay, endpoint: "http://127.0.0.1:9", region: "us-east-1",
            credentials: AWSCredentials(accessKeyID: "testing", secretAccessKey: "testing-secret"), transport: transport
        )
        return SpoolShipper(
            spool: sink.spool, sender: PutTraceSegmentsSender(client: client, sink: sink), selfMetrics: metrics,
            logger: Logger(label: "test"))
    }

    static func sink(_ metrics: SelfMetrics, maxQueuedBytes: Int = 32 << 20) throws -> (XRayTraceSink, String) {
        let directory = NSTemporaryDirectory() + "obs-trace-spool-\(UUID().uuidString)"
        let spool = try DiskSpool(directory: directory, maxBytes: 64 << 20, selfMetrics: metrics)
        return (
            XRayTraceSink(
                spool: spool, selfMetrics: metrics, logger: Logger(label: "test"), maxQueuedBytes: maxQueuedBytes),
            directory
        )
    }

    @Test func publishedSegmentsGatherIntoBatchesOfUpToTwentyCalls() throws {
        let metrics = SelfMetrics()
        let (sink, directory) = try Self.sink(metrics)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // 2,120 segments in batches of 50, as the receiver hands them on, faster than one write.
        for start in stride(from: 0, to: 2_120, by: 50) { sink.publish(Self.documents(start..<min(start + 50, 2_120))) }
        sink.flush()
        let batches = sink.spool.pending().compactMap(sink.spool.load)
        #expect(batches.reduce(0) { $0 + $1.items } == 2_120)
        #expect(batches.count < 2_120 / 50, "writes carry several calls each")
        for batch in batches {
            let calls = batch.payload.split(separator: UInt8(ascii: "\n"))
            #expect(calls.count <= XRayTraceSink.maxCallsPerBatch)
            #expect(calls.count == (batch.items + 49) / 50, "all calls but the last hold 50")
        }
    }

    @Test func aSinkBehindItsQueueBoundCountsWhatItDrops() throws {
        let metrics = SelfMetrics()
        // A bound below one batch of 50 (about 5 kB) and above one of 30 (about 3 kB).
        let (sink, directory) = try Self.sink(metrics, maxQueuedBytes: 4_000)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        for start in stride(from: 0, to: 500, by: 50) { sink.publish(Self.documents(start..<start + 50)) }
        sink.flush()
        #expect(metrics.snapshot()[.spoolBehind, default: 0] == 500, "each batch over the bound is dropped and counted")
        #expect(sink.spool.pending().isEmpty)
        sink.publish(Self.documents(500..<530))
        sink.flush()
        #expect(
            sink.spool.pending().compactMap(sink.spool.load).map(\.items) == [30], "a batch within the bound is spooled"
        )
        #expect(metrics.snapshot()[.spoolBehind, default: 0] == 500)
    }

    @Test func aCallRefusedForGoodIsCountedAndTheOthersGoOn() async throws {
        let metrics = SelfMetrics()
        let (sink, directory) = try Self.sink(metrics)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        sink.publish(Self.documents(0..<175))
        sink.flush()
        let transport = ScriptedXRayTransport([200, 400])
        let shipper = Self.shipper(sink, metrics, transport)
        await shipper.drain(within: 20)
        #expect(sink.spool.pending().isEmpty)
        #expect(transport.calls.map(\.count) == [50, 50, 50, 25], "the calls after the refused one were sent")
        #expect(metrics.snapshot()[.batchRejected, default: 0] == 50, "the refused call's segments, counted")
        #expect(metrics.snapshot()[.requestRetried, default: 0] == 0)
    }

    @Test func aFailedCallAfterDeliveredOnesLeavesOnlyTheRestToRetry() async throws {
        let metrics = SelfMetrics()
        let (sink, directory) = try Self.sink(metrics)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        sink.publish(Self.documents(0..<175))
        sink.flush()
        #expect(sink.spool.pending().count == 1)
        // Calls: 50 delivered, 50 delivered, then 503 (the drain stops at a failure), then 200s.
        let transport = ScriptedXRayTransport([200, 200, 503])
        let shipper = Self.shipper(sink, metrics, transport)
        await shipper.drain(within: 20)
        let left = try #require(sink.spool.pending().first.flatMap(sink.spool.load))
        #expect(
            left.items == 75 && left.payload.split(separator: UInt8(ascii: "\n")).count == 2,
            "the batch now holds the two calls not delivered")
        await shipper.drain(within: 20)
        #expect(sink.spool.pending().isEmpty)
        let calls = transport.calls
        #expect(
            calls.map(\.count) == [50, 50, 50, 50, 25], "the retry sent the two calls not delivered, not the batch")
        let delivered = calls[0] + calls[1] + calls[3] + calls[4]
        #expect(Set(delivered) == Set((0..<175).map { String(format: "%016x", $0) }))
        #expect(delivered.count == 175, "nothing delivered twice")
        #expect(metrics.snapshot()[.requestRetried, default: 0] == 1)
    }
}
