import Foundation
import Logging
import ObsCatalog
import ObsCore
import ObsDelivery
import Synchronization
import Testing

@testable import ObsAgent

/// A sink that keeps what it is given.
final class RecordingSink: MetricSink, @unchecked Sendable {
    let name = "recording"
    private let batches = Mutex([[MetricDatum]]())
    func publish(_ data: [MetricDatum]) async { batches.withLock { $0.append(data) } }
    var all: [[MetricDatum]] { batches.withLock { $0 } }
}

@Suite struct FlushServiceTests {
    @Test func ringsAreDrainedBetweenFlushesSoABusySourceNeverFillsOne() async throws {
        let recorder = Recorder(ringCapacity: 1024)
        let aggregator = Aggregator(recorder: recorder)
        let sink = RecordingSink()
        let service = FlushService(
            aggregator: aggregator, sink: sink, interval: 3600, highResolution: false,
            reporter: SelfMetricsReporter(recorder: recorder), logger: Logger(label: "test"))
        let busy = MetricDescriptor(namespace: "Test", name: "Busy", unit: .count, kind: .counter)
        let producer = recorder.makeProducer(name: "test")
        let series = recorder.series(busy, Dimensions())
        let task = Task { try await service.run() }
        // 12,000 observations, 200 at a time into a ring of 1,024, each chunk once the ring holds
        // at most 512: it is drained each time it fills a quarter although no flush comes within
        // the hour-long interval, so it never overflows (undrained, it would be full after five).
        for _ in 0..<60 {
            for _ in 0..<200 { producer.record(series, 1) }
            for _ in 0..<1000 where producer.pending > 512 { try await Task.sleep(for: .milliseconds(10)) }
            #expect(producer.pending <= 512, "drained between flushes")
        }
        #expect(sink.all.isEmpty, "no flush yet: the drains did it")
        task.cancel()
        try await task.value
        let total = sink.all.flatMap { $0 }.filter { $0.descriptor.name == "Busy" }.reduce(0.0) {
            if case .single(let v) = $1.value { return $0 + v }
            return $0
        }
        #expect(recorder.ringDrops == 0)
        #expect(total == 12_000, "every observation in the final flush")
    }

    @Test func highResolutionMetricsFlushEverySecondAndTheRestAtTheInterval() async throws {
        let recorder = Recorder(ringCapacity: 64)
        let aggregator = Aggregator(recorder: recorder)
        let sink = RecordingSink()
        let service = FlushService(
            aggregator: aggregator, sink: sink, interval: 60, highResolution: true,
            reporter: SelfMetricsReporter(recorder: recorder), logger: Logger(label: "test"))
        let fast = MetricDescriptor(namespace: "Test", name: "Fast", unit: .count, kind: .counter, storageResolution: 1)
        let slow = MetricDescriptor(namespace: "Test", name: "Slow", unit: .count, kind: .counter)
        let producer = recorder.makeProducer(name: "test")
        let fastSeries = recorder.series(fast, Dimensions())
        let slowSeries = recorder.series(slow, Dimensions())
        let started = FlushClock.now()
        let task = Task { try await service.run() }
        for _ in 0..<14 {
            producer.record(fastSeries, 1)
            producer.record(slowSeries, 1)
            try await Task.sleep(for: .milliseconds(200))
        }
        for _ in 0..<100 { producer.record(slowSeries, 1) }  // overflows the 64-entry ring: dropped and counted
        task.cancel()
        try await task.value

        let batches = sink.all
        let fastBatches = batches.filter { $0.contains { $0.descriptor.name == "Fast" } }
        #expect(fastBatches.count >= 3, "a flush a second: \(batches.count) batches")
        let fastTimestamps = fastBatches.flatMap { $0 }.filter { $0.descriptor.name == "Fast" }.map(\.timestamp)
        #expect(Set(fastTimestamps).count >= 2)
        let everything = batches.flatMap { $0 }
        func total(_ name: String) -> Double {
            everything.filter { $0.descriptor.name == name }.reduce(0) {
                if case .single(let v) = $1.value { return $0 + v }
                return $0
            }
        }
        #expect(total("Fast") == 14, "every fast observation flushed once")
        // A run that crosses a minute boundary (a slow machine, or bad luck) flushes once more.
        let boundaries =
            Int(FlushClock.boundary(FlushClock.now(), interval: 60) - FlushClock.boundary(started, interval: 60)) / 60
        #expect(
            everything.filter { $0.descriptor.name == "Slow" }.count <= 1 + boundaries,
            "the standard-resolution metric waits for the interval or the final flush")
        #expect(total("Slow") + Double(recorder.ringDrops) == 114, "accepted or counted as dropped, nothing else")
        let dropped = everything.first {
            $0.descriptor.name == AgentMetrics.dropped.name && $0.dimensions["Reason"] == "ring_full"
        }
        #expect(dropped?.value == .single(Double(recorder.ringDrops)))
        #expect(recorder.ringDrops > 0)
    }
}
