import Foundation
import ObsCore

/// A segment document received from an X-Ray SDK, validated: the JSON text as sent (it goes to
/// PutTraceSegments unchanged) and the fields the agent reads from it.
public struct ReceivedSegment: @unchecked Sendable {
    /// The document's JSON text, without the header line.
    public var document: String
    public var id: String
    public var traceID: String
    /// A subsegment sent on its own (`"type": "subsegment"`).
    public var isSubsegment: Bool
    /// The parsed document, for metrics.
    public var fields: [String: Any]
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
        let header = try? JSONSerialization.jsonObject(with: Data(bytes[..<newline])) as? [String: Any]
        guard let header, header["format"] as? String == "json", (header["version"] as? Int) == 1 else {
            return .failure(SegmentRejection(reason: .datagramBadHeader))
        }
        let body = bytes[(newline + 1)...]
        guard body.count <= maxDocumentBytes else { return .failure(SegmentRejection(reason: .datagramOversize)) }
        guard let fields = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else {
            return .failure(SegmentRejection(reason: .datagramBadJSON))
        }
        return validate(fields, document: String(decoding: body, as: UTF8.self))
    }

    public static func parse(_ bytes: [UInt8]) -> Result<ReceivedSegment, SegmentRejection> {
        bytes.withUnsafeBytes { parse($0) }
    }

    /// The checks X-Ray makes of a document sent on its own: a 16-hex-digit id, a trace id
    /// `1-<8 hex>-<24 hex>`, a start time, an end time or `in_progress: true`, and for a subsegment
    /// a type, a parent id and a trace id.
    static func validate(_ fields: [String: Any], document: String) -> Result<ReceivedSegment, SegmentRejection> {
        guard let id = fields["id"] as? String, isHex(id, count: 16) else { return .failure(SegmentRejection(reason: .segmentBadID)) }
        let isSubsegment = fields["type"] as? String == "subsegment"
        if isSubsegment {
            guard let parent = fields["parent_id"] as? String, isHex(parent, count: 16), fields["trace_id"] is String else {
                return .failure(SegmentRejection(reason: .subsegmentMissingFields))
            }
        }
        guard let traceID = fields["trace_id"] as? String, isTraceID(traceID) else { return .failure(SegmentRejection(reason: .segmentBadTraceID)) }
        guard let start = number(fields["start_time"]), start > 0 else { return .failure(SegmentRejection(reason: .segmentBadTimes)) }
        if let end = number(fields["end_time"]) {
            guard end >= start else { return .failure(SegmentRejection(reason: .segmentBadTimes)) }
        } else if fields["in_progress"] as? Bool != true {
            return .failure(SegmentRejection(reason: .segmentBadTimes))
        }
        return .success(ReceivedSegment(document: document, id: id, traceID: traceID, isSubsegment: isSubsegment, fields: fields))
    }

    static func number(_ value: Any?) -> Double? {
        guard let number = value as? NSNumber, !(value is Bool) else { return nil }
        return number.doubleValue
    }

    static func isHex(_ text: String, count: Int) -> Bool {
        text.utf8.count == count && text.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) || ($0 >= 65 && $0 <= 70) }
    }

    /// `1-5759e988-bd862e3fe1be46a994272793`.
    static func isTraceID(_ text: String) -> Bool {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        return parts.count == 3 && parts[0] == "1" && isHex(String(parts[1]), count: 8) && isHex(String(parts[2]), count: 24)
    }
}
