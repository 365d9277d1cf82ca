import Foundation
import Logging
import Synchronization
import Testing

@testable import ObsAgent

/// The agent's service group, each path: a signal shuts services down in reverse order, each
/// finishing before the next is told; a deadline cancels what does not finish; a service that ends
/// on its own stops the group and is reported; one marked to be ignored is; `--once`'s trigger
/// starts the shutdown. (The end-to-end tests run it inside the agent under SIGTERM.)
@Suite(.serialized) struct ServiceGroupTests {
    final class Log: Sendable {
        private let lines = Mutex<[String]>([])
        func add(_ line: String) { lines.withLock { $0.append(line) } }
        var all: [String] { lines.withLock { $0 } }
    }

    /// Records when it was told to shut down and when it finished.
    struct Recording: Service, CustomStringConvertible {
        let name: String
        let log: Log
        /// Seconds it takes to finish once told (its last sample, flush or drain).
        var finishing: Double = 0.05
        var description: String { name }

        func run() async throws {
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(3600)) }
            log.add("\(name) told")
            try? await Task.sleep(for: .seconds(finishing))
            log.add(Task.isCancelled ? "\(name) cancelled" : "\(name) done")
        }
    }

    struct Failing: Service, CustomStringConvertible {
        struct Broken: Error {}
        var description: String { "failing" }
        func run() async throws {
            try await Task.sleep(for: .milliseconds(50))
            throw Broken()
        }
    }

    struct Trigger: Service, CustomStringConvertible {
        var description: String { "trigger" }
        func run() async throws { try await Task.sleep(for: .milliseconds(50)) }
    }

    static let logger = Logger(label: "test")

    @Test func aSignalShutsServicesDownInReverseOrderEachFinishingFirst() async throws {
        let log = Log()
        let group = ServiceGroup(
            entries: ["shipper", "flush", "source"].map { .init(service: Recording(name: $0, log: log)) },
            signals: [SIGUSR2], maximumGracefulShutdownDuration: 10, logger: Self.logger)
        let run = Task { try await group.run() }
        try await Task.sleep(for: .milliseconds(300))
        kill(getpid(), SIGUSR2)
        try await run.value
        #expect(log.all == ["source told", "source done", "flush told", "flush done", "shipper told", "shipper done"])
    }

    @Test func pastTheDeadlineWhatStillRunsIsCancelled() async throws {
        let log = Log()
        let group = ServiceGroup(
            entries: [.init(service: Recording(name: "slow", log: log, finishing: 3600)), .init(service: Trigger(), shutsDownGroupOnSuccess: true)],
            signals: [], maximumGracefulShutdownDuration: 0.3, logger: Self.logger)
        let start = Date()
        try await group.run()
        #expect(Date().timeIntervalSince(start) < 10)
        #expect(log.all == ["slow told", "slow cancelled"])
    }

    @Test func aServiceThatFailsStopsTheGroupAndIsReported() async throws {
        let log = Log()
        let group = ServiceGroup(
            entries: [.init(service: Recording(name: "source", log: log)), .init(service: Failing())],
            signals: [], maximumGracefulShutdownDuration: 10, logger: Self.logger)
        await #expect(throws: ServiceGroup.ServiceFailed.self) { try await group.run() }
        do {
            try await group.run()
        } catch {
            #expect("\(error)".contains("failing failed"))
        }
        // Cancelled, not told to shut down gracefully: it never finishes its last sample.
        #expect(!log.all.contains("source done"))
    }

    @Test func anIgnoredServiceEndsAndTheOthersGoOnUntilTheTrigger() async throws {
        let log = Log()
        let group = ServiceGroup(
            entries: [
                .init(service: Recording(name: "source", log: log)), .init(service: Failing(), ignoresTermination: true),
                .init(service: Trigger(), shutsDownGroupOnSuccess: true),
            ],
            signals: [], maximumGracefulShutdownDuration: 10, logger: Self.logger)
        try await group.run()
        #expect(log.all == ["source told", "source done"])
    }
}
