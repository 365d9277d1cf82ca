import ObsCore

/// One PutLogEvents request for one log group and stream, built as entries arrive: the JSON body
/// grows with each event, and the limits are checked before each one is added, so a batch is never
/// over them and is never encoded twice.
///
/// Limits (``CloudWatchLogsLimits``): at most 10,000 events and 1,048,576 bytes (each message's
/// UTF-8 bytes plus 26), spanning at most 24 hours, in chronological order. An event that would
/// break one of them does not fit: the caller closes this batch and starts another.
public struct LogBatchBuilder: Sendable {
    /// The batch kind of PutLogEvents bodies (a spooled batch's, the journal's).
    public static let batchKind = "put-log-events"

    package let group: String
    package let stream: String
    /// The request body so far (closed by ``finish()``).
    public private(set) var body: [UInt8] = []
    public private(set) var events = 0
    /// Bytes as CloudWatch Logs counts them.
    public private(set) var bytes = 0
    public private(set) var firstTimestamp: Int64 = 0
    public private(set) var lastTimestamp: Int64 = 0

    package var maxBatchBytes = CloudWatchLogsLimits.maxBatchBytes
    package var maxEvents = CloudWatchLogsLimits.maxEvents

    /// The body's size past which it grows only by what it needs: a full batch with its JSON is a
    /// little over 1 MiB, and doubling from 1 MiB would hold 2.
    static let growthLimit = CloudWatchLogsLimits.maxBatchBytes + CloudWatchLogsLimits.maxBatchBytes / 4

    /// A batch for `group` and `stream`, with room for `reserving` bytes of body to start with (a
    /// quiet stream's batch stays small; a busy one's grows by doubling up to ``growthLimit``).
    package init(group: String, stream: String, reserving: Int = 16 << 10) {
        self.group = group
        self.stream = stream
        body.reserveCapacity(reserving)
        body.append(contentsOf: "{\"logGroupName\":".utf8)
        JSONText.appendQuoted(group, to: &body)
        body.append(contentsOf: ",\"logStreamName\":".utf8)
        JSONText.appendQuoted(stream, to: &body)
        body.append(contentsOf: ",\"logEvents\":[".utf8)
    }

    /// Whether an event of `messageBytes` (valid UTF-8, within the message limit) written at
    /// `timestamp` can join this batch.
    package func fits(messageBytes: Int, timestamp: Int64) -> Bool {
        guard events > 0 else { return true }
        return events < maxEvents && bytes + messageBytes + CloudWatchLogsLimits.perEventOverhead <= maxBatchBytes
            && timestamp >= lastTimestamp && timestamp - firstTimestamp <= CloudWatchLogsLimits.maxSpanMilliseconds
    }

    /// Adds an event whose message is `message`: valid UTF-8 (``MessageText/repaired(_:limit:)``)
    /// that ``fits(messageBytes:timestamp:)``.
    public mutating func append(timestamp: Int64, message: UnsafeRawBufferPointer) {
        // The event's JSON: its message (escapes at most 6 bytes a byte) and about 40 bytes more.
        let needed = body.count + message.count + 48
        if needed > body.capacity {
            let doubled = min(body.capacity * 2, Self.growthLimit)
            let worst = body.count + message.count * 6 + 48
            body.reserveCapacity(max(doubled, needed > doubled ? worst : needed))
        }
        if events == 0 { firstTimestamp = timestamp } else { body.append(UInt8(ascii: ",")) }
        body.append(contentsOf: "{\"timestamp\":".utf8)
        JSONText.appendInteger(timestamp, to: &body)
        body.append(contentsOf: ",\"message\":".utf8)
        JSONText.appendQuoted(message, to: &body)
        body.append(UInt8(ascii: "}"))
        events += 1
        bytes += message.count + CloudWatchLogsLimits.perEventOverhead
        lastTimestamp = timestamp
    }

    /// The finished request body. The builder is used up (its body is moved out, not copied).
    public consuming func finish() -> [UInt8] {
        body.append(contentsOf: "]}".utf8)
        return body
    }
}

