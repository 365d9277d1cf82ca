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
    }

    private let recorder: Recorder
    private let state = Mutex([UInt32: SeriesState]())

    public init(recorder: Recorder) {
        self.recorder = recorder
    }

    /// Moves everything the producers recorded so far into the per-series state.
    public func drain() {
        let producers = recorder.allProducers()
        let keys = recorder.seriesKeys()
        state.withLock { state in
            for producer in producers {
                producer.ring.drain { entry in
                    let id = entry.series
                    guard Int(id) < keys.count else { return }
                    var series = state[id] ?? SeriesState()
                    series.statistics.add(entry.value)
                    series.last = entry.value
                    if keys[Int(id)].descriptor.kind == .distribution {
                        if series.histogram == nil { series.histogram = LogHistogram() }
                        series.histogram!.add(entry.value)
                    }
                    state[id] = series
                }
            }
        }
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
            data.reserveCapacity(state.count)
            for (id, series) in state.sorted(by: { $0.key < $1.key }) {
                let key = keys[Int(id)]
                if let resolution, key.descriptor.storageResolution != resolution { continue }
                let value: MetricDatum.Value
                switch key.descriptor.kind {
                case .counter: value = .single(series.statistics.sum)
                case .gauge: value = .statistics(series.statistics)
                case .distribution: value = .distribution(series.statistics, series.histogram?.buckets ?? [])
                }
                data.append(MetricDatum(descriptor: key.descriptor, dimensions: key.dimensions, timestamp: timestamp, value: value))
                state[id] = nil
            }
            return data
        }
    }
}
