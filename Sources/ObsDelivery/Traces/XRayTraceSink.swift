import FoundationEssentials
import Logging
import ObsAWS
import ObsCore
import ObsNet

#if canImport(Glibc)
    import Glibc
#endif

/// Delivers X-Ray segment documents through the spool, 50 a call, each at most 64 kB (larger ones
/// are counted as `segment_oversized`).
///
/// The receiver must never wait for the disk: a spool write costs two fsyncs (a few milliseconds on
/// a cloud volume), so one file for every 50 segments caps a host at a few tens of thousands of
/// segments a second, and the socket overflows behind it. `publish` queues the documents; a writer
/// thread writes whatever has gathered as one spool batch (up to `maxCallsPerBatch` calls, one
/// PutTraceSegments body a line) while the next ones gather: the faster segments arrive, the more
/// each write carries. Past `maxQueuedBytes` waiting (the disk has stalled), segments are counted as
/// `spool_behind` and dropped.
///
/// The writer gathers for up to `linger` seconds (0.25) after the first document of a batch
/// arrived, unless ``gathered`` (250) are there or someone waits in ``flush()``: each file costs
/// two fsyncs, which on a virtual machine's disk were about half of a whole agent's CPU at 5,000
/// segments a second when every 50 segments made a file (BENCHMARKS.md, X-Ray). A segment already waits up to
/// the source's `batchDelay` (1 s) in memory before it is published; the linger adds at most a
/// quarter of that.
public final class XRayTraceSink: @unchecked Sendable {
    public static let batchKind = "put-trace-segments"
    /// PutTraceSegments calls one spooled batch holds at most (1,000 segments), when the writer
    /// is behind.
    package static let maxCallsPerBatch = 20
    /// Segments the writer gathers before it writes without waiting out the linger (5 calls): a
    /// file of 250 segments costs its two fsyncs once for 250, and a batch in the writer and in a
    /// shipper's hands stays near 170 kB (at 1,000, the agent's peak memory grew by 5 MB at
    /// 5,000 segments a second).
    package static let gathered = 5 * XRayLimits.maxSegmentsPerCall
    public let spool: DiskSpool
    package let maxQueuedBytes: Int
    let selfMetrics: SelfMetrics
    let logger: Logger

    private struct Queue {
        var documents: [String] = []
        var bytes = 0
        /// A batch is being written.
        var writing = false
        /// The writer thread runs (it ends after a few idle seconds and starts again on demand).
        var writerRunning = false
        /// When (monotonic seconds) a drop was last logged: at most one line a second.
        var lastBehindLog = -Double.infinity
        var behindSinceLog = 0
        /// When (monotonic seconds) the oldest document waiting was queued.
        var since: Double?
        /// Callers of ``flush()`` waiting: the writer writes at once.
        var urgent = 0
    }

    /// How long the writer gathers documents before it writes them, in seconds.
    package let linger: Double

    private let condition = Condition()
    private var queue = Queue()  // guarded by `condition`

    public init(
        spool: DiskSpool, selfMetrics: SelfMetrics, logger: Logger, maxQueuedBytes: Int = 32 << 20,
        linger: Double = 0.25
    ) {
        self.linger = linger
        self.spool = spool
        self.selfMetrics = selfMetrics
        self.logger = logger
        self.maxQueuedBytes = maxQueuedBytes
    }

    /// Queues `documents` for the spool; returns at once.
    public func publish(_ documents: [String]) {
        var accepted: [String] = []
        accepted.reserveCapacity(documents.count)
        var bytes = 0
        var oversized = 0
        for document in documents {
            let size = document.utf8.count
            if size > XRayLimits.maxDocumentBytes {
                oversized += 1
            } else {
                accepted.append(document)
                bytes += size
            }
        }
        if oversized > 0 { selfMetrics.count(.segmentOversized, oversized) }
        guard !accepted.isEmpty else { return }
        condition.lock()
        defer { condition.unlock() }
        guard queue.bytes + bytes <= maxQueuedBytes else {
            selfMetrics.count(.spoolBehind, accepted.count)
            queue.behindSinceLog += accepted.count
            let now = Monotonic.seconds()
            if now - queue.lastBehindLog >= 1 {
                logger.error(
                    "segments arrive faster than the spool can write them; dropped",
                    metadata: ["segments": "\(queue.behindSinceLog)"])
                queue.lastBehindLog = now
                queue.behindSinceLog = 0
            }
            return
        }
        let wasEmpty = queue.documents.isEmpty
        if wasEmpty { queue.since = Monotonic.seconds() }
        queue.documents += accepted
        queue.bytes += bytes
        if !queue.writerRunning {
            queue.writerRunning = true
            OSThread.start(name: "obs.xray-spool") { [self] in writeLoop() }
        }
        // The writer needs waking only to start gathering or when a whole batch is there.
        let crossed = queue.documents.count >= Self.gathered && queue.documents.count - accepted.count < Self.gathered
        if wasEmpty || crossed {
            condition.signal()
        }
    }

    /// Blocks until every document published so far is in the spool (or counted as not).
    public func flush() {
        condition.lock()
        queue.urgent += 1
        condition.broadcast()
        while !queue.documents.isEmpty || queue.writing { condition.wait() }
        queue.urgent -= 1
        condition.unlock()
    }