/// Message text made fit for CloudWatch Logs: valid UTF-8 (each maximal invalid subpart, a stray
/// byte or a sequence cut short, becomes one U+FFFD, as `String(decoding:as:)` does) and within the
/// message limit, cut at a character boundary with a visible marker. CR, LF and every other
/// character stay data.
public enum MessageText {
    /// Writes `raw` made valid and within `limit` bytes into `out` (cleared first). Returns whether
    /// it had to be truncated.
    @discardableResult
    public static func repaired(_ raw: UnsafeRawBufferPointer, limit: Int, into out: inout [UInt8]) -> Bool {
        out.removeAll(keepingCapacity: true)
        // Valid runs are copied whole; only an invalid byte breaks one.
        let n = raw.count
        var runStart = 0
        var i = 0
        while i < n {
            i = UTF8Validation.asciiEnd(raw, from: i)
            guard i < n else { break }
            let length = UTF8Validation.sequenceLength(raw, at: i)
            if length > 0 {
                i += length
                continue
            }
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: raw[runStart..<i]))
            out.append(contentsOf: [0xEF, 0xBF, 0xBD])
            i += UTF8Validation.invalidSubpartLength(raw, at: i)
            runStart = i
        }
        if runStart < n { out.append(contentsOf: UnsafeRawBufferPointer(rebasing: raw[runStart..<n])) }
        guard out.count > limit else { return false }
        let total = out.count
        var keep = limit - LogEventBatcher.truncationMarker(total).utf8.count
        while keep > 0 && (out[keep] & 0xC0) == 0x80 { keep -= 1 }
        out.removeSubrange(keep...)
        out.append(contentsOf: LogEventBatcher.truncationMarker(total - keep).utf8)
        return true
    }

    /// Whether `raw` is valid UTF-8 (the common case, which needs no copy).
    public static func isValid(_ raw: UnsafeRawBufferPointer) -> Bool {
        var i = 0
        let n = raw.count
        while i < n {
            i = UTF8Validation.asciiEnd(raw, from: i)
            guard i < n else { break }
            let length = UTF8Validation.sequenceLength(raw, at: i)
            guard length > 0 else { return false }
            i += length
        }
        return true
    }
}

enum UTF8Validation {
    /// The index of the first byte at or after `i` that is not ASCII (`raw.count` if none),
    /// eight bytes at a time.
    @inline(__always)
    static func asciiEnd(_ raw: UnsafeRawBufferPointer, from i: Int) -> Int {
        let n = raw.count
        var i = i
        while i + 8 <= n {
            let word = raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            let high = word & 0x8080_8080_8080_8080
            if high != 0 { return i + high.littleEndian.trailingZeroBitCount / 8 }
            i += 8
        }
        while i < n && raw[i] < 0x80 { i += 1 }
        return i
    }

    /// How many bytes from `i`, where no well-formed sequence starts, make one U+FFFD: the longest
    /// start of a well-formed sequence there (a lead byte and the continuation bytes that fit it),
    /// at least 1 (Unicode's "maximal subpart" practice, which Swift's decoder follows).
    static func invalidSubpartLength(_ raw: UnsafeRawBufferPointer, at i: Int) -> Int {
        let needed: Int
        var low: UInt8 = 0x80
        var high: UInt8 = 0xBF
        switch raw[i] {
        case 0xC2...0xDF: needed = 1
        case 0xE0:
            needed = 2
            low = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: needed = 2
        case 0xED:
            needed = 2
            high = 0x9F
        case 0xF0:
            needed = 3
            low = 0x90
        case 0xF1...0xF3: needed = 3
        case 0xF4:
            needed = 3
            high = 0x8F
        default: return 1
        }
        var k = 1
        while k <= needed, i + k < raw.count, raw[i + k] >= low, raw[i + k] <= high {
            k += 1
            (low, high) = (0x80, 0xBF)
        }
        return min(k, needed)
    }

    /// The length of the well-formed UTF-8 sequence that starts at `i` (a non-ASCII lead byte), or
    /// 0 when it is not one (a stray continuation byte, an overlong form, a surrogate, past U+10FFFF,
    /// or cut short).
    @inline(__always)
    static func sequenceLength(_ raw: UnsafeRawBufferPointer, at i: Int) -> Int {
        let n = raw.count
        let lead = raw[i]
        func continuation(_ k: Int, _ low: UInt8 = 0x80, _ high: UInt8 = 0xBF) -> Bool {
            i + k < n && raw[i + k] >= low && raw[i + k] <= high
        }
        switch lead {
        case 0xC2...0xDF: return continuation(1) ? 2 : 0
        case 0xE0: return continuation(1, 0xA0) && continuation(2) ? 3 : 0
        case 0xE1...0xEC, 0xEE...0xEF: return continuation(1) && continuation(2) ? 3 : 0
        case 0xED: return continuation(1, 0x80, 0x9F) && continuation(2) ? 3 : 0
        case 0xF0: return continuation(1, 0x90) && continuation(2) && continuation(3) ? 4 : 0
        case 0xF1...0xF3: return continuation(1) && continuation(2) && continuation(3) ? 4 : 0
        case 0xF4: return continuation(1, 0x80, 0x8F) && continuation(2) && continuation(3) ? 4 : 0
        default: return 0
        }
    }
}
