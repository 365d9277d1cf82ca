import Synchronization

/// A producer's handle on the recorder: one source thread or task records through its own
/// producer, so two cores never write to the same ring.
///
/// A producer must be used by one thread or task at a time (it is the single producer of its
/// ring). Recording takes no lock and allocates nothing.
public final class Producer: @unchecked Sendable {
    public let name: String
    @usableFromInline let ring: ObservationRing
    /// Observations dropped because the ring was full (reason `ring_full`).
    @usableFromInline let dropped = Atomic<Int>(0)

    init(name: String, capacity: Int) {
        self.name = name
        self.ring = ObservationRing(capacity: capacity)
    }

    /// Records one observation of `series`: a delta for a counter, a sample for a gauge or a
    /// distribution. When the ring is full the observation is dropped and counted.
    @inlinable
    public func record(_ series: SeriesID, _ value: Double) {
        if !ring.push(RingEntry(series: series.rawValue, value: value)) {
            dropped.add(1, ordering: .relaxed)
        }
    }

    /// Observations dropped so far because the ring was full.
    public var droppedCount: Int { dropped.load(ordering: .relaxed) }
}
