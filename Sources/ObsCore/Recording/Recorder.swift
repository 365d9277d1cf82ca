import Synchronization

/// Where sources record observations. It registers series (metric and dimensions) once, hands
/// each producer its own ring, and lets the ``Aggregator`` drain every ring at flush time.
///
/// Registering a series takes a lock and may allocate: do it when a series is first seen, not per
/// observation. Recording through a ``Producer`` does neither.
public final class Recorder: Sendable {
    struct Registry {
        var keys: [SeriesKey] = []
        var index: [SeriesKey: UInt32] = [:]
        var seriesPerMetric: [MetricDescriptor: Int] = [:]
        var producers: [Producer] = []
    }

    /// A series as registered: its metric and dimensions.
    public struct SeriesKey: Hashable, Sendable {
        package var descriptor: MetricDescriptor
        public var dimensions: Dimensions
    }

    /// The dimension value that stands for every series past a metric's cardinality limit.
    package static let overflowValue = "__overflow__"

    /// Series a single metric may have; later ones fold into one overflow series.
    package let cardinalityLimit: Int
    /// The ring size a producer gets unless it asks for another: 65,536 observations (1 MiB), for
    /// sources that observe per event (X-Ray segments, journal lines, scrapes).
    package let ringCapacity: Int
    public let selfMetrics: SelfMetrics
    /// Where sources report whether they work, for the agent's `/healthz`.
    package let health = HealthRegistry()
    private let registry = Mutex(Registry())
    /// Rung when a producer's ring has filled another quarter since it was last rung: the agent
    /// drains the rings then (and at each flush), so a quiet agent wakes for nothing.
    package let ringsFilling = Doorbell()

    public init(cardinalityLimit: Int = 2_000, ringCapacity: Int = 1 << 16, selfMetrics: SelfMetrics = SelfMetrics()) {
        self.cardinalityLimit = cardinalityLimit
        self.ringCapacity = ringCapacity
        self.selfMetrics = selfMetrics
    }

    /// A new producer with a ring of its own, of `capacity` observations (16 bytes each), or
    /// ``ringCapacity``. The ring is drained each time it has filled a quarter (``ringsFilling``)
    /// and at each flush; a push into a full ring is counted as dropped (`ring_full`).
    public func makeProducer(name: String, capacity: Int? = nil) -> Producer {
        let filling = ringsFilling
        let producer = Producer(name: name, capacity: capacity ?? ringCapacity) { filling.ring() }
        registry.withLock { $0.producers.append(producer) }
        return producer
    }

    /// The id of the series `descriptor` × `dimensions`, registering it when new. Past the metric's
    /// cardinality limit, the overflow series is returned and the fold is counted.
    public func series(_ descriptor: MetricDescriptor, _ dimensions: Dimensions) -> SeriesID {
        let key = SeriesKey(descriptor: descriptor, dimensions: dimensions)
        let (id, folded) = registry.withLock { registry -> (UInt32, Bool) in
            if let id = registry.index[key] { return (id, false) }
            var key = key
            var folded = false
            if registry.seriesPerMetric[descriptor, default: 0] >= cardinalityLimit {
                key.dimensions = Dimensions(dimensions.names.map { ($0, Self.overflowValue) })
                folded = true
                if let id = registry.index[key] { return (id, true) }
            }
            let id = UInt32(registry.keys.count)
            registry.keys.append(key)
            registry.index[key] = id
            registry.seriesPerMetric[descriptor, default: 0] += 1
            return (id, folded)
        }
        if folded { selfMetrics.count(.seriesOverflow) }
        return SeriesID(rawValue: id)
    }

    /// The registered series, indexed by ``SeriesID/rawValue``.
    func seriesKeys() -> [SeriesKey] {
        registry.withLock { $0.keys }
    }

    func allProducers() -> [Producer] {
        registry.withLock { $0.producers }
    }

    /// Observations dropped by every producer because its ring was full.
    public var ringDrops: Int {
        allProducers().reduce(0) { $0 + $1.droppedCount }
    }
}
