import Logging
import ObsCore

/// What one send's outcome means for its batch, the same for the spool's shippers and for the
/// journal's outlet: what the service refused is counted and logged here, once.
enum Settlement {
    /// Done with: delivered (`delivered` true, possibly in part) or refused for good.
    case settled(delivered: Bool)
    /// Worth trying again; `remaining` is what is left to send when part was delivered.
    case retry(reason: String, afterTimeout: Bool, remaining: SpooledBatch?)

    /// Settles `outcome` of sending `batch`: counts refused items under their reason (a batch
    /// refused whole as `batch_rejected`), and a retry as `request_retried`.
    static func of(_ outcome: SendOutcome, batch: SpooledBatch, selfMetrics: SelfMetrics, logger: Logger) -> Settlement
    {
        switch outcome {
        case .delivered:
            return .settled(delivered: true)
        case .partiallyDelivered(let rejected, let reason):
            if rejected > 0 {
                selfMetrics.count(reason, rejected)
                logger.warning(
                    "items rejected",
                    metadata: ["kind": "\(batch.kind)", "items": "\(rejected)", "reason": "\(reason.rawValue)"])
            }
            return .settled(delivered: true)
        case .rejected(let reason):
            selfMetrics.count(.batchRejected, batch.items)
            logger.error(
                "batch rejected", metadata: ["kind": "\(batch.kind)", "items": "\(batch.items)", "reason": "\(reason)"])
            return .settled(delivered: false)
        case .retry(let reason, let afterTimeout):
            selfMetrics.count(.requestRetried)
            return .retry(reason: reason, afterTimeout: afterTimeout, remaining: nil)
        case .retryRemaining(let remaining, let reason, let afterTimeout):
            selfMetrics.count(.requestRetried)
            return .retry(reason: reason, afterTimeout: afterTimeout, remaining: remaining)
        }
    }
}
