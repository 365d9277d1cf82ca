import Logging
import ObsAWS
import ObsCore
import ObsNet
import Synchronization

/// Sends the spool's batches of one kind, oldest first, with one sender, and removes each once it
/// was accepted. Retryable failures leave the batch in the spool and wait (standard-mode backoff,
/// or the cap when the retry quota is spent), so nothing is dropped while the spool has room; a
/// batch the service refuses for good is removed and its items counted (`batch_rejected`).
///
/// With `concurrency` above one, that many workers send at once, each the oldest batch no other
/// worker holds: one request at a time is at most a few dozen a second against a real endpoint's
/// latency, and 20,000 trace segments a second need 400 PutTraceSegments calls.
public final class SpoolShipper: Sendable {
    public let spool: DiskSpool
    package let sender: any BatchSender
    package let retry: RetryPolicy
    private let selfMetrics: SelfMetrics
    private let logger: Logger
    private let sent = Atomic<Int>(0)
    /// Workers that send at once.
    package let concurrency: Int
    /// The batches a worker is sending.
    private let inFlight = Mutex(Set<SpoolBatchID>())

    public init(
        spool: DiskSpool, sender: any BatchSender, retry: RetryPolicy = RetryPolicy(), selfMetrics: SelfMetrics,
        logger: Logger, concurrency: Int = 1
    ) {
        self.spool = spool
        self.sender = sender
        self.retry = retry
        self.selfMetrics = selfMetrics
        self.logger = logger
        self.concurrency = max(1, concurrency)
    }

    /// Batches delivered (wholly or partly) so far.
    public var delivered: Int { sent.load(ordering: .relaxed) }

    /// Ships until the task is cancelled.
    public func run() async {
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<concurrency { group.addTask { await self.work() } }
        }
    }

    /// The oldest pending batch no worker holds, now held by the caller. When more are left, the
    /// spool's doorbell is rung again so that an idle worker takes the next.
    private func claim() -> SpoolBatchID? {
        let pending = spool.pending(kind: sender.kind)
        let (claimed, more) = inFlight.withLock { held -> (SpoolBatchID?, Bool) in
            let free = pending.filter { !held.contains($0) }
            guard let id = free.first else { return (nil, false) }
            held.insert(id)
            return (id, free.count > 1)
        }
        if more { spool.appended.ring() }
        return claimed
    }

    /// One worker: sends until the task is cancelled.
    private func work() async {
        var failures = 0
        var retryCosts = 0
        while !Task.isCancelled {
            guard let id = claim() else {
                await spool.appended.wait()  // until a batch is added (no timer while idle)
                continue
            }
            let result = await attempt(id)
            inFlight.withLock { _ = $0.remove(id) }
            switch result {
            case .done:
                retry.recordSuccess(retryCostsTaken: retryCosts)
                failures = 0
                retryCosts = 0
            case .failed(let afterTimeout):
                failures += 1
                let wait = retry.waitAfterFailure(failures, afterTimeout: afterTimeout, retryCosts: &retryCosts)
                try? await Task.sleep(for: .seconds(wait))
            }
        }
    }

    /// Sends what is pending until none is left, a send fails, or `seconds` pass: the last effort at
    /// shutdown, with as many workers as ``run()`` (each stops at its first failure), so that a
    /// backlog goes as fast as it did while running. What is not sent stays in the spool for the
    /// next start.
    public func drain(within seconds: Double) async {
        let deadline = ContinuousClock.now + .seconds(seconds)
        // The caller's task is the first worker, so that one sends at once, however busy the
        // task pool is.
        await withTaskGroup(of: Void.self) { group in
            for _ in 1..<concurrency { group.addTask { await self.drainWorker(until: deadline) } }
            await drainWorker(until: deadline)
        }
        let left = spool.pending(kind: sender.kind).count
        if left > 0 {
            logger.warning(
                "batches left in the spool for the next start",
                metadata: ["kind": "\(sender.kind)", "batches": "\(left)"])
        }
    }

    /// One worker of ``drain(within:)``: sends the oldest batch no other worker holds until none is
    /// left, a send fails, or the deadline passes (which also cuts short a request in flight).
    private func drainWorker(until deadline: ContinuousClock.Instant) async {
        while ContinuousClock.now < deadline, let id = claim() {
            let result = await RequestDeadline.$current.withValue(deadline) { await attempt(id) }
            inFlight.withLock { _ = $0.remove(id) }
            if case .failed = result { break }
        }
    }

    enum AttemptResult {
        case done
        case failed(afterTimeout: Bool)
    }

    private func attempt(_ id: SpoolBatchID) async -> AttemptResult {
        guard let batch = spool.load(id) else { return .done }  // corrupt: counted and moved aside by the spool
        switch Settlement.of(await sender.send(batch), batch: batch, selfMetrics: selfMetrics, logger: logger) {
        case .settled(let delivered):
            spool.remove(id)
            if delivered { sent.add(1, ordering: .relaxed) }
            return .done
        case .retry(let reason, let afterTimeout, let remaining):
            if let remaining, !spool.replace(id, with: remaining) {
                // The batch stays whole: what was delivered of it may go twice.
                logger.warning(
                    "cannot shorten a partly delivered batch", metadata: ["kind": "\(sender.kind)", "batch": "\(id)"])
            }
            logger.warning(
                "send failed, will retry",
                metadata: ["kind": "\(sender.kind)", "batch": "\(id)", "reason": "\(reason)"])
            return .failed(afterTimeout: afterTimeout)
        }
    }
}
