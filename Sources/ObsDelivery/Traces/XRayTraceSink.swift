import Foundation
import Logging
import ObsAWS
import ObsCore

/// Delivers X-Ray segment documents through the spool, 50 a call, each at most 64 kB (larger ones
/// are counted as `segment_oversized`).
public struct XRayTraceSink: Sendable {
    public static let batchKind = "put-trace-segments"
    public let spool: DiskSpool
    private let selfMetrics: SelfMetrics
    private let logger: Logger

    public init(spool: DiskSpool, selfMetrics: SelfMetrics, logger: Logger) {
        self.spool = spool
        self.selfMetrics = selfMetrics
        self.logger = logger
    }

    @discardableResult
    public func publish(_ documents: [String], now: Int64 = Int64(Date().timeIntervalSince1970)) -> [SpoolBatchID] {
        let (batches, oversized) = TraceSegmentBatcher.batches(documents)
        if oversized > 0 { selfMetrics.count(.segmentOversized, oversized) }
        return batches.compactMap { batch in
            spool.accept(
                SpooledBatch(kind: Self.batchKind, created: now, items: batch.count, payload: TraceSegmentBatcher.body(batch)),
                selfMetrics: selfMetrics, logger: logger)
        }
    }
}

/// Sends spooled PutTraceSegments calls (REST JSON). Segments X-Ray could not process for a
/// passing reason (throttling, an internal failure) are spooled again as a new batch; the others
/// are counted as `segment_unprocessed`.
public struct PutTraceSegmentsSender: BatchSender {
    public let kind = XRayTraceSink.batchKind
    public let client: AWSClient
    public let sink: XRayTraceSink

    /// Error codes of unprocessed segments worth sending again.
    public static let retryableCodes: Set<String> = ["ThrottlingException", "ThrottledException", "InternalFailure", "ServiceUnavailable"]

    public init(client: AWSClient, sink: XRayTraceSink) {
        self.client = client
        self.sink = sink
    }

    public func send(_ batch: SpooledBatch) async -> SendOutcome {
        let response: HTTPResponse
        do {
            response = try await client.send(path: "/TraceSegments", headers: [("Content-Type", "application/json")], body: batch.payload)
        } catch {
            return error.outcome
        }
        guard let object = try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any],
            let unprocessed = object["UnprocessedTraceSegments"] as? [[String: Any]], !unprocessed.isEmpty
        else { return .delivered }
        let retryIDs = Set(unprocessed.filter { Self.retryableCodes.contains($0["ErrorCode"] as? String ?? "") }.compactMap { $0["Id"] as? String })
        if !retryIDs.isEmpty {
            let documents = Self.documents(batch.payload).filter { Self.segmentID($0).map(retryIDs.contains) ?? false }
            sink.publish(documents)
        }
        return .partiallyDelivered(rejected: unprocessed.count - retryIDs.count, reason: .segmentUnprocessed)
    }

    static func documents(_ payload: [UInt8]) -> [String] {
        ((try? JSONSerialization.jsonObject(with: Data(payload)) as? [String: Any])?["TraceSegmentDocuments"] as? [String]) ?? []
    }

    static func segmentID(_ document: String) -> String? {
        (try? JSONSerialization.jsonObject(with: Data(document.utf8)) as? [String: Any])?["id"] as? String
    }
}
