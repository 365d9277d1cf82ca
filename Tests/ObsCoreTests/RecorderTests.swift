import Foundation
import Testing

@testable import ObsCore

@Suite struct RecorderTests {
    let counter = MetricDescriptor(namespace: "Test", name: "Requests", unit: .count, kind: .counter)
    let gauge = MetricDescriptor(namespace: "Test", name: "Open", unit: .count, kind: .gauge)

    @Test func counterFlushesTheSumOfItsDeltas() {
        let recorder = Recorder()
        let aggregator = Aggregator(recorder: recorder)
        let producer = recorder.makeProducer(name: "p")
        let series = recorder.series(counter, Dimensions([("Service", "user")]))
        for delta in [1.0, 2, 3, 4] { producer.record(series, delta) }
        let data = aggregator.flush(timestamp: 60)
        #expect(data.count == 1)
        #expect(data.first?.value == .single(10))
        #expect(data.first?.timestamp == 60)
        #expect(aggregator.flush(timestamp: 120).isEmpty, "an interval with no observation sends nothing")
    }

    @Test func gaugeFlushesAStatisticSet() {
        let recorder = Recorder()
        let aggregator = Aggregator(recorder: recorder)
        let producer = recorder.makeProducer(name: "p")
        let series = recorder.series(gauge, Dimensions())
        for value in [5.0, 1, 9] { producer.record(series, value) }
        let datum = aggregator.flush(timestamp: 0).first
        #expect(datum?.value == .statistics(StatisticSet(sampleCount: 3, sum: 15, minimum: 1, maximum: 9)))
        #expect(datum?.last == 9)
    }

    @Test func weightedObservationsKeepExactCountsAndSums() throws {
        let recorder = Recorder()
        let aggregator = Aggregator(recorder: recorder)
        let producer = recorder.makeProducer(name: "p")
        let latency = MetricDescriptor(namespace: "Test", name: "Latency", unit: .milliseconds, kind: .distribution)
        let series = recorder.series(latency, Dimensions())
        producer.record(series, 75, weight: 90)
        producer.record(series, 750, weight: 10)
        producer.record(series, 5, weight: 40_000_000)  // more than one entry holds
        producer.record(series, 1, weight: 0)  // nothing
        producer.record(series, 1, weight: .nan)  // nothing
        let datum = try #require(aggregator.flush(timestamp: 0).first)
        guard case .distribution(let statistics, let buckets) = datum.value else {
            Issue.record("not a distribution: \(datum.value)")
            return
        }
        #expect(statistics.sampleCount == 40_000_100)
        let expectedSum: Double = 6_750 + 7_500 + 200_000_000
        #expect(statistics.sum == expectedSum)
        #expect(statistics.minimum == 5 && statistics.maximum == 750)
        #expect(buckets.map(\.count) == [40_000_000, 90, 10])
    }

    @Test func rollupsFoldSeriesIntoTheirDimensionSubsets() throws {
        let latency = MetricDescriptor(namespace: "Test", name: "Latency", unit: .milliseconds, kind: .distribution)
        let recorder = Recorder()
        let aggregator = Aggregator(recorder: recorder, rollups: [counter: [["Service"], []], latency: [["Service"]]])
        let producer = recorder.makeProducer(name: "p")
        let a = recorder.series(counter, Dimensions([("Service", "user"), ("Route", "/a")]))
        let b = recorder.series(counter, Dimensions([("Service", "user"), ("Route", "/b")]))
        let c = recorder.series(counter, Dimensions([("Service", "order"), ("Route", "/a")]))
        producer.record(a, 1)
        producer.record(b, 2)
        producer.record(c, 4)
        let la = recorder.series(latency, Dimensions([("Service", "user"), ("Route", "/a")]))
        let lb = recorder.series(latency, Dimensions([("Service", "user"), ("Route", "/b")]))
        producer.record(la, 10, weight: 3)
        producer.record(lb, 1000)
        var byKey: [String: MetricDatum] = [:]
        for datum in aggregator.flush(timestamp: 0) { byKey["\(datum.descriptor.name){\(datum.dimensions)}"] = datum }
        #expect(byKey["Requests{Service=user}"]?.value == .single(3))
        #expect(byKey["Requests{Service=order}"]?.value == .single(4))
        #expect(byKey["Requests{}"]?.value == .single(7))
        #expect(byKey["Requests{Route=/a,Service=user}"]?.value == .single(1), "the series themselves are kept")
        guard case .distribution(let statistics, let buckets) = try #require(byKey["Latency{Service=user}"]).value
        else {
            Issue.record("no rolled-up distribution")
            return
        }
        #expect(statistics == StatisticSet(sampleCount: 4, sum: 1030, minimum: 10, maximum: 1000))
        #expect(buckets.map(\.count) == [3, 1], "histograms merge exactly")
        #expect(byKey.count == 9, "3 + 3 counters, 2 + 1 distributions")
    }

