/// Turns cumulative counters (as `pg_stat_*` views and Prometheus expose them) into per-sample
/// deltas. The first value of a key only sets the baseline; a value lower than the previous one
/// means the counter was reset (a restart, `pg_stat_reset()`), and the delta is the new value.
public struct CounterTracker<Key: Hashable>: Sendable where Key: Sendable {
    private var previous: [Key: Double] = [:]
    /// Resets seen so far.
    public private(set) var resets = 0

    package init() {}

    /// The increase of `key` since its last value, or nil for its first value.
    package mutating func delta(_ key: Key, _ value: Double) -> Double? {
        defer { previous[key] = value }
        guard let last = previous[key] else { return nil }
        if value < last {
            resets += 1
            return value
        }
        return value - last
    }

    /// Forgets the baseline of `key`: its next value is a baseline again.
    package mutating func forget(_ key: Key) {
        previous[key] = nil
    }

    /// Forgets every baseline (after a reconnect to a different server, say).
    package mutating func reset() {
        previous.removeAll()
    }
}
