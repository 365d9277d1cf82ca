import Logging
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A long-running part of the agent: a source, the flusher, a shipper, the health endpoint.
protocol Service: Sendable {
    /// Runs until the group shuts down. On graceful shutdown (see ``cancelWhenGracefulShutdown(_:)``)
    /// it finishes its work (a last sample, a last flush, a drain) and returns.
    func run() async throws
}

/// One service's graceful-shutdown trigger. The group triggers the services one at a time, the
/// last declared first.
final class GracefulShutdown: Sendable {
    private struct State {
        var triggered = false
        var handlers: [Int: @Sendable () -> Void] = [:]
        var nextID = 0
    }

    private let state = Mutex(State())

    @TaskLocal static var current: GracefulShutdown?

    var isTriggered: Bool { state.withLock { $0.triggered } }

    func trigger() {
        let handlers = state.withLock { state -> [@Sendable () -> Void] in
            guard !state.triggered else { return [] }
            state.triggered = true
            defer { state.handlers = [:] }
            return Array(state.handlers.values)
        }
        for handler in handlers { handler() }
    }

    /// Runs `handler` when triggered (at once when it already was); nil then, else an id for
    /// ``remove(_:)``.
    func onTrigger(_ handler: @escaping @Sendable () -> Void) -> Int? {
        let id = state.withLock { state -> Int? in
            guard !state.triggered else { return nil }
            state.nextID += 1
            state.handlers[state.nextID] = handler
            return state.nextID
        }
        if id == nil { handler() }
        return id
    }

    func remove(_ id: Int?) {
        guard let id else { return }
        _ = state.withLock { $0.handlers.removeValue(forKey: id) }
    }
}

extension Task where Success == Never, Failure == Never {
    /// Whether the running service was told to shut down gracefully.
    static var isShuttingDownGracefully: Bool { GracefulShutdown.current?.isTriggered ?? false }
}

/// Runs `operation` and cancels it when the running service is told to shut down gracefully
/// (or when the calling task is cancelled).
func cancelWhenGracefulShutdown<T: Sendable>(_ operation: @escaping @Sendable () async throws -> T) async throws -> T {
    let task = Task { try await operation() }
    let id = GracefulShutdown.current?.onTrigger { task.cancel() }
    defer { GracefulShutdown.current?.remove(id) }
    return try await withTaskCancellationHandler {
        try await task.value
    } onCancel: {
        task.cancel()
    }
}

/// ``cancelWhenGracefulShutdown(_:)`` for an operation that does not throw.
func cancelWhenGracefulShutdown<T: Sendable>(_ operation: @escaping @Sendable () async -> T) async -> T {
    let task = Task { await operation() }
    let id = GracefulShutdown.current?.onTrigger { task.cancel() }
    defer { GracefulShutdown.current?.remove(id) }
    return await withTaskCancellationHandler {
        await task.value
    } onCancel: {
        task.cancel()
    }
}

/// Runs the agent's services together until SIGTERM or SIGINT, then shuts them down gracefully in
/// reverse order, each finishing before the next is told: the sources take their last sample,
/// then the flusher flushes, then the shippers drain, and nothing collected is lost. Past
/// `maximumGracefulShutdownDuration` the rest is cancelled. A service that ends on its own (an
/// error, or returning early) cancels the group, and `run` throws, unless it is marked to be
/// ignored (the health endpoint) or to start the shutdown when it succeeds (`--once`).
///
/// (swift-service-lifecycle does this too; the agent carries these 200 lines instead of it, its
/// AsyncAlgorithms and collections, which took 1.4 MB of the agent's resident memory.)
struct ServiceGroup {
    struct Entry {
        var service: any Service
        /// Its end, success or failure, leaves the others running.
        var ignoresTermination = false
        /// Its successful end starts the graceful shutdown.
        var shutsDownGroupOnSuccess = false
    }

    struct ServiceFailed: Error, CustomStringConvertible {
        let description: String
    }

    let entries: [Entry]
    let signals: [Int32]
    let maximumGracefulShutdownDuration: Double
    let logger: Logger

    private enum Event: Sendable {
        case finished(Int, String?)
        case signal(Int32)
        case deadline
    }

    func run() async throws {
        let shutdowns = entries.map { _ in GracefulShutdown() }
        let (signalStream, listening) = try SignalCatcher.shared.listen(to: signals)
        defer { SignalCatcher.shared.stop(listening) }

        var failure: String?
        await withTaskGroup(of: Event.self) { group in
            for (index, entry) in entries.enumerated() {
                group.addTask {
                    do {
                        try await GracefulShutdown.$current.withValue(shutdowns[index]) {
                            try await entry.service.run()
                        }
                        return .finished(index, nil)
                    } catch {
                        return .finished(index, "\(error)")
                    }
                }
            }
            group.addTask {
                for await number in signalStream { return .signal(number) }
                return .signal(0)
            }

            var running = Set(entries.indices)
            var pending = Array(entries.indices)  // shut down from the end
            var awaited: Int?
            var shuttingDown = false

            func shutDownNext() {
                while let next = pending.popLast() {
                    guard running.contains(next) else { continue }
                    awaited = next
                    logger.debug("shutting down", metadata: ["service": "\(entries[next].service)"])
                    shutdowns[next].trigger()
                    return
                }
                awaited = nil
            }

            func beginShutdown(_ why: String) {
                guard !shuttingDown else { return }
                shuttingDown = true
                logger.info("graceful shutdown", metadata: ["reason": "\(why)"])
                let seconds = maximumGracefulShutdownDuration
                group.addTask {
                    try? await Task.sleep(for: .seconds(seconds))
                    return .deadline
                }
                shutDownNext()
            }

            while let event = await group.next() {
                switch event {
                case .signal(let number):
                    if number != 0 { beginShutdown("signal \(number)") }
                case .deadline:
                    if !running.isEmpty && !Task.isCancelled {
                        logger.error(
                            "graceful shutdown took too long; cancelling what still runs",
                            metadata: ["services": "\(running.sorted().map { "\(entries[$0].service)" })"])
                        group.cancelAll()
                    }
                case .finished(let index, let error):
                    running.remove(index)
                    let entry = entries[index]
                    if failure != nil {
                        // Cancelled because another failed: that one is the cause, not these.
                    } else if shuttingDown {
                        if let error {
                            logger.error(
                                "service failed while shutting down",
                                metadata: ["service": "\(entry.service)", "error": "\(error)"])
                        }
                        if awaited == index { shutDownNext() }
                    } else if entry.ignoresTermination {
                        if let error {
                            logger.error(
                                "service failed; the others go on",
                                metadata: ["service": "\(entry.service)", "error": "\(error)"])
                        }
                    } else if error == nil && entry.shutsDownGroupOnSuccess {
                        beginShutdown("\(entry.service) finished")
                    } else {
                        failure = "\(entry.service) " + (error.map { "failed: \($0)" } ?? "finished unexpectedly")
                        logger.error(
                            "service ended; stopping the agent",
                            metadata: ["service": "\(entry.service)", "error": "\(error ?? "none")"])
                        group.cancelAll()
                    }
                }
                if running.isEmpty { break }
            }
            group.cancelAll()
        }
        if let failure { throw ServiceFailed(description: failure) }
    }
}
