import Synchronization
import Testing

@testable import ObsCore

@Suite struct DoorbellTests {
    final class Count: Sendable {
        let value = Atomic<Int>(0)
    }

    @Test func aRingWakesEveryWaiter() async {
        let bell = Doorbell()
        let woken = Count()
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<3 {
                group.addTask {
                    await bell.wait()
                    // Woken by a ring, not let go by the cancellation at the end.
                    if !Task.isCancelled { woken.value.add(1, ordering: .relaxed) }
                }
            }
            // Ring until all three woke (each ring wakes every waiter there is at that moment), for
            // at most 60 s (other suites may hold the task pool's threads for seconds, as under
            // ThreadSanitizer); then the waiters still waiting are let go by cancellation.
            let start = ContinuousClock.now
            while woken.value.load(ordering: .relaxed) < 3, ContinuousClock.now - start < .seconds(60) {
                bell.ring()
                try? await Task.sleep(for: .milliseconds(1))
            }
            group.cancelAll()
        }
        #expect(woken.value.load(ordering: .relaxed) == 3)
    }

    @Test func aRingWithNobodyWaitingIsKeptForTheNextWait() async {
        let bell = Doorbell()
        bell.ring()
        #expect(await bell.wait(atMost: 5), "the ring made before the wait was kept for it")
        #expect(await bell.wait(atMost: 0.05) == false, "the ring was taken by the first wait")
    }

    @Test func cancellingAWaitingTaskEndsItsWait() async {
        let bell = Doorbell()
        let task = Task { await bell.wait() }
        task.cancel()
        await task.value
        // And a task cancelled before it waits does not wait at all.
        let cancelled = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            await bell.wait()
            return Task.isCancelled
        }
        #expect(await cancelled.value)
    }

    @Test func aTimedWaitSaysWhetherItWasRung() async {
        let bell = Doorbell()
        #expect(await bell.wait(atMost: 0.01) == false)
        let waiter = Task { await bell.wait(atMost: 30) }
        try? await Task.sleep(for: .milliseconds(20))
        bell.ring()  // kept if the waiter is not waiting yet: either way it returns rung
        #expect(await waiter.value)
    }

    @Test func aRingFillingAQuarterRingsTheRecordersDoorbell() async {
        let recorder = Recorder(ringCapacity: 64)
        let producer = recorder.makeProducer(name: "test")
        let series = recorder.series(
            MetricDescriptor(namespace: "Test", name: "Count", unit: .count, kind: .counter), Dimensions())
        for _ in 0..<15 { producer.record(series, 1) }
        #expect(await recorder.ringsFilling.wait(atMost: 0.05) == false, "15 of 64: not a quarter yet")
        producer.record(series, 1)
        #expect(await recorder.ringsFilling.wait(atMost: 5), "16 of 64 rang")
    }
}
