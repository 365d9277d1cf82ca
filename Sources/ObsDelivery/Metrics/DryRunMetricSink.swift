import ObsAWS
import ObsCore

/// Prints the PutMetricData requests the agent would send, one per block, and sends nothing:
/// `obs-agent --dry-run`.
public struct DryRunMetricSink: MetricSink {
    public let name = "dry-run"
    package let printer: DryRunPrinter
    package let encoder: PutMetricDataEncoder

    package init(printer: DryRunPrinter, selfMetrics: SelfMetrics) {
        self.printer = printer
        self.encoder = PutMetricDataEncoder(selfMetrics: selfMetrics)
    }

    public func publish(_ data: [MetricDatum]) async {
        for request in encoder.encode(data) {
            printer.show(
                path: "/", action: "PutMetricData", items: request.datumCount, unit: "datums",
                body: Array(request.body.utf8))
        }
    }
}
