import ObsCore

/// What became of one attempt to send a batch.
public enum SendOutcome: Sendable, Equatable {
    /// The service accepted it all.
    case delivered
    /// The service accepted part; `rejected` items were refused for good, for `reason` (the
    /// self-metric they are counted under).
    case partiallyDelivered(rejected: Int, reason: SelfMetrics.Reason)
    /// Worth trying again later (throttling, 5xx, a timeout); `afterTimeout` when no answer came.
    case retry(reason: String, afterTimeout: Bool)
    /// Part was delivered and the rest is worth trying again: `remaining` replaces the batch in the
    /// spool, and the retry sends only that.
    case retryRemaining(SpooledBatch, reason: String, afterTimeout: Bool)
    /// Refused for good (a validation error): retrying cannot help.
    case rejected(reason: String)
}

/// Sends spooled batches of one kind to their service.
public protocol BatchSender: Sendable {
    /// The batch kind this sender handles (`put-metric-data`, ...).
    var kind: String { get }
    func send(_ batch: SpooledBatch) async -> SendOutcome
}
