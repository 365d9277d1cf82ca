import Foundation
import Logging
import ObsAWS
import ObsCore
import ObsNet
import Synchronization
import Testing

@testable import ObsDelivery

/// A sender that answers from a script, one outcome per call, and records what it was sent.
final class ScriptedSender: BatchSender, @unchecked Sendable {
    let kind = "put-metric-data"
    private let state: Mutex<(script: [SendOutcome], sent: [Int64])>

    init(_ script: [SendOutcome]) {
        state = Mutex((script, []))
    }

    func send(_ batch: SpooledBatch) async -> SendOutcome {
        state.withLock { state in
            state.sent.append(batch.created)
            return state.script.isEmpty ? .delivered : state.script.removeFirst()
        }
    }

    var sent: [Int64] { state.withLock { $0.sent } }
}

/// A sender that takes a while and notes how many sends overlap. With a `gate`, sends also wait
/// until that many overlap (for at most 30 s from the sender's creation), so that workers a busy
/// test runner starts late still meet.
final class SlowSender: BatchSender, @unchecked Sendable {
    let kind = "put-metric-data"
    private let state = Mutex<(current: Int, most: Int, sent: [Int64])>((0, 0, []))
    private let gate: Int
    private let gateDeadline = ContinuousClock.now + .seconds(30)

    init(gate: Int = 0) { self.gate = gate }

    func send(_ batch: SpooledBatch) async -> SendOutcome {
        state.withLock {
            $0.current += 1
            $0.most = max($0.most, $0.current)
        }
        while most < gate, ContinuousClock.now < gateDeadline { try? await Task.sleep(for: .milliseconds(5)) }
        try? await Task.sleep(for: .milliseconds(30))
        state.withLock {
            $0.current -= 1
            $0.sent.append(batch.created)
        }
        return .delivered
    }

    var most: Int { state.withLock { $0.most } }
    var sent: [Int64] { state.withLock { $0.sent } }
}

@Suite struct SpoolShipperTests {
    @Test func workersSendAtOnceAndEachBatchOnce() async throws {
        let metrics = SelfMetrics()
        let (spool, dir) = try spool(metrics)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for n in 0..<40 { try spool.append(batch(Int64(n))) }
        let sender = SlowSender(gate: 4)
        let shipper = SpoolShipper(
            spool: spool, sender: sender, selfMetrics: metrics, logger: Logger(label: "test"),
            concurrency: 4)
        let task = Task { await shipper.run() }
        for _ in 0..<3000 where !spool.pending(kind: "put-metric-data").isEmpty {
            try await Task.sleep(for: .milliseconds(20))
        }
        task.cancel()
        await task.value
        #expect(spool.pending(kind: "put-metric-data").isEmpty)
        #expect(sender.sent.sorted() == (0..<40).map { Int64($0) }, "every batch sent exactly once")
        #expect(sender.most == 4, "four at once")
        #expect(shipper.delivered == 40)
    }

    func spool(_ metrics: SelfMetrics) throws -> (DiskSpool, String) {
        let dir = NSTemporaryDirectory() + "obs-shipper-test-\(UUID().uuidString)"
        return (try DiskSpool(directory: dir, maxBytes: 1 << 20, selfMetrics: metrics), dir)
    }

    func batch(_ n: Int64, items: Int = 2) -> SpooledBatch {
        SpooledBatch(kind: "put-metric-data", created: n, items: items, payload: [1, 2, 3])
    }

    @Test func retryableFailuresKeepTheBatchUntilItIsAccepted() async throws {
        let metrics = SelfMetrics()
        let (spool, dir) = try spool(metrics)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try spool.append(batch(1))
        try spool.append(batch(2))
        let sender = ScriptedSender([
            .retry(reason: "HTTP 503", afterTimeout: false), .retry(reason: "Throttling", afterTimeout: false),
            .retry(reason: "timeout", afterTimeout: true),
        ])
        let shipper = SpoolShipper(
            spool: spool, sender: sender, retry: RetryPolicy(baseBackoff: 0.01, maxBackoff: 0.05), selfMetrics: metrics,
            logger: Logger(label: "test"))
        let task = Task { await shipper.run() }
        for _ in 0..<200 where !spool.pending().isEmpty { try await Task.sleep(for: .milliseconds(10)) }
        task.cancel()
        await task.value
        #expect(spool.pending().isEmpty)
        #expect(sender.sent == [1, 1, 1, 1, 2], "the oldest batch first, until accepted, then the next")
        #expect(metrics[.requestRetried] == 3)
        #expect(metrics[.batchRejected] == 0)
    }

    @Test func aBatchRefusedForGoodIsRemovedAndCounted() async throws {
        let metrics = SelfMetrics()
        let (spool, dir) = try spool(metrics)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try spool.append(batch(1, items: 5))
        try spool.append(batch(2, items: 4))
        let sender = ScriptedSender([
            .rejected(reason: "HTTP 400 InvalidParameterValue"),
            .partiallyDelivered(rejected: 1, reason: .batchRejected),
        ])
        let shipper = SpoolShipper(spool: spool, sender: sender, selfMetrics: metrics, logger: Logger(label: "test"))
        await shipper.drain(within: 5)
        #expect(spool.pending().isEmpty)
        #expect(metrics[.batchRejected] == 6)
        #expect(shipper.delivered == 1)
    }