    @Test func aRollupsOnlyMetricPublishesOnlyItsRollups() {
        let latency = MetricDescriptor(namespace: "Test", name: "Latency", unit: .milliseconds, kind: .distribution)
        let recorder = Recorder()
        let aggregator = Aggregator(
            recorder: recorder, rollups: [counter: [["Service"]], latency: [["Service"]]], rollupsOnly: [counter])
        let producer = recorder.makeProducer(name: "p")
        producer.record(recorder.series(counter, Dimensions([("Service", "user"), ("Route", "/a")])), 1)
        producer.record(recorder.series(counter, Dimensions([("Service", "user"), ("Route", "/b")])), 2)
        producer.record(recorder.series(latency, Dimensions([("Service", "user"), ("Route", "/a")])), 10)
        let names = aggregator.flush(timestamp: 0).map { "\($0.descriptor.name){\($0.dimensions)}" }.sorted()
        #expect(names == ["Latency{Route=/a,Service=user}", "Latency{Service=user}", "Requests{Service=user}"])
        producer.record(recorder.series(counter, Dimensions([("Service", "user"), ("Route", "/a")])), 5)
        #expect(
            aggregator.flush(timestamp: 60).map(\.value) == [.single(5)], "the next interval starts from zero")
    }

    @Test func sameDimensionsInAnyOrderAreOneSeries() {
        let recorder = Recorder()
        let a = recorder.series(counter, Dimensions([("A", "1"), ("B", "2")]))
        let b = recorder.series(counter, Dimensions([("B", "2"), ("A", "1")]))
        #expect(a == b)
    }

    @Test func aFullRingDropsTheNewestAndCountsIt() {
        let recorder = Recorder(ringCapacity: 8)
        let aggregator = Aggregator(recorder: recorder)
        let producer = recorder.makeProducer(name: "p")
        let series = recorder.series(counter, Dimensions())
        for _ in 0..<20 { producer.record(series, 1) }
        #expect(producer.droppedCount == 12)
        #expect(recorder.ringDrops == 12)
        #expect(aggregator.flush(timestamp: 0).first?.value == .single(8), "what the ring held is kept")
        producer.record(series, 1)
        #expect(aggregator.flush(timestamp: 60).first?.value == .single(1), "a drained ring accepts again")
    }

    @Test func seriesPastTheCardinalityLimitFoldIntoOneOverflowSeries() {
        let recorder = Recorder(cardinalityLimit: 3)
        let aggregator = Aggregator(recorder: recorder)
        let producer = recorder.makeProducer(name: "p")
        for i in 0..<10 {
            producer.record(recorder.series(counter, Dimensions([("Route", "/r\(i)")])), 1)
        }
        let data = aggregator.flush(timestamp: 0)
        #expect(data.count == 4)
        let overflow = data.first { $0.dimensions["Route"] == Recorder.overflowValue }
        #expect(overflow?.value == .single(7))
        #expect(recorder.selfMetrics[.seriesOverflow] == 7)
    }

    @Test func concurrentProducersGiveExactTotals() async {
        let recorder = Recorder(ringCapacity: 1 << 20)
        let aggregator = Aggregator(recorder: recorder)
        let series = recorder.series(counter, Dimensions())
        let perProducer = 200_000
        await withTaskGroup(of: Void.self) { group in
            for p in 0..<4 {
                let producer = recorder.makeProducer(name: "p\(p)")
                group.addTask {
                    for _ in 0..<perProducer { producer.record(series, 1) }
                }
            }
            // Drain while they record, as the flush loop would.
            group.addTask { for _ in 0..<50 { aggregator.drain() } }
        }
        #expect(aggregator.flush(timestamp: 0).first?.value == .single(Double(4 * perProducer)))
        #expect(recorder.ringDrops == 0)
    }

    @Test func counterTrackerHandlesBaselineAndResets() {
        var tracker = CounterTracker<String>()
        #expect(tracker.delta("x", 100) == nil)
        #expect(tracker.delta("x", 130) == 30)
        #expect(tracker.delta("x", 5) == 5)
        #expect(tracker.resets == 1)
        #expect(tracker.delta("x", 5) == 0)
    }

    @Test func flushTimestampsFallOnIntervalBoundaries() {
        #expect(FlushClock.boundary(125.5, interval: 60) == 120)
        #expect(FlushClock.untilNextBoundary(125, interval: 60) == 55)
        #expect(FlushClock.boundary(59.9, interval: 1) == 59)
    }
}
