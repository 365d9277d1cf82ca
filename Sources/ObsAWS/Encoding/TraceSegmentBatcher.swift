import ObsCore

/// The PutTraceSegments limits we enforce.
public enum XRayLimits {
    /// A segment document holds at most 64 kB.
    package static let maxDocumentBytes = 64 * 1024
    /// Segments a call, as the X-Ray daemon sends them.
    package static let maxSegmentsPerCall = 50
}

/// Cuts segment documents into PutTraceSegments calls of at most 50; a document over 64 kB is
/// left out and counted.
public enum TraceSegmentBatcher {
    package static func batches(_ documents: [String]) -> (batches: [[String]], oversized: Int) {
        var oversized = 0
        var result: [[String]] = []
        var current: [String] = []
        for document in documents {
            guard document.utf8.count <= XRayLimits.maxDocumentBytes else {
                oversized += 1
                continue
            }
            current.append(document)
            if current.count == XRayLimits.maxSegmentsPerCall {
                result.append(current)
                current = []
            }
        }
        if !current.isEmpty { result.append(current) }
        return (result, oversized)
    }

    /// The PutTraceSegments JSON body: `{"TraceSegmentDocuments": ["...", ...]}`.
    public static func body(_ documents: [String]) -> [UInt8] {
        var out: [UInt8] = []
        appendBody(documents, to: &out)
        return out
    }

    /// Appends the PutTraceSegments JSON body of `documents` to `out`.
    package static func appendBody(_ documents: [String], to out: inout [UInt8]) {
        out.append(contentsOf: #"{"TraceSegmentDocuments":["#.utf8)
        for (i, document) in documents.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            JSONText.appendQuoted(document, to: &out)
        }
        out.append(contentsOf: "]}".utf8)
    }
}
