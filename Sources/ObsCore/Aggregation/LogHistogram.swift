import FoundationEssentials

#if canImport(Glibc)
    import Glibc
#endif

/// A histogram with logarithmically spaced buckets: every value is stored as the representative of
/// its bucket, within a relative error `α` of the true value, so every quantile read from it is
/// within `α` too (the DDSketch construction). Buckets are kept sparse; merging two histograms
/// adds their counts and loses nothing.
public struct LogHistogram: Sendable, Equatable {
    /// The relative error bound of every value and quantile: 1 %.
    package static let defaultRelativeAccuracy = 0.01

    package let relativeAccuracy: Double
    /// γ = (1 + α) / (1 − α): the ratio between consecutive bucket bounds.
    private let gamma: Double
    private let logGamma: Double
    private(set) var positive: [Int32: Double] = [:]
    private(set) var negative: [Int32: Double] = [:]
    private(set) var zeroCount: Double = 0
    public private(set) var totalCount: Double = 0

    /// Values smaller than this in magnitude are counted as zero.
    package static let minimumMagnitude = 1e-9

    package init(relativeAccuracy: Double = defaultRelativeAccuracy) {
        precondition(relativeAccuracy > 0 && relativeAccuracy < 1)
        self.relativeAccuracy = relativeAccuracy
        gamma = (1 + relativeAccuracy) / (1 - relativeAccuracy)
        logGamma = Glibc.log(gamma)
    }

    package var isEmpty: Bool { totalCount == 0 }

    private func index(_ magnitude: Double) -> Int32 {
        Int32((Glibc.log(magnitude) / logGamma).rounded(.up))
    }

    private func representative(_ index: Int32) -> Double {
        2 * Glibc.pow(gamma, Double(index)) / (gamma + 1)
    }

    public mutating func add(_ value: Double, count: Double = 1) {
        guard value.isFinite, count > 0 else { return }
        totalCount += count
        let magnitude = Swift.abs(value)
        if magnitude < Self.minimumMagnitude {
            zeroCount += count
        } else if value > 0 {
            positive[index(magnitude), default: 0] += count
        } else {
            negative[index(magnitude), default: 0] += count
        }
    }

    package mutating func merge(_ other: LogHistogram) {
        precondition(other.relativeAccuracy == relativeAccuracy)
        for (i, c) in other.positive { positive[i, default: 0] += c }
        for (i, c) in other.negative { negative[i, default: 0] += c }
        zeroCount += other.zeroCount
        totalCount += other.totalCount
    }

    /// The buckets as (representative value, count), sorted by value: what CloudWatch's
    /// `Values`/`Counts` carry.
    package var buckets: [(value: Double, count: Double)] {
        var result: [(value: Double, count: Double)] = []
        result.reserveCapacity(positive.count + negative.count + 1)
        for (i, c) in negative.sorted(by: { $0.key > $1.key }) { result.append((-representative(i), c)) }
        if zeroCount > 0 { result.append((0, zeroCount)) }
        for (i, c) in positive.sorted(by: { $0.key < $1.key }) { result.append((representative(i), c)) }
        return result
    }

    /// The value at quantile `q` (0...1), within the relative accuracy of the exact one: the value
    /// of rank ⌊q·(n−1)⌋ in sorted order.
    package func quantile(_ q: Double) -> Double? {
        guard totalCount > 0 else { return nil }
        let rank = (q * (totalCount - 1)).rounded(.down)
        var seen = 0.0
        for bucket in buckets {
            seen += bucket.count
            if seen > rank { return bucket.value }
        }
        return buckets.last?.value
    }
}
