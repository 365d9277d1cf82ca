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
                DryRunRequest.text(
                    endpoint: endpoint, path: "/", action: "PutMetricData", items: request.datumCount, unit: "datums",
                    body: Array(request.body.utf8)))
        }
    }
}
