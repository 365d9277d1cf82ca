import ObsCore
import Testing

@Suite struct ShardTests {
    static let keys = (0..<3000).map { "user-service http://10.0.\($0 / 250).\($0 % 250):8080/actuator/prometheus" }

    @Test func everyKeyHasExactlyOneOwnerAndTheSharesAreEven() {
        for count in [2, 3, 5] {
            let shards = (0..<count).map { Shard(index: $0, count: count) }
            var sizes = Array(repeating: 0, count: count)
            for key in Self.keys {
                let owners = shards.filter { $0.owns(key) }
                #expect(owners.count == 1, "\(key) has \(owners.count) owners of \(count)")
                sizes[owners.first?.index ?? 0] += 1
            }
            let fair = Self.keys.count / count
            for size in sizes { #expect(abs(size - fair) < fair / 5, "\(sizes)") }
        }
    }

    /// A replica added takes about 1/(n+1) of the keys, and only from the others; a replica
    /// removed gives only its own keys away.
    @Test func aReplicaAddedOrRemovedMovesOnlyItsShare() {
        let before = Self.keys.map { Shard.owner(of: $0, among: 3) }
        let added = Self.keys.map { Shard.owner(of: $0, among: 4) }
        var moved = 0
        for (a, b) in zip(before, added) where a != b {
            moved += 1
            #expect(b == 3, "a key moved between two replicas that stayed")
        }
        #expect(abs(moved - Self.keys.count / 4) < Self.keys.count / 20, "\(moved) moved")
        let removed = Self.keys.map { Shard.owner(of: $0, among: 2) }
        for (a, b) in zip(before, removed) where a != 2 { #expect(a == b, "only replica 2's keys move") }
    }

    @Test func parsesIndexOverCountAndAStatefulSetPodName() {
        #expect(Shard.parse("2/3") == Shard(index: 2, count: 3))
        #expect(Shard.parse("obs-agent-sharded-1/3") == Shard(index: 1, count: 3))
        #expect(Shard.parse("0/1") == Shard(index: 0, count: 1))
        for bad in ["3/3", "-1/3", "1/0", "x/3", "1", "", "1/3/4"] { #expect(Shard.parse(bad) == nil, "\(bad)") }
        #expect(Shard(index: 0, count: 1).owns("anything"))
    }
}
