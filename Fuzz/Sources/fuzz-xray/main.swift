import FuzzSupport
import ObsXRay

/// X-Ray daemon datagrams: a header line and a segment document, validated.
runFuzzer { bytes in
    switch SegmentDatagram.parse(bytes) {
    case .success(let segment):
        precondition(!segment.id.isEmpty && !segment.traceID.isEmpty)
    case .failure:
        break
    }
}
