import Testing

@testable import ObsCore

/// Property: however observations are spread over producers (shards), and however often the rings
/// are drained in between, a flush gives exactly what recording everything on one thread gives.
/// Checked on 200 generated cases; a failure names its seed.
@Suite struct ShardMergePropertyTests {
    static let descriptors = [
        MetricDescriptor(namespace: "P", name: "C", unit: .count, kind: .counter),
        MetricDescriptor(namespace: "P", name: "G", unit: .count, kind: .gauge),
        MetricDescriptor(namespace: "P", name: "D", unit: .milliseconds, kind: .distribution),
    ]

    struct Observation {
        var metric: Int
        var dimension: Int
        var value: Double
    }

    static func generate(seed: UInt64) -> (observations: [Observation], shards: Int, shardOf: [Int], drainEvery: Int) {
        var rng = SplitMix64(seed: seed)
        let count = Int.random(in: 0...2000, using: &rng)
        let shards = Int.random(in: 1...8, using: &rng)
        // Multiples of 1/8 up to 2^20: every sum is exact in a Double, so order cannot matter.
        let observations = (0..<count).map { _ in
            Observation(
                metric: Int.random(in: 0..<3, using: &rng), dimension: Int.random(in: 0..<5, using: &rng),
                value: Double(Int.random(in: -8000...8_000_000, using: &rng)) / 8)
        }
        let shardOf = observations.map { _ in Int.random(in: 0..<shards, using: &rng) }
        return (observations, shards, shardOf, Int.random(in: 1...500, using: &rng))
    }

    static func flushSharded(_ observations: [Observation], shards: Int, shardOf: [Int], drainEvery: Int)
        -> [MetricDatum]
    {
        let recorder = Recorder(ringCapacity: 1 << 12)
        let aggregator = Aggregator(recorder: recorder)
        let producers = (0..<shards).map { recorder.makeProducer(name: "p\($0)") }
        for (i, o) in observations.enumerated() {
            let series = recorder.series(descriptors[o.metric], Dimensions([("K", "\(o.dimension)")]))
            producers[shardOf[i]].record(series, o.value)
            if i % drainEvery == 0 { aggregator.drain() }
        }
        #expect(recorder.ringDrops == 0)
        return aggregator.flush(timestamp: 0)
    }

    /// Key order-free view of a flush: per series, the statistic set and buckets.
    static func canonical(_ data: [MetricDatum]) -> [String: MetricDatum.Value] {
        var result: [String: MetricDatum.Value] = [:]
        for datum in data { result["\(datum.descriptor.name)/\(datum.dimensions)"] = datum.value }
        return result
    }

    @Test(arguments: 0..<200)
    func shardedEqualsSingleThreaded(_ seed: Int) {
        let (observations, shards, shardOf, drainEvery) = Self.generate(seed: UInt64(seed) &* 7919)
        let single = Self.flushSharded(
            observations, shards: 1, shardOf: shardOf.map { _ in 0 }, drainEvery: observations.count + 1)
        let sharded = Self.flushSharded(observations, shards: shards, shardOf: shardOf, drainEvery: drainEvery)
        #expect(Self.canonical(single) == Self.canonical(sharded), "seed \(seed)")
    }

    @Test(arguments: 0..<50)
    func statisticSetsAndHistogramsMergeExactly(_ seed: Int) {
        let (observations, shards, shardOf, _) = Self.generate(seed: UInt64(seed) &+ 1_000_003)
        var whole = StatisticSet()
        var wholeHistogram = LogHistogram()
        var parts = Array(repeating: StatisticSet(), count: shards)
        var partHistograms = Array(repeating: LogHistogram(), count: shards)
        for (i, o) in observations.enumerated() {
            whole.add(o.value)
            wholeHistogram.add(o.value)
            parts[shardOf[i]].add(o.value)
            partHistograms[shardOf[i]].add(o.value)
        }
        var merged = StatisticSet()
        var mergedHistogram = LogHistogram()
        for (set, histogram) in zip(parts, partHistograms) {
            merged.merge(set)
            mergedHistogram.merge(histogram)
        }
        #expect(merged == whole, "seed \(seed)")
        #expect(mergedHistogram == wholeHistogram, "seed \(seed)")
    }
}
