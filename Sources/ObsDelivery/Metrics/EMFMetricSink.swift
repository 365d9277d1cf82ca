import ObsAWS
import ObsCore

/// Writes metric data as Embedded Metric Format lines, by default to standard output: the agent's
/// output when it has no AWS endpoint and credentials, ready for a log driver (awslogs,
/// FireLens) that ships stdout to CloudWatch Logs, where the lines become metrics.
public struct EMFMetricSink: MetricSink {
    public let name = "emf"
    package let encoder: EMFEncoder
    private let write: @Sendable (String) -> Void

    public init(selfMetrics: SelfMetrics, write: @escaping @Sendable (String) -> Void = StandardOutput.writeLine) {
        self.encoder = EMFEncoder(selfMetrics: selfMetrics)
        self.write = write
    }

    public func publish(_ data: [MetricDatum]) async {
        for line in encoder.encode(data) { write(line) }
    }
}
