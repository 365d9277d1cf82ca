import Synchronization

/// The agent's own counts of what it did not deliver, by reason: every drop is counted here.
/// These are read by the health and metrics endpoints and shipped as `Obs/Agent` metrics.
public final class SelfMetrics: Sendable {
    /// Why something was dropped or folded: a name (the `Reason` dimension of `Dropped` and
    /// `Incidents`) and whether it loses data. A module adds its own as static members in an
    /// extension (a source's bad input), so the list grows with the sources, not in one place.
    public struct Reason: Hashable, Sendable, CustomStringConvertible {
        /// The name, as the metrics and logs show it: `ring_full`.
        public let rawValue: String
        /// Whether this reason loses data (else it is an incident that loses nothing).
        package let isDrop: Bool

        public init(_ rawValue: String, isDrop: Bool) {
            self.rawValue = rawValue
            self.isDrop = isDrop
        }

        public var description: String { rawValue }

        public static func == (a: Reason, b: Reason) -> Bool { a.rawValue == b.rawValue }
        public func hash(into hasher: inout Hasher) { hasher.combine(rawValue) }

        /// A series past its metric's cardinality limit, folded into the overflow series.
        package static let seriesOverflow = Reason("series_overflow", isDrop: false)
        /// A NaN or infinite value, which CloudWatch refuses.
        package static let nonFiniteValue = Reason("non_finite_value", isDrop: true)
        /// A value outside CloudWatch's ±2^360 range.
        package static let valueOutOfRange = Reason("value_out_of_range", isDrop: true)
        /// A counter that went down (a reset, such as pg_stat_reset); the interval's delta restarts from it.
        package static let counterReset = Reason("counter_reset", isDrop: false)
        /// A batch the endpoint refused for good (a 4xx that is not throttling).
        package static let batchRejected = Reason("batch_rejected", isDrop: true)
        /// A sample query that failed (database down, timeout).
        package static let sampleFailed = Reason("sample_failed", isDrop: false)
        /// A scrape that failed: no answer, an HTTP error, or a body that does not parse (nothing
        /// of that scrape is recorded; the next scrape's deltas cover the gap).
        package static let scrapeFailed = Reason("scrape_failed", isDrop: false)
        /// An observation a producer could not record because its ring was full.
        package static let ringFull = Reason("ring_full", isDrop: true)
        /// Items of a batch the spool dropped, oldest first, to stay within its size.
        package static let spoolFull = Reason("spool_full", isDrop: true)
        /// Trace segments that arrived faster than the disk spool could write them, past the
        /// writer's queue (`XRayTraceSink.maxQueuedBytes`).
        package static let spoolBehind = Reason("spool_behind", isDrop: true)
        /// A spooled batch file that failed its checksum, moved aside.
        package static let spoolCorrupt = Reason("spool_corrupt", isDrop: true)
        /// A request that will be tried again (throttling, 5xx, timeout): not a loss.
        package static let requestRetried = Reason("request_retried", isDrop: false)
        /// A log event older than CloudWatch Logs accepts (14 days, or the group's retention).
        package static let logEventTooOld = Reason("log_event_too_old", isDrop: true)
        /// A log event more than 2 hours ahead.
        package static let logEventTooNew = Reason("log_event_too_new", isDrop: true)
        /// A log message cut to the size limit (the event is kept, with a marker).
        package static let logEventTruncated = Reason("log_event_truncated", isDrop: false)
        /// A trace segment document over 64 kB.
        package static let segmentOversized = Reason("segment_oversized", isDrop: true)
        /// A trace segment X-Ray refused for good (UnprocessedTraceSegments).
        package static let segmentUnprocessed = Reason("segment_unprocessed", isDrop: true)
        /// X-Ray datagrams dropped as invalid, by what was wrong.
        package static let datagramNoHeader = Reason("datagram_no_header", isDrop: true)
        package static let datagramBadHeader = Reason("datagram_bad_header", isDrop: true)
        package static let datagramBadJSON = Reason("datagram_bad_json", isDrop: true)
        package static let datagramOversize = Reason("datagram_oversize", isDrop: true)
        package static let segmentBadID = Reason("segment_bad_id", isDrop: true)
        package static let segmentBadTraceID = Reason("segment_bad_trace_id", isDrop: true)
        package static let segmentBadTimes = Reason("segment_bad_times", isDrop: true)
        package static let subsegmentMissingFields = Reason("subsegment_missing_fields", isDrop: true)
        /// Journal entries removed (vacuumed, rotated away) before the agent read them: the gap
        /// between the saved cursor and the oldest entry left.
        package static let journalGap = Reason("journal_gap", isDrop: true)
        /// A journal entry with a field libsystemd could not read (a damaged file): shipped with
        /// the fields before it, or skipped when it has no message.
        package static let journalEntryDamaged = Reason("journal_entry_damaged", isDrop: false)
        /// A journal entry that read without its message at first and whole on a second look (a
        /// file being written: libsystemd skips a data object it cannot read yet).
        package static let journalEntryReread = Reason("journal_entry_reread", isDrop: false)
        /// A journal entry with no MESSAGE field, even on a second look: not shipped (CloudWatch
        /// Logs takes no empty message).
        package static let journalEntryWithoutMessage = Reason("journal_entry_without_message", isDrop: true)
        /// A log line that looked like a Keycloak event or matched the access-log pattern but
        /// could not be read as one: the line is shipped, no metric comes of it.
        package static let logLineUnparsed = Reason("log_line_unparsed", isDrop: false)
    }

    private let counts = Mutex([Reason: Int]())

    public init() {}

    public func count(_ reason: Reason, _ n: Int = 1) {
        counts.withLock { $0[reason, default: 0] += n }
    }

    package subscript(reason: Reason) -> Int {
        counts.withLock { $0[reason, default: 0] }
    }

    /// Every reason counted so far. Ring drops are counted by each producer without a lock; pass
    /// them in (``Recorder/ringDrops``) to see them here.
    package func snapshot(ringDrops: Int = 0) -> [Reason: Int] {
        var counts = counts.withLock { $0 }
        if ringDrops > 0 { counts[.ringFull, default: 0] += ringDrops }
        return counts
    }
}
