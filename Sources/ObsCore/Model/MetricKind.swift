/// How observations of a metric combine within one flush interval.
public enum MetricKind: String, Sendable, Hashable, CaseIterable, Codable {
    /// A monotonically increasing count, recorded as deltas; the interval's value is their sum.
    /// Do not use a counter for a value that can go down: use a gauge.
    case counter
    /// A level sampled now and then (connections open, replication lag). The interval keeps the
    /// last value and a StatisticSet (count, sum, minimum, maximum) of every sample.
    case gauge
    /// Individual measurements (latencies, sizes). The interval keeps a StatisticSet and a
    /// log-bucketed histogram, so percentiles survive aggregation.
    case distribution
}
