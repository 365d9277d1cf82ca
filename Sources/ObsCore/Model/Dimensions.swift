/// The dimensions of one series: name–value pairs kept sorted by name, so that two sets with the
/// same pairs compare and hash equal whatever order they were built in.
public struct Dimensions: Sendable, Hashable, CustomStringConvertible {
    /// CloudWatch: at most 30 dimensions a metric.
    package static let maximumCount = 30

    public private(set) var pairs: [(name: String, value: String)]

    public init(_ pairs: [(String, String)] = []) {
        self.pairs = pairs.map { (name: $0.0, value: $0.1) }.sorted { $0.name < $1.name }
    }

    public init(_ dictionary: [String: String]) {
        self.init(dictionary.map { ($0.key, $0.value) })
    }

    package var names: [String] { pairs.map(\.name) }
    package var isEmpty: Bool { pairs.isEmpty }

    package subscript(name: String) -> String? {
        pairs.first { $0.name == name }?.value
    }

    /// A copy with `name` set to `value`.
    package func setting(_ name: String, to value: String) -> Dimensions {
        var dictionary = Dictionary(uniqueKeysWithValues: pairs.map { ($0.name, $0.value) })
        dictionary[name] = value
        return Dimensions(dictionary)
    }

    public static func == (lhs: Dimensions, rhs: Dimensions) -> Bool {
        lhs.pairs.count == rhs.pairs.count
            && zip(lhs.pairs, rhs.pairs).allSatisfy { $0.name == $1.name && $0.value == $1.value }
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(pairs.count)
        for pair in pairs {
            hasher.combine(pair.name)
            hasher.combine(pair.value)
        }
    }

    public var description: String {
        pairs.map { "\($0.name)=\($0.value)" }.joined(separator: ",")
    }
}
