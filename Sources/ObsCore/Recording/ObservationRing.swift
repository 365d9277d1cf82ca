import Synchronization

/// One observation as it sits in a ring: which series, how many observations it stands for, and
/// the value (16 bytes: the weight uses what would be padding).
@usableFromInline
struct RingEntry {
    @usableFromInline var series: UInt32
    @usableFromInline var weight: Float32
    @usableFromInline var value: Double

    @inlinable init(series: UInt32, value: Double, weight: Float32 = 1) {
        self.series = series
        self.weight = weight
        self.value = value
    }
}

/// A bounded single-producer, single-consumer ring of observations.
///
/// The producer and the consumer each own one index and only read the other's, so neither ever
/// waits: a push is two loads, one store of the entry and one release store. When the ring is full
/// the push fails and the caller counts the drop; nothing already in the ring is overwritten.
@usableFromInline
final class ObservationRing: @unchecked Sendable {
    @usableFromInline let mask: Int
    @usableFromInline let storage: UnsafeMutablePointer<RingEntry>
    /// Written by the consumer only: the next slot to read.
    @usableFromInline let head = PaddedAtomic()
    /// Written by the producer only: the next slot to write.
    @usableFromInline let tail = PaddedAtomic()
    /// The producer's last view of `head`, refreshed only when the ring looks full, so that in
    /// the common case the producer does not touch the consumer's cache line.
    @usableFromInline var cachedHead = 0
    /// Called by a push that fills the last slot of a quarter of the ring (so the consumer wakes
    /// to drain without a timer).
    @usableFromInline let quarterFilled: @Sendable () -> Void

    /// - Parameter capacity: rounded up to a power of two, at least 4.
    init(capacity: Int, quarterFilled: @escaping @Sendable () -> Void = {}) {
        var size = 4
        while size < capacity { size <<= 1 }
        mask = size - 1
        self.quarterFilled = quarterFilled
        storage = .allocate(capacity: size)
        storage.initialize(repeating: RingEntry(series: 0, value: 0), count: size)
    }

    deinit {
        storage.deallocate()
    }

    var capacity: Int { mask + 1 }

    /// Entries waiting to be drained (a snapshot: the producer may be adding meanwhile).
    var count: Int {
        let h = head.value.load(ordering: .acquiring)
        let t = tail.value.load(ordering: .acquiring)
        return Int(t &- h)
    }

    /// Producer side. Returns false, and stores nothing, when the ring is full.
    @inlinable
    func push(_ entry: RingEntry) -> Bool {
        let t = tail.value.load(ordering: .relaxed)
        if t - cachedHead > mask {
            cachedHead = head.value.load(ordering: .acquiring)
            if t - cachedHead > mask { return false }
        }
        storage[t & mask] = entry
        tail.value.store(t &+ 1, ordering: .releasing)
        let quarter = mask >> 2  // one less than a quarter of the capacity
        if t & quarter == quarter { quarterFilled() }
        return true
    }

    /// Consumer side: hands every entry present now to `body`, then frees their slots.
    /// Returns how many entries were drained.
    @discardableResult
    func drain(_ body: (RingEntry) -> Void) -> Int {
        let h = head.value.load(ordering: .relaxed)
        let t = tail.value.load(ordering: .acquiring)
        var i = h
        while i != t {
            body(storage[i & mask])
            i &+= 1
        }
        head.value.store(t, ordering: .releasing)
        return t &- h
    }
}

/// An atomic integer alone on its cache line, so that the producer's and the consumer's indices
/// never share one (false sharing would make every push a cross-core transfer).
@usableFromInline
final class PaddedAtomic: Sendable {
    @usableFromInline let value = Atomic<Int>(0)
    // 56 bytes after the 8 of the value: the object's fields fill a 64-byte line.
    private let padding: (Int, Int, Int, Int, Int, Int, Int) = (0, 0, 0, 0, 0, 0, 0)
}
