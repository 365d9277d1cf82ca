import Foundation
import Testing

@testable import ObsCore

@Suite struct LogHistogramTests {
    static func gaussian(_ rng: inout SplitMix64) -> Double {
        let u = Double.random(in: Double.ulpOfOne..<1, using: &rng)
        let v = Double.random(in: 0..<1, using: &rng)
        return (-2 * log(u)).squareRoot() * cos(2 * .pi * v)
    }

    static let distributions: [String] = ["lognormal", "bimodal", "constant", "pareto"]

    static func sample(_ name: String, count: Int) -> [Double] {
        var rng = SplitMix64(seed: 42)
        return (0..<count).map { _ in
            switch name {
            case "lognormal": return exp(3 + 1.5 * gaussian(&rng))
            case "bimodal": return Bool.random(using: &rng) ? 5 + gaussian(&rng) * 0.5 : 900 + gaussian(&rng) * 40
            case "constant": return 42
            default: return 1 / pow(Double.random(in: Double.ulpOfOne..<1, using: &rng), 1 / 1.2)
            }
        }
    }

    @Test(arguments: distributions)
    func quantilesStayWithinOnePercent(_ name: String) {
        let values = Self.sample(name, count: 20_000)
        var histogram = LogHistogram()
        for v in values { histogram.add(v) }
        let sorted = values.sorted()
        for q in [0.0, 0.01, 0.25, 0.5, 0.75, 0.9, 0.99, 0.999, 1.0] {
            let exact = sorted[Int((q * Double(sorted.count - 1)).rounded(.down))]
            let estimate = histogram.quantile(q)!
            #expect(abs(estimate - exact) <= 0.01 * abs(exact) * (1 + 1e-9), "\(name) q=\(q): \(estimate) vs \(exact)")
        }
        #expect(histogram.totalCount == Double(values.count))
    }

    @Test func mergingEqualsRecordingInOne() {
        let values = Self.sample("lognormal", count: 5000)
        var whole = LogHistogram()
        var left = LogHistogram()
        var right = LogHistogram()
        for (i, v) in values.enumerated() {
            whole.add(v)
            if i % 3 == 0 { left.add(v) } else { right.add(v) }
        }
        left.merge(right)
        #expect(left == whole)
    }

    @Test func zeroNegativeAndNonFiniteValues() {
        var histogram = LogHistogram()
        for v in [-10.0, 0, 10, .nan, .infinity] { histogram.add(v) }
        #expect(histogram.totalCount == 3, "NaN and infinity are not recorded")
        let buckets = histogram.buckets
        #expect(buckets.count == 3)
        #expect(buckets[1].value == 0)
        #expect(abs(buckets[0].value + 10) <= 0.1)
        #expect(abs(buckets[2].value - 10) <= 0.1)
    }
}