    @Test func drainAtShutdownStopsAtTheFirstFailureAndKeepsTheRest() async throws {
        let metrics = SelfMetrics()
        let (spool, dir) = try spool(metrics)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for n in 1...3 { try spool.append(batch(Int64(n))) }
        let sender = ScriptedSender([.delivered, .retry(reason: "HTTP 503", afterTimeout: false)])
        let shipper = SpoolShipper(spool: spool, sender: sender, selfMetrics: metrics, logger: Logger(label: "test"))
        await shipper.drain(within: 5)
        #expect(spool.pending().count == 2, "kept for the next start")
    }

    @Test func drainAtShutdownSendsWithAsManyWorkersAsTheRun() async throws {
        let metrics = SelfMetrics()
        let (spool, dir) = try spool(metrics)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for n in 0..<40 { try spool.append(batch(Int64(n))) }
        let sender = SlowSender(gate: 4)
        let shipper = SpoolShipper(
            spool: spool, sender: sender, selfMetrics: metrics, logger: Logger(label: "test"), concurrency: 4)
        await shipper.drain(within: 60)
        #expect(spool.pending().isEmpty)
        #expect(sender.sent.sorted() == (0..<40).map { Int64($0) }, "every batch sent exactly once")
        #expect(sender.most == 4, "four at once, as while running")
    }

    @Test func drainSendsUnderTheShutdownDeadlineAndRunDoesNot() async throws {
        final class DeadlineSender: BatchSender, @unchecked Sendable {
            let kind = "put-metric-data"
            let seen = Mutex<[ContinuousClock.Instant?]>([])
            func send(_ batch: SpooledBatch) async -> SendOutcome {
                seen.withLock { $0.append(RequestDeadline.current) }
                return .delivered
            }
        }
        let metrics = SelfMetrics()
        let (spool, dir) = try spool(metrics)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try spool.append(batch(1))
        let sender = DeadlineSender()
        let shipper = SpoolShipper(
            spool: spool, sender: sender, selfMetrics: metrics, logger: Logger(label: "test"))
        let task = Task { await shipper.run() }
        for _ in 0..<3000 where !spool.pending().isEmpty { try await Task.sleep(for: .milliseconds(20)) }
        task.cancel()
        await task.value
        try spool.append(batch(2))
        let before = ContinuousClock.now
        await shipper.drain(within: 30)
        let seen = sender.seen.withLock { $0 }
        #expect(seen.count == 2)
        #expect(seen.first == .some(nil), "while running, a request has only the transport's own timeouts")
        let deadline = try #require(seen.last ?? nil, "at shutdown, the drain's deadline")
        #expect(deadline > before + .seconds(29) && deadline <= ContinuousClock.now + .seconds(30))
    }

    @Test func drainWorkersEachStopAtTheirFirstFailure() async throws {
        let metrics = SelfMetrics()
        let (spool, dir) = try spool(metrics)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for n in 1...10 { try spool.append(batch(Int64(n))) }
        // Every send fails: each of the three workers tries once and stops.
        let sender = ScriptedSender(Array(repeating: .retry(reason: "HTTP 503", afterTimeout: false), count: 10))
        let shipper = SpoolShipper(
            spool: spool, sender: sender, selfMetrics: metrics, logger: Logger(label: "test"), concurrency: 3)
        await shipper.drain(within: 60)
        #expect(sender.sent.count == 3)
        #expect(spool.pending().count == 10, "kept for the next start")
    }

    @Test func drainStopsTakingBatchesAtTheDeadline() async throws {
        let metrics = SelfMetrics()
        let (spool, dir) = try spool(metrics)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for n in 0..<40 { try spool.append(batch(Int64(n))) }
        let sender = SlowSender()  // 30 ms a send
        let shipper = SpoolShipper(
            spool: spool, sender: sender, selfMetrics: metrics, logger: Logger(label: "test"), concurrency: 2)
        await shipper.drain(within: 0.1)
        #expect(sender.sent.count < 40, "\(sender.sent.count) sent")
        #expect(spool.pending().count == 40 - sender.sent.count, "what was not sent waits")
    }

    @Test func theRetryQuotaRunsOutAndRefills() {
        let policy = RetryPolicy()
        var granted = 0
        while policy.acquireRetry(afterTimeout: false) { granted += 1 }
        #expect(granted == RetryPolicy.quotaCapacity / RetryPolicy.retryCost)
        #expect(!policy.acquireRetry(afterTimeout: true))
        policy.recordSuccess(retryCostsTaken: 10)
        #expect(policy.availableTokens == 10)
        for attempt in 1...10 { #expect((0...policy.maxBackoff).contains(policy.backoff(attempt: attempt))) }
        #expect(RetryPolicy(baseBackoff: 1, maxBackoff: 20).backoff(attempt: 1) <= 2)
    }
}
