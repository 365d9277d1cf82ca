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
        private let running = Atomic<Int>(0)
        func add(_ line: String) { lines.withLock { $0.append(line) } }
        var all: [String] { lines.withLock { $0 } }
        func started() { running.add(1, ordering: .relaxed) }
        var startedCount: Int { running.load(ordering: .relaxed) }
    }

    /// Records when it was told to shut down and when it finished.
    struct Recording: Service, CustomStringConvertible {
        let name: String
        let log: Log
        /// Seconds it takes to finish once told (its last sample, flush or drain).
        var finishing: Double = 0.05
        /// Sends this signal to the process the moment it starts.
        var raising: Int32?
        var description: String { name }

        func run() async throws {
            log.started()
            if let raising { kill(getpid(), raising) }
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

    final class Flag: Sendable {
        private let value = Atomic<Bool>(false)
        func set() { value.store(true, ordering: .releasing) }
        var isSet: Bool { value.load(ordering: .acquiring) }
    }

    /// Runs the group; false (and the group cancelled) when it has not finished within `seconds`,
    /// so that a lost signal fails the test instead of waiting out the services' hour.
    static func finishes(_ group: ServiceGroup, within seconds: Double) async throws -> Bool {
        let finished = Flag()
        let run = Task {
            try await group.run()
            finished.set()
        }
        let deadline = ContinuousClock.now + .seconds(seconds)
        while !finished.isSet && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
        guard finished.isSet else {
            run.cancel()
            _ = try? await run.value
            return false
        }
        return true
    }

    @Test func aSignalShutsServicesDownInReverseOrderEachFinishingFirst() async throws {
        let log = Log()
        let group = ServiceGroup(
            entries: ["shipper", "flush", "source"].map { .init(service: Recording(name: $0, log: log)) },
            signals: [SIGUSR2], maximumGracefulShutdownDuration: 10, logger: Self.logger)
        let run = Task { try await group.run() }
        // Services start after the group catches its signals; on a busy runner that may be late.
        let deadline = ContinuousClock.now + .seconds(60)
        while log.startedCount < 3 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
        #expect(log.startedCount == 3)
        kill(getpid(), SIGUSR2)
        try await run.value
        #expect(log.all == ["source told", "source done", "flush told", "flush done", "shipper told", "shipper done"])
    }

    /// A signal that arrives the moment the services start (an orchestrator that stops a task as it
    /// starts) shuts the group down: the signal is caught from when `run` begins, not some time later.
    @Test func aSignalAsTheServicesStartIsNotLost() async throws {
        for round in 0..<20 {
            let log = Log()
            let group = ServiceGroup(
                entries: [.init(service: Recording(name: "source", log: log, raising: SIGUSR2))],
                signals: [SIGUSR2], maximumGracefulShutdownDuration: 10, logger: Self.logger)
            #expect(try await Self.finishes(group, within: 30), "round \(round): the signal was lost")
            #expect(log.all == ["source told", "source done"])
        }
    }

    /// A signal that cannot be caught (SIGKILL) is an error of `run`, before any service starts.
    @Test func aSignalThatCannotBeCaughtIsAnError() async throws {
        let log = Log()
        let group = ServiceGroup(
            entries: [.init(service: Recording(name: "source", log: log))],
            signals: [SIGKILL], maximumGracefulShutdownDuration: 10, logger: Self.logger)
        let error = await #expect(throws: SignalCatcher.CatchFailed.self) { try await group.run() }
        #expect(error?.description == "cannot catch signal 9: Invalid argument")
        #expect(log.startedCount == 0)
    }

    @Test func pastTheDeadlineWhatStillRunsIsCancelled() async throws {
        let log = Log()
        let group = ServiceGroup(
            entries: [
                .init(service: Recording(name: "slow", log: log, finishing: 3600)),
                .init(service: Trigger(), shutsDownGroupOnSuccess: true),
            ],
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
                .init(service: Recording(name: "source", log: log)),
                .init(service: Failing(), ignoresTermination: true),
                .init(service: Trigger(), shutsDownGroupOnSuccess: true),
            ],
            signals: [], maximumGracefulShutdownDuration: 10, logger: Self.logger)
        try await group.run()
        #expect(log.all == ["source told", "source done"])
    }
}
