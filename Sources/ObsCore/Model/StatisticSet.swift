/// CloudWatch's StatisticSet: the count, sum, minimum and maximum of a set of values. Two sets merge
/// exactly, which is why an interval's samples can be summarised before they are sent.
public struct StatisticSet: Sendable, Hashable {
    public var sampleCount: Double
    public var sum: Double
    public var minimum: Double
    public var maximum: Double

    public init() {
        sampleCount = 0
        sum = 0
        minimum = .infinity
        maximum = -.infinity
    }

    public init(sampleCount: Double, sum: Double, minimum: Double, maximum: Double) {
        self.sampleCount = sampleCount
        self.sum = sum
        self.minimum = minimum
        self.maximum = maximum
    }

    package var isEmpty: Bool { sampleCount == 0 }
    package var average: Double { sampleCount == 0 ? 0 : sum / sampleCount }

    @inlinable
    public mutating func add(_ value: Double) {
        sampleCount += 1
        sum += value
        if value < minimum { minimum = value }
        if value > maximum { maximum = value }
    }

    /// Adds `weight` observations of `value`.
    @inlinable
    public mutating func add(_ value: Double, weight: Double) {
        sampleCount += weight
        sum += value * weight
        if value < minimum { minimum = value }
        if value > maximum { maximum = value }
    }

    package mutating func merge(_ other: StatisticSet) {
        sampleCount += other.sampleCount
        sum += other.sum
        minimum = Swift.min(minimum, other.minimum)
        maximum = Swift.max(maximum, other.maximum)
    }
}
