import ObsCore

/// The PutTraceSegments limits we enforce.
public enum XRayLimits {
    /// A segment document holds at most 64 kB.
    public static let maxDocumentBytes = 64 * 1024
    /// Segments a call, as the X-Ray daemon sends them.
    public static let maxSegmentsPerCall = 50
}

/// Cuts segment documents into PutTraceSegments calls of at most 50; a document over 64 kB is
/// left out and counted.
public enum TraceSegmentBatcher {
    public static func batches(_ documents: [String]) -> (batches: [[String]], oversized: Int) {
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
        Array(("{\"TraceSegmentDocuments\":[" + documents.map(JSONText.quoted).joined(separator: ",") + "]}").utf8)
    }
}
