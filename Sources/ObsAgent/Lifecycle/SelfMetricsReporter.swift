import ObsCatalog
import ObsCore

/// Records the increase of the agent's own counts (``SelfMetrics``, ring drops) since the last
/// flush as `Obs/Agent` metrics, so they are flushed with everything else.
final class SelfMetricsReporter: @unchecked Sendable {
    private let recorder: Recorder
    private let producer: Producer
    // Touched only by the flush task.
    private var reported: [SelfMetrics.Reason: Int] = [:]

    init(recorder: Recorder) {
        self.recorder = recorder
        self.producer = recorder.makeProducer(name: "agent")
    }

    func record() {
        let counts = recorder.selfMetrics.snapshot(ringDrops: recorder.ringDrops)
        for (reason, count) in counts.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
            let delta = count - reported[reason, default: 0]
            guard delta > 0 else { continue }
            reported[reason] = count
            let definition = AgentMetrics.definition(for: reason)
            producer.record(recorder.series(definition.descriptor, Dimensions([("Reason", reason.rawValue)])), Double(delta))
        }
    }
}
