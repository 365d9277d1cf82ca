import CObsNet
import ObsCore
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The process's signals for the service group, caught by a handler of the agent's own
/// (`obs_signal_catch`: sigaction and a self-pipe) and read by one thread that hands each to the
/// groups listening for it.
///
/// A signal is caught from the moment ``listen(to:)`` returns. (A Dispatch signal source, used
/// before, set the signal to be ignored at once but took it only once libdispatch's manager thread
/// had registered the source, later: a SIGTERM in between was lost, and the agent ran on until
/// the orchestrator's SIGKILL.)
final class SignalCatcher: Sendable {
    static let shared = SignalCatcher()

    struct CatchFailed: Error, CustomStringConvertible {
        let signal: Int32
        let errno: Int32
        var description: String { "cannot catch signal \(signal): \(String(cString: strerror(errno)))" }
    }

    private struct Listener {
        var signals: Set<Int32>
        var continuation: AsyncStream<Int32>.Continuation
    }

    private struct State {
        var reading = false
        var listeners: [Int: Listener] = [:]
        var nextID = 0
    }

    private let state = Mutex(State())

    private init() {}

    /// Catches `signals` (before it returns) and yields each one that arrives until ``stop(_:)``.
    /// Signals that arrive with no one listening for them are dropped, as ignored ones would be.
    func listen(to signals: [Int32]) throws -> (stream: AsyncStream<Int32>, id: Int) {
        var pipe: Int32 = -1
        for number in signals {
            let result = obs_signal_catch(number)
            guard result >= 0 else { throw CatchFailed(signal: number, errno: -result) }
            pipe = result
        }
        let (stream, continuation) = AsyncStream.makeStream(of: Int32.self)
        let (id, startReading) = state.withLock { state -> (Int, Bool) in
            let id = state.nextID
            state.nextID += 1
            state.listeners[id] = Listener(signals: Set(signals), continuation: continuation)
            let start = pipe >= 0 && !state.reading
            if start { state.reading = true }
            return (id, start)
        }
        if startReading {
            let descriptor = pipe
            OSThread.start(name: "obs.signals") { [self] in readLoop(descriptor) }
        }
        return (stream, id)
    }

    /// Ends the listener's stream; its signals are dropped from now on.
    func stop(_ id: Int) {
        let listener = state.withLock { $0.listeners.removeValue(forKey: id) }
        listener?.continuation.finish()
    }

    private func readLoop(_ descriptor: Int32) {
        var byte: UInt8 = 0
        while true {
            let count = read(descriptor, &byte, 1)
            if count == 1 {
                let number = Int32(byte)
                state.withLock { state in
                    for listener in state.listeners.values where listener.signals.contains(number) {
                        listener.continuation.yield(number)
                    }
                }
            } else if count < 0 && errno == EINTR {
                continue
            } else {
                return  // the pipe is never closed; nothing else can happen
            }
        }
    }
}