    private func writeLoop() {
        condition.lock()
        while true {
            if queue.documents.isEmpty {
                if !condition.wait(seconds: 5) && queue.documents.isEmpty {
                    queue.writerRunning = false
                    condition.unlock()
                    return
                }
                continue
            }
            let whole = Self.maxCallsPerBatch * XRayLimits.maxSegmentsPerCall
            if queue.documents.count < Self.gathered, queue.urgent == 0, let since = queue.since {
                let left = since + linger - Monotonic.seconds()
                if left > 0 {
                    _ = condition.wait(seconds: left)
                    continue
                }
            }
            let take = min(queue.documents.count, whole)
            let documents = Array(queue.documents[..<take])
            queue.documents.removeFirst(take)
            if queue.documents.isEmpty { queue.since = nil }
            queue.bytes = queue.documents.isEmpty ? 0 : queue.bytes - documents.reduce(0) { $0 + $1.utf8.count }
            queue.writing = true
            condition.unlock()
            write(documents)
            condition.lock()
            queue.writing = false
            condition.broadcast()
        }
    }

    private func write(_ documents: [String]) {
        var payload: [UInt8] = []
        payload.reserveCapacity(documents.reduce(0) { $0 + $1.utf8.count } * 11 / 10 + 64)
        for (k, call) in TraceSegmentBatcher.batches(documents).batches.enumerated() {
            if k > 0 { payload.append(UInt8(ascii: "\n")) }
            TraceSegmentBatcher.appendBody(call, to: &payload)
        }
        spool.accept(
            SpooledBatch(
                kind: Self.batchKind, created: Int64(Date().timeIntervalSince1970), items: documents.count,
                payload: payload),
            selfMetrics: selfMetrics, logger: logger)
    }
}

/// Sends spooled PutTraceSegments calls (REST JSON). Segments X-Ray could not process for a
/// passing reason (throttling, an internal failure) are spooled again as a new batch; the others
/// are counted as `segment_unprocessed`.
public struct PutTraceSegmentsSender: BatchSender {
    public let kind = XRayTraceSink.batchKind
    package let client: AWSClient
    package let sink: XRayTraceSink

    /// Error codes of unprocessed segments worth sending again.
    package static let retryableCodes: Set<String> = [
        "ThrottlingException", "ThrottledException", "InternalFailure", "ServiceUnavailable",
    ]

    public init(client: AWSClient, sink: XRayTraceSink) {
        self.client = client
        self.sink = sink
    }

    /// Sends the batch's calls (one PutTraceSegments body a line) in turn. When a call fails with a
    /// reason worth retrying after others were delivered, the calls not yet delivered are returned
    /// to replace the batch in the spool, so that the retry sends only those. A call refused for
    /// good is counted (`batch_rejected`) and the others go on.
    public func send(_ batch: SpooledBatch) async -> SendOutcome {
        let calls = batch.payload.split(separator: UInt8(ascii: "\n")).map(Array.init)
        var unprocessed = 0
        for (k, call) in calls.enumerated() {
            // Every call but the last holds 50 segments (how the sink writes them).
            let items = min(XRayLimits.maxSegmentsPerCall, batch.items - k * XRayLimits.maxSegmentsPerCall)
            let outcome = await sendCall(call)
            switch outcome {
            case .delivered:
                continue
            case .partiallyDelivered(let rejected, _):
                unprocessed += rejected
            case .rejected(let reason):
                sink.selfMetrics.count(.batchRejected, max(items, 0))
                sink.logger.error("trace segments rejected", metadata: ["items": "\(items)", "reason": "\(reason)"])
            case .retry(let reason, let afterTimeout), .retryRemaining(_, let reason, let afterTimeout):
                guard k > 0 else { return outcome }
                if unprocessed > 0 { sink.selfMetrics.count(.segmentUnprocessed, unprocessed) }
                var remaining = batch
                remaining.items = batch.items - k * XRayLimits.maxSegmentsPerCall
                remaining.payload = Array(calls[k...].joined(separator: [UInt8(ascii: "\n")]))
                return .retryRemaining(remaining, reason: reason, afterTimeout: afterTimeout)
            }
        }
        return unprocessed > 0 ? .partiallyDelivered(rejected: unprocessed, reason: .segmentUnprocessed) : .delivered
    }

    private func sendCall(_ body: [UInt8]) async -> SendOutcome {
        let response: HTTPResponse
        do {
            response = try await client.send(
                path: "/TraceSegments", headers: [("Content-Type", "application/json")], body: body)
        } catch {
            return error.outcome
        }
        struct Response: Decodable {
            struct Unprocessed: Decodable {
                var Id: String?
                var ErrorCode: String?
            }
            var UnprocessedTraceSegments: [Unprocessed]?
        }
        guard
            let unprocessed = (try? JSONDecoder().decode(Response.self, from: Data(response.body)))?
                .UnprocessedTraceSegments,
            !unprocessed.isEmpty
        else { return .delivered }
        let retryIDs = Set(unprocessed.filter { Self.retryableCodes.contains($0.ErrorCode ?? "") }.compactMap(\.Id))
        if !retryIDs.isEmpty {
            let documents = Self.documents(body).filter { Self.segmentID($0).map(retryIDs.contains) ?? false }
            sink.publish(documents)
            // On disk before this batch leaves the spool: a crash now must not lose them.
            sink.flush()
        }
        return .partiallyDelivered(rejected: unprocessed.count - retryIDs.count, reason: .segmentUnprocessed)
    }

    static func documents(_ payload: [UInt8]) -> [String] {
        struct Call: Decodable { var TraceSegmentDocuments: [String]? }
        return (try? JSONDecoder().decode(Call.self, from: Data(payload)))?.TraceSegmentDocuments ?? []
    }

    static func segmentID(_ document: String) -> String? {
        struct Segment: Decodable { var id: String? }
        return (try? JSONDecoder().decode(Segment.self, from: Data(document.utf8)))?.id
    }
}
