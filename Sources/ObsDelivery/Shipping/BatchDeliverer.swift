import Logging
import ObsAWS
import ObsCore
import ObsNet
import ObsSource

/// The outlet of a source that is its own spool (the journal): sends each batch with a
/// ``BatchSender`` until it is accepted or refused for good, with the shippers' retry policy and
/// their outcome handling (``Settlement``), and never gives up on a retryable failure while it
/// may go on. While it retries, the source waits (and the journal holds what is not read yet).
public struct BatchDeliverer: BatchOutlet {
    public let name: String
    package let sender: any BatchSender
    package let retry: RetryPolicy
    private let selfMetrics: SelfMetrics
    private let health: HealthRegistry
    private let healthName: String
    private let logger: Logger

    /// - Parameter healthName: the component reported degraded (with the reason) while sends fail.
    public init(
        name: String, sender: any BatchSender, retry: RetryPolicy = RetryPolicy(), recorder: Recorder,
        healthName: String,
        logger: Logger
    ) {
        self.name = name
        self.sender = sender
        self.retry = retry
        self.selfMetrics = recorder.selfMetrics
        self.health = recorder.health
        self.healthName = healthName
        self.logger = logger
    }

    public func deliver(_ batch: SpooledBatch, deadline: ContinuousClock.Instant?) async -> Bool {
        var batch = batch
        var failures = 0
        var retryCosts = 0
        while true {
            // At shutdown the deadline also cuts short the request in flight.
            let outcome = await RequestDeadline.$current.withValue(deadline) { await sender.send(batch) }
            switch Settlement.of(outcome, batch: batch, selfMetrics: selfMetrics, logger: logger) {
            case .settled:
                retry.recordSuccess(retryCostsTaken: retryCosts)
                return true
            case .retry(let reason, let afterTimeout, let remaining):
                if let remaining { batch = remaining }
                failures += 1
                health.report(healthName, ok: false, reason: "\(name): \(reason)")
                if failures == 1 || failures % 10 == 0 {
                    logger.warning(
                        "send failed, will retry",
                        metadata: [
                            "kind": "\(batch.kind)", "group": "\(batch.attributes["group"] ?? "")",
                            "reason": "\(reason)", "attempt": "\(failures)",
                        ])
                }
                let wait = retry.waitAfterFailure(failures, afterTimeout: afterTimeout, retryCosts: &retryCosts)
                if deadline == nil, Task.isCancelled { return false }
                if let deadline, ContinuousClock.now + .seconds(wait) >= deadline { return false }
                try? await Task.sleep(for: .seconds(wait))
                if deadline == nil, Task.isCancelled { return false }
            }
        }
    }
}
