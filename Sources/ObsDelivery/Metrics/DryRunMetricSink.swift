import ObsAWS
import ObsCore

/// Prints the PutMetricData requests the agent would send, one per block, and sends nothing:
/// `obs-agent --dry-run`.
public struct DryRunMetricSink: MetricSink {
    public let name = "dry-run"
    package let endpoint: String
    package let encoder: PutMetricDataEncoder
    private let write: @Sendable (String) -> Void

    package init(
        endpoint: String, selfMetrics: SelfMetrics,
        write: @escaping @Sendable (String) -> Void = StandardOutput.writeLine
    ) {
        self.endpoint = endpoint
        self.encoder = PutMetricDataEncoder(selfMetrics: selfMetrics)
        self.write = write
    }

    public func publish(_ data: [MetricDatum]) async {
        for request in encoder.encode(data) {
            write(
                "POST \(endpoint)/ (PutMetricData, \(request.datumCount) datums, \(request.body.utf8.count) bytes)\n\(request.body)"
            )
        }
    }
}
