/// One aggregated data point of one series, ready for an encoder: what a flush produces.
public struct MetricDatum: Sendable, Equatable {
    /// The value a series carries for one interval, shaped by its metric's kind.
    public enum Value: Sendable, Equatable {
        /// A counter's sum of deltas.
        case single(Double)
        /// A gauge's samples.
        case statistics(StatisticSet)
        /// A distribution: its StatisticSet and histogram buckets (representative value, count),
        /// sorted by value.
        case distribution(StatisticSet, [(value: Double, count: Double)])

        public static func == (lhs: Value, rhs: Value) -> Bool {
            switch (lhs, rhs) {
            case (.single(let a), .single(let b)): return a == b
            case (.statistics(let a), .statistics(let b)): return a == b
            case (.distribution(let a, let x), .distribution(let b, let y)):
                return a == b && x.count == y.count
                    && zip(x, y).allSatisfy { $0.value == $1.value && $0.count == $1.count }
            default: return false
            }
        }
    }

    package var descriptor: MetricDescriptor
    public var dimensions: Dimensions
    /// Seconds since the Unix epoch, on an interval boundary.
    package var timestamp: Int64
    public var value: Value
    /// A gauge's last sample in the interval (its level at flush time); nil for other kinds.
    package var last: Double?

    public init(
        descriptor: MetricDescriptor, dimensions: Dimensions, timestamp: Int64, value: Value, last: Double? = nil
    ) {
        self.descriptor = descriptor
        self.dimensions = dimensions
        self.timestamp = timestamp
        self.value = value
        self.last = last
    }
}
