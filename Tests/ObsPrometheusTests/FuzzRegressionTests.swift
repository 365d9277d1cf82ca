import Foundation
import ObsCore
import Testing

@testable import ObsPrometheus

/// The inputs libFuzzer found that add coverage (Fuzz/regressions/fuzz-prometheus.b64, kept by
/// `KEEP=1 Fuzz/run`), replayed through the parser in both formats: what strict parsing accepts,
/// lenient parsing accepts with the same samples, and the mapper takes every input without a
/// crash.
struct PrometheusFuzzRegressionTests {
    static let inputs: [[UInt8]] = {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
            "../../Fuzz/regressions/fuzz-prometheus.b64"
        ).path
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { Data(base64Encoded: String($0)).map { Array($0) } }
    }()

    @Test func strictImpliesLenientWithTheSameSamples() {
        #expect(Self.inputs.count > 100, "the regression corpus is there")
        let recorder = Recorder(ringCapacity: 1 << 12)
        let aggregator = Aggregator(recorder: recorder)
        let mapper = ScrapeMapper(service: "fuzz", recorder: recorder)
        var strictAccepted = 0
        for input in Self.inputs {
            for format in [ExpositionFormat.prometheusText, .openMetrics] {
                var strictSamples = 0
                var lenientSamples = 0
                let strict =
                    (try? ExpositionParser(format: format, strict: true).parse(input) { _ in strictSamples += 1 })
                    != nil
                let lenient =
                    (try? ExpositionParser(format: format, strict: false).parse(input) { _ in lenientSamples += 1 })
                    != nil
                if strict {
                    strictAccepted += 1
                    #expect(
                        lenient && lenientSamples == strictSamples,
                        "\(format): \(String(decoding: input, as: UTF8.self).prefix(200))")
                }
                _ = try? mapper.ingest(input, format: format)
            }
            aggregator.drain()
        }
        #expect(strictAccepted > 0)
    }
}
