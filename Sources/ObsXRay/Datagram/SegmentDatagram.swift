import ObsCore

/// A segment document received from an X-Ray SDK, validated: the JSON text as sent (it goes to
/// PutTraceSegments unchanged) and where the fields the agent reads sit in it.
public struct ReceivedSegment: Sendable {
    /// The document's JSON text, without the header line.
    package var document: String
    /// A subsegment sent on its own (`"type": "subsegment"`).
    package var isSubsegment: Bool
    /// What the API metrics are made of: spans of `document`'s UTF-8 bytes.
    var fields: SegmentScanner.Fields

    /// The segment's id (16 hex digits, checked).
    public var id: String { text(fields.id) }
    /// The trace id (`1-<8 hex>-<24 hex>`, checked).
    public var traceID: String { text(fields.traceID) }

    private func text(_ span: SegmentScanner.Span?) -> String {
        var document = document
        return document.withUTF8 { SegmentScanner.text(span, in: UnsafeRawBufferPointer($0)) } ?? ""
    }
}

/// Why a datagram was refused: the self-metric reason it is counted under.
public struct SegmentRejection: Error, Equatable, Sendable {
    package var reason: SelfMetrics.Reason
}

/// The X-Ray daemon protocol: a datagram is a JSON header line, `{"format": "json", "version": 1}`
/// (compact or spaced: it is parsed, not compared), a newline, and one segment document.
public enum SegmentDatagram {
    /// A segment document holds at most 64 kB.
    package static let maxDocumentBytes = 64 * 1024

    /// The segment in `bytes`, or the reason it is refused.
    public static func parse(_ bytes: UnsafeRawBufferPointer) -> Result<ReceivedSegment, SegmentRejection> {
        switch scan(bytes) {
        case .success(let (body, fields, isSubsegment)):
            return .success(
                ReceivedSegment(
                    document: String(decoding: body, as: UTF8.self), isSubsegment: isSubsegment, fields: fields))
        case .failure(let rejection):
            return .failure(rejection)
        }
    }

    public static func parse(_ bytes: [UInt8]) -> Result<ReceivedSegment, SegmentRejection> {
        bytes.withUnsafeBytes { parse($0) }
    }

    /// The checks of `parse` without making the document's text: the document's bytes (a part of
    /// `bytes`), its fields as spans of those bytes, and whether it is a subsegment sent alone.
    static func scan(_ bytes: UnsafeRawBufferPointer) -> Result<
        (UnsafeRawBufferPointer, SegmentScanner.Fields, Bool), SegmentRejection
    > {
        guard let newline = bytes.firstIndex(of: UInt8(ascii: "\n")) else {
            return .failure(SegmentRejection(reason: .datagramNoHeader))
        }
        let headerBytes = UnsafeRawBufferPointer(rebasing: bytes[..<newline])
        guard let header = SegmentScanner.scan(headerBytes),
            SegmentScanner.span(header.format, in: headerBytes, equals: "json"),
            header.version == 1
        else { return .failure(SegmentRejection(reason: .datagramBadHeader)) }
        let body = UnsafeRawBufferPointer(rebasing: bytes[(newline + 1)...])
        guard body.count <= maxDocumentBytes else { return .failure(SegmentRejection(reason: .datagramOversize)) }
        guard let fields = SegmentScanner.scan(body) else {
            return .failure(SegmentRejection(reason: .datagramBadJSON))
        }
        if let rejection = validate(fields, in: body) { return .failure(rejection) }
        return .success((body, fields, SegmentScanner.span(fields.type, in: body, equals: "subsegment")))
    }

    /// The checks X-Ray makes of a document sent on its own: a 16-hex-digit id, a trace id
    /// `1-<8 hex>-<24 hex>`, a start time, an end time or `in_progress: true`, and for a subsegment
    /// a type, a parent id and a trace id. Ids are read in place; an id written with escapes is refused.
    static func validate(_ fields: SegmentScanner.Fields, in body: UnsafeRawBufferPointer) -> SegmentRejection? {
        func bytes(_ span: SegmentScanner.Span?) -> UnsafeRawBufferPointer? {
            guard let span, !span.escaped else { return nil }
            return UnsafeRawBufferPointer(rebasing: body[span.start..<span.end])
        }
        guard let id = bytes(fields.id), isHex(id, count: 16) else { return SegmentRejection(reason: .segmentBadID) }
        if SegmentScanner.span(fields.type, in: body, equals: "subsegment") {
            guard let parent = bytes(fields.parentID), isHex(parent, count: 16), fields.traceID != nil else {
                return SegmentRejection(reason: .subsegmentMissingFields)
            }
        }
        guard let traceID = bytes(fields.traceID), isTraceID(traceID) else {
            return SegmentRejection(reason: .segmentBadTraceID)
        }
        guard let start = fields.startTime, start > 0 else { return SegmentRejection(reason: .segmentBadTimes) }
        if let end = fields.endTime {
            guard end >= start else { return SegmentRejection(reason: .segmentBadTimes) }
        } else if fields.inProgress != true {
            return SegmentRejection(reason: .segmentBadTimes)
        }
        return nil
    }

    static func isHex(_ bytes: UnsafeRawBufferPointer, count: Int) -> Bool {
        bytes.count == count && bytes.allSatisfy(isHexDigit)
    }

    static func isHex(_ text: String, count: Int) -> Bool {
        text.utf8.count == count && text.utf8.allSatisfy(isHexDigit)
    }

    /// `1-5759e988-bd862e3fe1be46a994272793`: 35 bytes.
    static func isTraceID(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard bytes.count == 35, bytes[0] == UInt8(ascii: "1"), bytes[1] == UInt8(ascii: "-"),
            bytes[10] == UInt8(ascii: "-")
        else {
            return false
        }
        for i in 2..<10 where !isHexDigit(bytes[i]) { return false }
        for i in 11..<35 where !isHexDigit(bytes[i]) { return false }
        return true
    }

    static func isTraceID(_ text: String) -> Bool {
        var text = text
        return text.withUTF8 { isTraceID(UnsafeRawBufferPointer($0)) }
    }

    @inline(__always)
    static func isHexDigit(_ byte: UInt8) -> Bool {
        (byte >= 48 && byte <= 57) || (byte >= 97 && byte <= 102) || (byte >= 65 && byte <= 70)
    }
}
