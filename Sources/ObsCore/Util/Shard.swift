/// This agent's share of the deployment's targets when several replicas split them: replica
/// `index` of `count`. A target belongs to the replica whose hash of (replica, target) is highest
/// (rendezvous hashing): every replica computes the same owner from the target's name alone, each
/// target has exactly one, and adding or removing a replica moves only the targets it gains or
/// loses (about 1/count of them), none between the others.
public struct Shard: Sendable, Equatable, CustomStringConvertible {
    public let index: Int
    public let count: Int

    public init(index: Int, count: Int) {
        precondition(count >= 1 && (0..<count).contains(index), "shard \(index)/\(count)")
        self.index = index
        self.count = count
    }

    /// Reads `I/N`: I may be a number or end in `-I` (a StatefulSet pod's name, `obs-agent-2`).
    /// Nil when the text is not one.
    public static func parse(_ text: String) -> Shard? {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let count = Int(parts[1]), count >= 1 else { return nil }
        var indexText = parts[0]
        if let dash = indexText.lastIndex(of: "-") {
            // A pod's name: something, a dash, its ordinal.
            guard dash > indexText.startIndex else { return nil }
            indexText = indexText[indexText.index(after: dash)...]
        }
        guard !indexText.isEmpty, indexText.allSatisfy { $0 >= "0" && $0 <= "9" }, let index = Int(indexText),
            (0..<count).contains(index)
        else { return nil }
        return Shard(index: index, count: count)
    }

    /// Whether this replica takes `key` (a target's stable name).
    public func owns(_ key: String) -> Bool {
        count == 1 || Self.owner(of: key, among: count) == index
    }

    /// The replica of `count` that takes `key`.
    public static func owner(of key: String, among count: Int) -> Int {
        var best = 0
        var bestScore: UInt64 = 0
        for replica in 0..<count {
            let score = weight(key, replica)
            if replica == 0 || score > bestScore {
                best = replica
                bestScore = score
            }
        }
        return best
    }

    /// FNV-1a over the replica number and the key, then SplitMix64's finalizer to spread it.
    static func weight(_ key: String, _ replica: Int) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in String(replica).utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        hash = (hash ^ 0) &* 0x100_0000_01b3
        for byte in key.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        hash ^= hash >> 30
        hash = hash &* 0xbf58_476d_1ce4_e5b9
        hash ^= hash >> 27
        hash = hash &* 0x94d0_49bb_1331_11eb
        hash ^= hash >> 31
        return hash
    }

    public var description: String { "\(index)/\(count)" }
}
