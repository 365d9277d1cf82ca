import Synchronization

/// The agent's own counts of what it did not deliver, by reason: every drop is counted here.
/// These are read by the health and metrics endpoints and shipped as `Obs/Agent` metrics.
public final class SelfMetrics: Sendable {
    /// Why something was dropped or folded.
    public enum Reason: String, Sendable, CaseIterable {
        /// A series past its metric's cardinality limit, folded into the overflow series.
        case seriesOverflow = "series_overflow"
        /// A NaN or infinite value, which CloudWatch refuses.
        case nonFiniteValue = "non_finite_value"
        /// A value outside CloudWatch's ±2^360 range.
        case valueOutOfRange = "value_out_of_range"
        /// A counter that went down (a reset, such as pg_stat_reset); the interval's delta restarts from it.
        case counterReset = "counter_reset"
        /// A batch the endpoint refused for good (a 4xx that is not throttling).
        case batchRejected = "batch_rejected"
        /// A sample query that failed (database down, timeout).
        case sampleFailed = "sample_failed"
        /// A scrape that failed: no answer, an HTTP error, or a body that does not parse (nothing
        /// of that scrape is recorded; the next scrape's deltas cover the gap).
        case scrapeFailed = "scrape_failed"
        /// An observation a producer could not record because its ring was full.
        case ringFull = "ring_full"
        /// Items of a batch the spool dropped, oldest first, to stay within its size.
        case spoolFull = "spool_full"
        /// Trace segments that arrived faster than the disk spool could write them, past the
        /// writer's queue (`XRayTraceSink.maxQueuedBytes`).
        case spoolBehind = "spool_behind"
        /// A spooled batch file that failed its checksum, moved aside.
        case spoolCorrupt = "spool_corrupt"
        /// A request that will be tried again (throttling, 5xx, timeout): not a loss.
        case requestRetried = "request_retried"
        /// A log event older than CloudWatch Logs accepts (14 days, or the group's retention).
        case logEventTooOld = "log_event_too_old"
        /// A log event more than 2 hours ahead.
        case logEventTooNew = "log_event_too_new"
        /// A log message cut to the size limit (the event is kept, with a marker).
        case logEventTruncated = "log_event_truncated"
        /// A trace segment document over 64 kB.
        case segmentOversized = "segment_oversized"
        /// A trace segment X-Ray refused for good (UnprocessedTraceSegments).
        case segmentUnprocessed = "segment_unprocessed"
        /// X-Ray datagrams dropped as invalid, by what was wrong.
        case datagramNoHeader = "datagram_no_header"
        case datagramBadHeader = "datagram_bad_header"
        case datagramBadJSON = "datagram_bad_json"
        case datagramOversize = "datagram_oversize"
        case segmentBadID = "segment_bad_id"
        case segmentBadTraceID = "segment_bad_trace_id"
        case segmentBadTimes = "segment_bad_times"
        case subsegmentMissingFields = "subsegment_missing_fields"
        /// Journal entries removed (vacuumed, rotated away) before the agent read them: the gap
        /// between the saved cursor and the oldest entry left.
        case journalGap = "journal_gap"
        /// A journal entry with a field libsystemd could not read (a damaged file): shipped with
        /// the fields before it, or skipped when it has no message.
        case journalEntryDamaged = "journal_entry_damaged"
        /// A log line that looked like a Keycloak event or matched the access-log pattern but
        /// could not be read as one: the line is shipped, no metric comes of it.
        case logLineUnparsed = "log_line_unparsed"

        /// Whether this reason loses data (else it is an incident that loses nothing).
        public var isDrop: Bool {
            switch self {
            case .nonFiniteValue, .valueOutOfRange, .batchRejected, .ringFull, .spoolFull, .spoolBehind,
                .spoolCorrupt, .logEventTooOld, .logEventTooNew, .segmentOversized, .segmentUnprocessed, .datagramNoHeader,
                .datagramBadHeader, .datagramBadJSON, .datagramOversize, .segmentBadID, .segmentBadTraceID, .segmentBadTimes,
                .subsegmentMissingFields, .journalGap:
                return true
            case .seriesOverflow, .counterReset, .sampleFailed, .scrapeFailed, .requestRetried, .logEventTruncated,
                .journalEntryDamaged, .logLineUnparsed:
                return false
            }
        }
    }

    private let counts = Mutex([Reason: Int]())

    public init() {}

    public func count(_ reason: Reason, _ n: Int = 1) {
        counts.withLock { $0[reason, default: 0] += n }
    }

    public subscript(reason: Reason) -> Int {
        counts.withLock { $0[reason, default: 0] }
    }

    /// Every reason counted so far. Ring drops are counted by each producer without a lock; pass
    /// them in (``Recorder/ringDrops``) to see them here.
    public func snapshot(ringDrops: Int = 0) -> [Reason: Int] {
        var counts = counts.withLock { $0 }
        if ringDrops > 0 { counts[.ringFull, default: 0] += ringDrops }
        return counts
    }
}
