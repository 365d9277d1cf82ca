import Synchronization

/// Wakes tasks that wait for something to do, instead of their polling on a timer: an idle agent
/// then takes no wake-up at all. `ring()` wakes every task waiting; rung while none waits, the
/// next `wait()` returns at once (a ring is never missed between a check and a wait).
package final class Doorbell: Sendable {
    private struct State {
        var rung = false
        var next = 0
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
    }

    private let state = Mutex(State())

    package init() {}

    /// Wakes the waiting tasks, or the next one to wait.
    package func ring() {
        let waiters = state.withLock { state in
            let waiters = Array(state.waiters.values)
            state.waiters = [:]
            state.rung = waiters.isEmpty
            return waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns once rung (or at once if rung since the last wait), or when the task is cancelled.
    package func wait() async {
        let id = state.withLock { state in
            state.next += 1
            return state.next
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state in
                    if state.rung || Task.isCancelled {
                        state.rung = false
                        return true
                    }
                    state.waiters[id] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { $0.waiters.removeValue(forKey: id) }
            waiter?.resume()
        }
    }

    /// Returns once rung, or after `seconds`, or when the task is cancelled: true when rung.
    @discardableResult
    package func wait(atMost seconds: Double) async -> Bool {
        await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                await self.wait()
                return !Task.isCancelled
            }
            group.addTask {
                try? await Task.sleep(for: .seconds(seconds))
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
    }
}
