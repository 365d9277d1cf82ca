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

    init(name: String, capacity: Int, quarterFilled: @escaping @Sendable () -> Void = {}) {
        self.name = name
        self.ring = ObservationRing(capacity: capacity, quarterFilled: quarterFilled)
    }

    /// Records one observation of `series`: a delta for a counter, a sample for a gauge or a
    /// distribution. When the ring is full the observation is dropped and counted.
    @inlinable
    public func record(_ series: SeriesID, _ value: Double) {
        if !ring.push(RingEntry(series: series.rawValue, value: value)) {
            dropped.add(1, ordering: .relaxed)
        }
    }

    /// The largest weight one ring entry carries exactly (a Float32 holds integers to 2^24).
    package static let maximumEntryWeight = 16_777_216.0

    /// Records `weight` observations of `value` at once: what a histogram bucket or a summary's
    /// mean over many requests stands for. Integer weights stay exact; larger weights than one
    /// entry holds become several entries. Non-finite or non-positive weights record nothing.
    public func record(_ series: SeriesID, _ value: Double, weight: Double) {
        guard weight.isFinite, weight > 0 else { return }
        var remaining = weight
        while remaining > 0 {
            let part = Swift.min(remaining, Self.maximumEntryWeight)
            if !ring.push(RingEntry(series: series.rawValue, value: value, weight: Float32(part))) {
                dropped.add(1, ordering: .relaxed)
            }
            remaining -= part
        }
    }

    /// Observations dropped so far because the ring was full.
    package var droppedCount: Int { dropped.load(ordering: .relaxed) }
    /// Observations recorded and not yet drained by the aggregator.
    public var pending: Int { ring.count }
}
