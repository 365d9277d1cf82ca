import ObsCore

/// Where flushed metric data goes. A sink handles its own failures: it retries what is worth
/// retrying and counts in ``SelfMetrics`` what it had to drop, so a flush never throws.
public protocol MetricSink: Sendable {
    /// A short name for logs and health (`cloudwatch`, `emf`, `dry-run`).
    var name: String { get }
    /// Delivers one flush's data.
    func publish(_ data: [MetricDatum]) async
}
