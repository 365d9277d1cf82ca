import Synchronization

/// Drains the recorder's rings once per flush interval and turns each series' observations into one
/// ``MetricDatum``: counters into the sum of their deltas, gauges into a StatisticSet (and the last
/// value), distributions into a StatisticSet and a ``LogHistogram``.
///
/// One task drains and flushes (the flush loop); the state is behind a lock only so that the type is
/// safe to share, never on the record path.
public final class Aggregator: Sendable {
    /// What one series accumulated since the last flush.
    struct SeriesState {
        var statistics = StatisticSet()
        var last: Double = 0
        var histogram: LogHistogram?

        mutating func merge(_ other: SeriesState) {
            statistics.merge(other.statistics)
            last = other.last
            if let theirs = other.histogram {
                if histogram == nil { histogram = theirs } else { histogram!.merge(theirs) }
            }
        }
    }

    /// Per-series state in an array indexed by ``SeriesID``, and which series saw data.
    struct State {
        var series: [SeriesState] = []
        var kinds: [MetricKind] = []
        var touched: [UInt32] = []
        var isTouched: [Bool] = []
    }

    package let recorder: Recorder
    private let state = Mutex(State())
    /// Dimension subsets each metric is also published under (see ``init(recorder:rollups:)``).
    package let rollups: [MetricDescriptor: [[String]]]
    /// Metrics published only under their rollups: their own series are folded and not sent.
    package let rollupsOnly: Set<MetricDescriptor>

    /// - Parameter rollups: for a metric, the dimension-name subsets it is also published under,
    ///   every series folded into the series of its subset at flush time (counters summed,
    ///   statistics and histograms merged exactly). CloudWatch alarms need exact dimensions, so a
    ///   per-route latency is also published per service (`[["Service"]]`), or with none (`[[]]`).
    /// - Parameter rollupsOnly: metrics whose own series are only folded into their rollups, not
    ///   published themselves (what no dashboard or alarm reads at full detail).
    public init(
        recorder: Recorder, rollups: [MetricDescriptor: [[String]]] = [:], rollupsOnly: Set<MetricDescriptor> = []
    ) {
        self.rollupsOnly = rollupsOnly
        self.recorder = recorder
        self.rollups = rollups
    }

    /// Moves everything the producers recorded so far into the per-series state.
    public func drain() {
        let producers = recorder.allProducers()
        let keys = recorder.seriesKeys()
        state.withLock { state in
            if state.series.count < keys.count {
                state.kinds += keys[state.series.count...].map(\.descriptor.kind)
                state.series += Array(repeating: SeriesState(), count: keys.count - state.series.count)
                state.isTouched += Array(repeating: false, count: keys.count - state.isTouched.count)
            }
            for producer in producers {
                Self.drain(producer.ring, into: &state)
            }
        }
    }

    /// The consumer's inner loop: plain pointer arithmetic over the state arrays, one pass over the
    /// ring's entries.
    private static func drain(_ ring: ObservationRing, into state: inout State) {
        var touched = state.touched
        state.touched = []
        let count = state.series.count
        _ = state.kinds.withUnsafeBufferPointer { kinds in
            state.isTouched.withUnsafeMutableBufferPointer { isTouched in
                state.series.withUnsafeMutableBufferPointer { series in
                    ring.drain { entry in
                        let id = Int(entry.series)
                        guard id < count else { return }
                        if !isTouched[id] {
                            isTouched[id] = true
                            touched.append(entry.series)
                        }
                        if entry.weight == 1 {
                            series[id].statistics.add(entry.value)
                        } else {
                            series[id].statistics.add(entry.value, weight: Double(entry.weight))
                        }
                        series[id].last = entry.value
                        if kinds[id] == .distribution {
                            if series[id].histogram == nil { series[id].histogram = LogHistogram() }
                            series[id].histogram!.add(entry.value, count: Double(entry.weight))
                        }
                    }
                }
            }
        }
        state.touched = touched
    }

    private static func datum(_ key: Recorder.SeriesKey, _ series: SeriesState, timestamp: Int64, last: Double?)
        -> MetricDatum
    {
        let value: MetricDatum.Value
        switch key.descriptor.kind {
        case .counter: value = .single(series.statistics.sum)
        case .gauge: value = .statistics(series.statistics)
        case .distribution: value = .distribution(series.statistics, series.histogram?.buckets ?? [])
        }
        return MetricDatum(
            descriptor: key.descriptor, dimensions: key.dimensions, timestamp: timestamp, value: value, last: last)
    }

    /// Drains, then returns one datum per series that saw an observation since the last flush, and
    /// starts the next interval empty.
    ///
    /// - Parameters:
    ///   - timestamp: seconds since the epoch, on the interval boundary the data belongs to.
    ///   - resolution: flush only metrics of this storage resolution (1 or 60); nil for all.
    public func flush(timestamp: Int64, resolution: Int? = nil) -> [MetricDatum] {
        drain()
        let keys = recorder.seriesKeys()
        return state.withLock { state in
            var data: [MetricDatum] = []
            var kept: [UInt32] = []
            var rolled: [Recorder.SeriesKey: SeriesState] = [:]
            var rolledOrder: [Recorder.SeriesKey] = []
            data.reserveCapacity(state.touched.count)
            for id in state.touched.sorted() {
                let key = keys[Int(id)]
                if let resolution, key.descriptor.storageResolution != resolution {
                    kept.append(id)
                    continue
                }
                let series = state.series[Int(id)]
                if !rollupsOnly.contains(key.descriptor) {
                    data.append(
                        Self.datum(
                            key, series, timestamp: timestamp, last: key.descriptor.kind == .gauge ? series.last : nil)
                    )
                }
                for names in rollups[key.descriptor] ?? [] {
                    let rollup = Recorder.SeriesKey(
                        descriptor: key.descriptor,
                        dimensions: Dimensions(
                            key.dimensions.pairs.filter { names.contains($0.name) }.map { ($0.name, $0.value) }))
                    guard rollup.dimensions != key.dimensions else { continue }
                    if rolled[rollup] == nil { rolledOrder.append(rollup) }
                    rolled[rollup, default: SeriesState()].merge(series)
                }
                state.series[Int(id)] = SeriesState()
                state.isTouched[Int(id)] = false
            }
            for key in rolledOrder {
                data.append(Self.datum(key, rolled[key]!, timestamp: timestamp, last: nil))
            }
            state.touched = kept
            return data
        }
    }
}
