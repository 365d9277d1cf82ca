import FoundationEssentials
import ObsCatalog
import ObsCore
import ObsDelivery

#if canImport(Glibc)
    import Glibc
#endif

/// Records the agent's own state as `Obs/Agent` metrics before each flush, so it is flushed with
/// everything else: the increase of its drop and incident counts (``SelfMetrics``, ring drops),
/// batches sent, and the spool's size and backlog.
final class SelfMetricsReporter: @unchecked Sendable {
    private let recorder: Recorder
    private let producer: Producer
    private let shippers: [SpoolShipper]
    // Touched only by the flush task.
    private var reported: [SelfMetrics.Reason: Int] = [:]
    private var sent: [String: Int] = [:]

    init(recorder: Recorder, shippers: [SpoolShipper] = []) {
        self.recorder = recorder
        // A flush records one observation a drop reason, a sink and a spool: tens, not thousands.
        self.producer = recorder.makeProducer(name: "agent", capacity: 4_096)
        self.shippers = shippers
    }

    func record() {
        let counts = recorder.selfMetrics.snapshot(ringDrops: recorder.ringDrops)
        for (reason, count) in counts.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
            let delta = count - reported[reason, default: 0]
            guard delta > 0 else { continue }
            reported[reason] = count
            let definition = AgentMetrics.definition(for: reason)
            producer.record(
                recorder.series(definition.descriptor, Dimensions([("Reason", reason.rawValue)])), Double(delta))
        }
        for shipper in shippers {
            let kind = shipper.sender.kind
            let delta = shipper.delivered - sent[kind, default: 0]
            sent[kind] = shipper.delivered
            producer.record(
                recorder.series(AgentMetrics.batchesSent.descriptor, Dimensions([("Kind", kind)])), Double(delta))
        }
        if let spool = shippers.first?.spool {
            producer.record(recorder.series(AgentMetrics.spoolBytes.descriptor, Dimensions()), Double(spool.bytes))
            let age = spool.oldestAge(now: Int64(Date().timeIntervalSince1970))
            producer.record(recorder.series(AgentMetrics.spoolOldestAge.descriptor, Dimensions()), Double(age))
        }
    }
}
