import FoundationEssentials
import ObsAWS
import ObsCore
import ObsSource

#if canImport(Glibc)
    import Glibc
#endif

extension XRayTraceSink: TraceSink {
    public var name: String { "xray" }
}

extension CloudWatchLogSink: LogSink {
    public var name: String { "cloudwatch-logs" }

    public func publish(group: String, stream: String, events: [CloudWatchLogEvent], now: Int64) {
        spool(group: group, stream: stream, events: events, now: now)
    }
}

/// Where the dry run shows a request instead of sending it: the endpoint it would go to, and
/// standard output. Every dry-run sink and sender prints through one.
public struct DryRunPrinter: Sendable {
    public let endpoint: String
    private let write: @Sendable (String) -> Void

    package init(endpoint: String, write: @escaping @Sendable (String) -> Void = StandardOutput.writeLine) {
        self.endpoint = endpoint
        self.write = write
    }

    /// `POST <endpoint><path> (<action>, <items> <unit>, <bytes> bytes)`, and the body on the next line.
    package func show(path: String, action: String, items: Int, unit: String, body: [UInt8]) {
        write(
            "POST \(endpoint)\(path) (\(action), \(items) \(unit), \(body.count) bytes)\n\(String(decoding: body, as: UTF8.self))"
        )
    }
}

/// Prints the PutTraceSegments calls the agent would make, 50 segments a call, and sends nothing.
public struct DryRunTraceSink: TraceSink {
    public let name = "dry-run"
    package let printer: DryRunPrinter
    private let selfMetrics: SelfMetrics

    package init(printer: DryRunPrinter, selfMetrics: SelfMetrics) {
        self.printer = printer
        self.selfMetrics = selfMetrics
    }

    public func publish(_ documents: [String]) {
        let (calls, oversized) = TraceSegmentBatcher.batches(documents)
        if oversized > 0 { selfMetrics.count(.segmentOversized, oversized) }
        for call in calls {
            printer.show(
                path: "/TraceSegments", action: "PutTraceSegments", items: call.count, unit: "segments",
                body: TraceSegmentBatcher.body(call))
        }
    }

    /// Nothing waits: every call is printed as it is published.
    public func flush() {}
}

/// Prints the PutLogEvents requests the agent would make, cut by the same limits as
/// ``CloudWatchLogSink``, and sends nothing.
public struct DryRunLogSink: LogSink {
    public let name = "dry-run"
    package let printer: DryRunPrinter
    private let selfMetrics: SelfMetrics

    package init(printer: DryRunPrinter, selfMetrics: SelfMetrics) {
        self.printer = printer
        self.selfMetrics = selfMetrics
    }

    public func publish(group: String, stream: String, events: [CloudWatchLogEvent], now: Int64) {
        for batch in LogEventBatcher.counted(events, now: now, selfMetrics: selfMetrics) {
            printer.show(
                path: "/", action: "PutLogEvents", items: batch.count, unit: "events",
                body: LogEventBatcher.body(group: group, stream: stream, events: batch))
        }
    }
}

/// Writes each log event's message as one line on standard output: where statement texts go when
/// metrics go out as EMF and no AWS credentials are known (the container's log driver, awslogs on
/// ECS, ships standard output to CloudWatch Logs with the EMF lines).
public struct StandardOutputLogSink: LogSink {
    public let name = "stdout"
    private let selfMetrics: SelfMetrics
    private let write: @Sendable (String) -> Void

    public init(selfMetrics: SelfMetrics, write: @escaping @Sendable (String) -> Void = StandardOutput.writeLine) {
        self.selfMetrics = selfMetrics
        self.write = write
    }

    public func publish(group: String, stream: String, events: [CloudWatchLogEvent], now: Int64) {
        for batch in LogEventBatcher.counted(events, now: now, selfMetrics: selfMetrics) {
            for event in batch { write(event.message) }
        }
    }
}

/// Sends nothing: prints each batch as the PutLogEvents request it would be, and takes it as
/// delivered. The journal's sender under `--dry-run` (its cursor is not saved then, so a later run
/// sends it all).
public struct DryRunBatchSender: BatchSender {
    public let kind = LogBatchBuilder.batchKind
    package let printer: DryRunPrinter

    package init(printer: DryRunPrinter) {
        self.printer = printer
    }

    public func send(_ batch: SpooledBatch) async -> SendOutcome {
        printer.show(path: "/", action: "PutLogEvents", items: batch.items, unit: "events", body: batch.payload)
        return .delivered
    }
}

extension LogEventBatcher {
    /// `events` cut into batches, with what was left out or cut counted in `selfMetrics`.
    static func counted(_ events: [CloudWatchLogEvent], now: Int64, selfMetrics: SelfMetrics) -> [[CloudWatchLogEvent]]
    {
        let (batches, rejected, truncated) = LogEventBatcher().batches(events, now: now)
        if let n = rejected[.tooOld], n > 0 { selfMetrics.count(.logEventTooOld, n) }
        if let n = rejected[.tooNew], n > 0 { selfMetrics.count(.logEventTooNew, n) }
        if truncated > 0 { selfMetrics.count(.logEventTruncated, truncated) }
        return batches
    }
}
