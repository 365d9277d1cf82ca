import FoundationEssentials
import Logging
import ObsAWS
import ObsCore
import ObsNet

#if canImport(Glibc)
    import Glibc
#endif

/// Delivers log events to CloudWatch Logs through the spool: events are cut into PutLogEvents
/// batches that obey every limit (``LogEventBatcher``), each batch spooled and then sent by a
/// ``SpoolShipper`` with a ``PutLogEventsSender``. Events the service would refuse (too old, too
/// far ahead) are counted, not sent.
public struct CloudWatchLogSink: Sendable {
    public static let batchKind = LogBatchBuilder.batchKind
    public let spool: DiskSpool
    private let selfMetrics: SelfMetrics
    private let logger: Logger

    package init(spool: DiskSpool, selfMetrics: SelfMetrics, logger: Logger) {
        self.spool = spool
        self.selfMetrics = selfMetrics
        self.logger = logger
    }

    /// Spools `events` for `group`/`stream` (``publish(group:stream:events:now:)`` without the ids). Returns the spooled batches' ids, in order (a source
    /// that keeps a read position, such as a journal cursor, saves it once they are sent).
    @discardableResult
    public func spool(
        group: String, stream: String, events: [CloudWatchLogEvent],
        now: Int64 = Int64(Date().timeIntervalSince1970 * 1000)
    )
        -> [SpoolBatchID]
    {
        var ids: [SpoolBatchID] = []
        for batch in LogEventBatcher.counted(events, now: now, selfMetrics: selfMetrics) {
            let spooled = SpooledBatch(
                kind: Self.batchKind, created: now / 1000, items: batch.count,
                attributes: ["group": group, "stream": stream],
                payload: LogEventBatcher.body(group: group, stream: stream, events: batch))
            if let id = spool.accept(spooled, selfMetrics: selfMetrics, logger: logger) { ids.append(id) }
        }
        return ids
    }
}

/// Sends spooled PutLogEvents batches (JSON 1.1). A missing group or stream is created, and the
/// batch sent again; events the service refuses (`rejectedLogEventsInfo`) are counted by reason.
public struct PutLogEventsSender: BatchSender {
    public let kind = CloudWatchLogSink.batchKind
    package let client: AWSClient

    public init(client: AWSClient) {
        self.client = client
    }

    static func headers(_ action: String) -> [(String, String)] {
        [("Content-Type", "application/x-amz-json-1.1"), ("X-Amz-Target", "Logs_20140328.\(action)")]
    }

    public func send(_ batch: SpooledBatch) async -> SendOutcome {
        do {
            return try await put(batch)
        } catch {
            guard case .service(_, "ResourceNotFoundException", _) = error,
                let group = batch.attributes["group"], let stream = batch.attributes["stream"]
            else { return error.outcome }
            do {
                try await create("CreateLogGroup", ["logGroupName": group])
                try await create("CreateLogStream", ["logGroupName": group, "logStreamName": stream])
                return try await put(batch)
            } catch {
                return error.outcome
            }
        }
    }

    private func put(_ batch: SpooledBatch) async throws(AWSError) -> SendOutcome {
        let response = try await client.send(headers: Self.headers("PutLogEvents"), body: batch.payload)
        let rejected = Self.rejectedCounts(response.body, events: batch.items)
        guard let (reason, count) = rejected.max(by: { $0.value < $1.value }), count > 0 else { return .delivered }
        return .partiallyDelivered(
            rejected: rejected.values.reduce(0, +), reason: reason == "tooNew" ? .logEventTooNew : .logEventTooOld)
    }

    private func create(_ action: String, _ fields: [String: String]) async throws(AWSError) {
        let body = (try? JSONEncoder().encode(fields)) ?? Data()
        do {
            _ = try await client.send(headers: Self.headers(action), body: Array(body))
        } catch {
            if case .service(_, "ResourceAlreadyExistsException", _) = error { return }
            throw error
        }
    }

    /// Events refused, by reason, from `rejectedLogEventsInfo`: the too-new ones from
    /// `tooNewLogEventStartIndex` on, the too-old and expired ones up to their end index.
    static func rejectedCounts(_ body: [UInt8], events: Int) -> [String: Int] {
        struct Response: Decodable {
            struct Info: Decodable {
                var tooNewLogEventStartIndex: Int?
                var tooOldLogEventEndIndex: Int?
                var expiredLogEventEndIndex: Int?
            }
            var rejectedLogEventsInfo: Info?
        }
        guard let info = (try? JSONDecoder().decode(Response.self, from: Data(body)))?.rejectedLogEventsInfo else {
            return [:]
        }
        var counts: [String: Int] = [:]
        if let start = info.tooNewLogEventStartIndex { counts["tooNew"] = max(0, events - start) }
        let oldEnd = max(info.tooOldLogEventEndIndex ?? -1, info.expiredLogEventEndIndex ?? -1)
        if oldEnd >= 0 { counts["tooOld"] = oldEnd + 1 }
        return counts
    }
}
