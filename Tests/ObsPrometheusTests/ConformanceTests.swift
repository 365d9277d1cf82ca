import Foundation
import Testing

@testable import ObsPrometheus

/// The parser against the independent suites in Fixtures/ (see SOURCES.md): every case of the
/// OpenMetrics conformance suite on the OpenMetrics path, and prometheus-common's valid and
/// must-fail inputs on the 0.0.4 path.
@Suite struct ConformanceTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    static func files(_ folder: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: fixtures.appendingPathComponent(folder).path)) ?? [])
            .sorted()
    }

    static func bytes(_ path: String) throws -> [UInt8] {
        Array(try Data(contentsOf: fixtures.appendingPathComponent(path)))
    }

    /// Parses and returns the error, if any, and how many samples were handed out.
    static func parse(_ bytes: [UInt8], _ format: ExpositionFormat, strict: Bool = true) -> (ExpositionError?, Int) {
        var samples = 0
        do {
            try ExpositionParser(format: format, strict: strict).parse(bytes) { _ in samples += 1 }
            return (nil, samples)
        } catch {
            return (error, samples)
        }
    }

    @Test func strictModeRefusesGoHistogramsWithNegativeBucketsAndASum() throws {
        let (error, _) = Self.parse(try Self.bytes("prometheus-textparse/alltypes.5mfs.om.txt"), .openMetrics)
        #expect(error?.message == "a histogram's sum must be a non-negative number, got -8.452185437166741e-05")
    }

    @Test func theSuitesArePresent() {
        #expect(Self.files("openmetrics-conformance/parsers").count == 211)
        #expect(Self.files("prometheus-common/corpus").filter { $0.hasPrefix("from_test_parse_error_") }.count == 20)
    }

    @Test(arguments: files("openmetrics-conformance/parsers"))
    func openMetricsConformance(_ name: String) throws {
        let folder = "openmetrics-conformance/parsers/\(name)"
        let spec = try JSONSerialization.jsonObject(with: Data(try Self.bytes("\(folder)/test.json"))) as! [String: Any]
        let shouldParse = spec["shouldParse"] as! Bool
        let (error, _) = Self.parse(try Self.bytes("\(folder)/metrics"), .openMetrics)
        if shouldParse {
            #expect(error == nil, "\(name) should parse: \(error.map(String.init(describing:)) ?? "")")
        } else {
            #expect(error != nil, "\(name) should be refused")
        }
    }

    @Test(arguments: files("prometheus-common/corpus"))
    func prometheusCommonCorpus(_ name: String) throws {
        let (error, _) = Self.parse(try Self.bytes("prometheus-common/corpus/\(name)"), .prometheusText)
        if name.hasPrefix("from_test_parse_error_") {
            #expect(error != nil, "\(name) should be refused")
        } else {
            #expect(error == nil, "\(name) should parse: \(error.map(String.init(describing:)) ?? "")")
        }
    }

    @Test(arguments: [
        ("prometheus-common/text", ExpositionFormat.prometheusText),
        ("prometheus-textparse/alltypes.237mfs.prom.txt", .prometheusText),
        ("prometheus-textparse/alltypes.237mfs.nometa.prom.txt", .prometheusText),
        ("prometheus-textparse/promtestdata.txt", .prometheusText),
        ("prometheus-textparse/alltypes.5mfs.om.txt", .openMetrics),
        ("prometheus-textparse/1histogram.om.txt", .openMetrics),
    ])
    func realScrapesParse(_ path: String, _ format: ExpositionFormat) throws {
        let bytes = try Self.bytes(path)
        // As the scraper parses: Go's client writes a _sum on histograms with negative buckets,
        // which the specification (and the suite, bad_histograms_3) refuses.
        let (error, samples) = Self.parse(bytes, format, strict: false)
        #expect(error == nil, "\(path): \(error.map(String.init(describing:)) ?? "")")
        let lines = bytes.split(separator: UInt8(ascii: "\n")).filter { line in
            guard let first = line.first(where: { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "\t") }) else {
                return false
            }
            return first != UInt8(ascii: "#")
        }
        #expect(samples == lines.count, "\(path): every sample line is one sample")
    }
}
