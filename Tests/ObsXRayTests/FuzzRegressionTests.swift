import Foundation
import Testing

@testable import ObsXRay

/// The inputs libFuzzer found that add coverage (Fuzz/regressions/fuzz-xray.b64, kept by
/// `KEEP=1 Fuzz/run`), replayed: each parses to the same result twice, and an accepted one has a
/// valid id and trace id.
struct XRayFuzzRegressionTests {
    static let inputs: [[UInt8]] = {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
            "../../Fuzz/regressions/fuzz-xray.b64"
        ).path
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { Data(base64Encoded: String($0)).map { Array($0) } }
    }()

    @Test func everyKeptInputParsesTheSameTwiceAndAcceptedOnesAreValid() {
        #expect(Self.inputs.count > 100, "the regression corpus is there")
        var accepted = 0
        for input in Self.inputs {
            let first = SegmentDatagram.parse(input)
            let second = SegmentDatagram.parse(input)
            switch (first, second) {
            case (.success(let a), .success(let b)):
                accepted += 1
                #expect(a.id == b.id && a.traceID == b.traceID && a.document == b.document)
                #expect(SegmentDatagram.isHex(a.id, count: 16), "id \(a.id)")
                #expect(a.isSubsegment || SegmentDatagram.isTraceID(a.traceID), "trace id \(a.traceID)")
            case (.failure(let a), .failure(let b)):
                #expect(a.reason == b.reason)
            default:
                Issue.record("parsed differently twice: \(input)")
            }
        }
        #expect(accepted > 0, "some kept inputs are valid segments")
    }
}
