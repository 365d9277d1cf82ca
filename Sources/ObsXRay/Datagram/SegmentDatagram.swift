import ObsCore

/// A segment document received from an X-Ray SDK, validated: the JSON text as sent (it goes to
/// PutTraceSegments unchanged) and the fields the agent reads from it.
public struct ReceivedSegment: Sendable {
    /// The document's JSON text, without the header line.
    public var document: String
    public var id: String
    public var traceID: String
    /// A subsegment sent on its own (`"type": "subsegment"`).
    public var isSubsegment: Bool
    /// What the API metrics are made of.
    var fields: SegmentScanner.Fields
}

/// Why a datagram was refused: the self-metric reason it is counted under.
public struct SegmentRejection: Error, Equatable, Sendable {
    public var reason: SelfMetrics.Reason
}

/// The X-Ray daemon protocol: a datagram is a JSON header line, `{"format": "json", "version": 1}`
/// (compact or spaced: it is parsed, not compared), a newline, and one segment document.
public enum SegmentDatagram {
    /// A segment document holds at most 64 kB.
    public static let maxDocumentBytes = 64 * 1024

    /// The segment in `bytes`, or the reason it is refused.
    public static func parse(_ bytes: UnsafeRawBufferPointer) -> Result<ReceivedSegment, SegmentRejection> {
        guard let newline = bytes.firstIndex(of: UInt8(ascii: "\n")) else { return .failure(SegmentRejection(reason: .datagramNoHeader)) }
        guard let header = SegmentScanner.scan(UnsafeRawBufferPointer(rebasing: bytes[..<newline])), header.format == "json",
            header.version == 1
        else { return .failure(SegmentRejection(reason: .datagramBadHeader)) }
        let body = UnsafeRawBufferPointer(rebasing: bytes[(newline + 1)...])
        guard body.count <= maxDocumentBytes else { return .failure(SegmentRejection(reason: .datagramOversize)) }
        guard let fields = SegmentScanner.scan(body) else { return .failure(SegmentRejection(reason: .datagramBadJSON)) }
        return validate(fields, document: body)
    }

    public static func parse(_ bytes: [UInt8]) -> Result<ReceivedSegment, SegmentRejection> {
        bytes.withUnsafeBytes { parse($0) }
    }

    /// The checks X-Ray makes of a document sent on its own: a 16-hex-digit id, a trace id
    /// `1-<8 hex>-<24 hex>`, a start time, an end time or `in_progress: true`, and for a subsegment
    /// a type, a parent id and a trace id.
    static func validate(_ fields: SegmentScanner.Fields, document: UnsafeRawBufferPointer) -> Result<ReceivedSegment, SegmentRejection> {
        guard let id = fields.id, isHex(id, count: 16) else { return .failure(SegmentRejection(reason: .segmentBadID)) }
        let isSubsegment = fields.type == "subsegment"
        if isSubsegment {
            guard let parent = fields.parentID, isHex(parent, count: 16), fields.traceID != nil else {
                return .failure(SegmentRejection(reason: .subsegmentMissingFields))
            }
        }
        guard let traceID = fields.traceID, isTraceID(traceID) else { return .failure(SegmentRejection(reason: .segmentBadTraceID)) }
        guard let start = fields.startTime, start > 0 else { return .failure(SegmentRejection(reason: .segmentBadTimes)) }
        if let end = fields.endTime {
            guard end >= start else { return .failure(SegmentRejection(reason: .segmentBadTimes)) }
        } else if fields.inProgress != true {
            return .failure(SegmentRejection(reason: .segmentBadTimes))
        }
        return .success(
            ReceivedSegment(
                document: String(decoding: document, as: UTF8.self), id: id, traceID: traceID, isSubsegment: isSubsegment,
                fields: fields))
    }

    static func isHex(_ text: String, count: Int) -> Bool {
        text.utf8.count == count && text.utf8.allSatisfy(isHexDigit)
    }

    /// `1-5759e988-bd862e3fe1be46a994272793`: 35 bytes, checked in place.
    static func isTraceID(_ text: String) -> Bool {
        var text = text
        return text.withUTF8 { utf8 in
            guard utf8.count == 35, utf8[0] == UInt8(ascii: "1"), utf8[1] == UInt8(ascii: "-"), utf8[10] == UInt8(ascii: "-") else {
                return false
            }
            for i in 2..<10 where !isHexDigit(utf8[i]) { return false }
            for i in 11..<35 where !isHexDigit(utf8[i]) { return false }
            return true
        }
    }

    @inline(__always)
    static func isHexDigit(_ byte: UInt8) -> Bool {
        (byte >= 48 && byte <= 57) || (byte >= 97 && byte <= 102) || (byte >= 65 && byte <= 70)
    }
}
