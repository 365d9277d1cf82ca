import FoundationEssentials
import ObsCore

#if canImport(Glibc)
    import Glibc
#endif

/// The PutLogEvents limits we enforce before a request is built.
public enum CloudWatchLogsLimits {
    /// At most 1,048,576 bytes a request, counting each message's UTF-8 bytes plus 26.
    package static let maxBatchBytes = 1_048_576
    package static let perEventOverhead = 26
    /// At most 10,000 events a request.
    package static let maxEvents = 10_000
    /// The events of one request span at most 24 hours.
    package static let maxSpanMilliseconds: Int64 = 24 * 3600 * 1000
    /// Events older than 14 days, or more than 2 hours ahead, are refused by the service.
    package static let maxAgeMilliseconds: Int64 = 14 * 24 * 3600 * 1000
    package static let maxAheadMilliseconds: Int64 = 2 * 3600 * 1000
    /// One event's message, in bytes. The service has accepted up to 1 MB since 2025; older
    /// documentation says 256 KB, which we keep to be safe everywhere.
    public static let maxMessageBytes = 262_144 - perEventOverhead
}

/// Sorts events and cuts them into PutLogEvents batches that obey every limit: chronological,
/// at most 10,000 events and 1,048,576 bytes, spanning at most 24 hours. Events too old or too
/// far ahead are left out and counted; a message too long is cut at a character boundary and
/// ends with a visible marker.
public struct LogEventBatcher: Sendable {
    /// Why an event was left out.
    public enum Rejection: String, Sendable {
        case tooOld = "log_event_too_old"
        case tooNew = "log_event_too_new"
    }

    /// The marker that ends a truncated message.
    package static func truncationMarker(_ removed: Int) -> String { "…[truncated \(removed) bytes]" }

    package var maxBatchBytes = CloudWatchLogsLimits.maxBatchBytes
    package var maxEvents = CloudWatchLogsLimits.maxEvents
    public var maxMessageBytes = CloudWatchLogsLimits.maxMessageBytes

    package init() {}

    package func batches(_ events: [CloudWatchLogEvent], now: Int64) -> (
        batches: [[CloudWatchLogEvent]], rejected: [Rejection: Int], truncated: Int
    ) {
        var rejected: [Rejection: Int] = [:]
        var truncated = 0
        var accepted: [CloudWatchLogEvent] = []
        accepted.reserveCapacity(events.count)
        for var event in events {
            if event.timestamp < now - CloudWatchLogsLimits.maxAgeMilliseconds {
                rejected[.tooOld, default: 0] += 1
                continue
            }
            if event.timestamp > now + CloudWatchLogsLimits.maxAheadMilliseconds {
                rejected[.tooNew, default: 0] += 1
                continue
            }
            if event.message.utf8.count > maxMessageBytes {
                event.message = Self.truncate(event.message, to: maxMessageBytes)
                truncated += 1
            }
            accepted.append(event)
        }
        // Stable: events with one timestamp keep their order.
        let sorted = accepted.enumerated().sorted {
            $0.element.timestamp == $1.element.timestamp
                ? $0.offset < $1.offset : $0.element.timestamp < $1.element.timestamp
        }.map(\.element)
        var result: [[CloudWatchLogEvent]] = []
        var current: [CloudWatchLogEvent] = []
        var bytes = 0
        for event in sorted {
            let size = event.message.utf8.count + CloudWatchLogsLimits.perEventOverhead
            if let first = current.first,
                current.count == maxEvents || bytes + size > maxBatchBytes
                    || event.timestamp - first.timestamp > CloudWatchLogsLimits.maxSpanMilliseconds
            {
                result.append(current)
                current = []
                bytes = 0
            }
            current.append(event)
            bytes += size
        }
        if !current.isEmpty { result.append(current) }
        return (result, rejected, truncated)
    }

    /// `message` cut to at most `limit` UTF-8 bytes, marker included, at a character boundary.
    static func truncate(_ message: String, to limit: Int) -> String {
        let total = message.utf8.count
        var keep = limit - truncationMarker(total).utf8.count
        let utf8 = Array(message.utf8)
        while keep > 0 && (utf8[keep] & 0xC0) == 0x80 { keep -= 1 }  // not inside a multi-byte character
        return String(decoding: utf8[..<keep], as: UTF8.self) + truncationMarker(total - keep)
    }

    /// The PutLogEvents JSON body (written by ``LogBatchBuilder``, as the journal's batches are).
    public static func body(group: String, stream: String, events: [CloudWatchLogEvent]) -> [UInt8] {
        var builder = LogBatchBuilder(
            group: group, stream: stream, reserving: events.reduce(64) { $0 + $1.message.utf8.count + 40 })
        for event in events {
            var message = event.message
            message.withUTF8 { builder.append(timestamp: event.timestamp, message: UnsafeRawBufferPointer($0)) }
        }
        return builder.finish()
    }
}
