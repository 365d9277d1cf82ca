import ObsCore

/// A node of the YAML config with its dotted path, read with the types and checks a config key
/// needs. Every scalar is read through environment expansion first.
public struct ConfigNode {
    package let node: YAMLNode
    package let path: String
    package let environment: [String: String]

    package init(node: YAMLNode, path: String, environment: [String: String]) {
        self.node = node
        self.path = path
        self.environment = environment
    }

    private func child(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    /// The mapping's entries, refusing any key not in `allowed`.
    package func mapping(allowed: [String]) throws(ConfigError) -> [String: ConfigNode] {
        if case .scalar(let scalar) = node, scalar.isEmpty || scalar == "~" || scalar == "null" {
            return [:]
        }
        guard case .mapping(let mapping) = node else {
            throw ConfigError(path, "expected a mapping of keys, got \(kind)")
        }
        var result: [String: ConfigNode] = [:]
        for (key, value) in mapping {
            guard allowed.contains(key) else {
                let hint = Self.closest(key, in: allowed).map { " (did you mean \($0)?)" } ?? ""
                throw ConfigError(child(key), "unknown key\(hint); known keys here: \(allowed.joined(separator: ", "))")
            }
            guard result[key] == nil else { throw ConfigError(child(key), "key given twice") }
            result[key] = ConfigNode(node: value, path: child(key), environment: environment)
        }
        return result
    }

    package func sequence() throws(ConfigError) -> [ConfigNode] {
        guard case .sequence(let sequence) = node else { throw ConfigError(path, "expected a list, got \(kind)") }
        return sequence.enumerated().map { ConfigNode(node: $1, path: "\(path)[\($0)]", environment: environment) }
    }

    package func string() throws(ConfigError) -> String {
        guard case .scalar(let scalar) = node else { throw ConfigError(path, "expected a string, got \(kind)") }
        return try EnvironmentExpansion.expand(scalar, path: path, environment: environment)
    }

    package func int(in range: ClosedRange<Int>) throws(ConfigError) -> Int {
        let text = try string().trimmingBlanks()
        guard let value = Int(text) else { throw ConfigError(path, "expected an integer, got \"\(text)\"") }
        guard range.contains(value) else {
            throw ConfigError(path, "\(value) is out of range (\(range.lowerBound) to \(range.upperBound))")
        }
        return value
    }

    package func bool() throws(ConfigError) -> Bool {
        let text = try string().trimmingBlanks().lowercased()
        switch text {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: throw ConfigError(path, "expected true or false, got \"\(text)\"")
        }
    }

    /// A duration in seconds: a number (seconds) or a number with `ms`, `s`, `m` or `h`.
    package func seconds(in range: ClosedRange<Double>) throws(ConfigError) -> Double {
        let text = try string().trimmingBlanks()
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]
        var value: Double? = Double(text)
        if value == nil {
            for (suffix, factor) in units where text.hasSuffix(suffix) {
                if let number = Double(text.dropLast(suffix.count)) {
                    value = number * factor
                    break
                }
            }
        }
        guard let value, value.isFinite else {
            throw ConfigError(path, "expected a duration such as 15s, 500ms or 1m, got \"\(text)\"")
        }
        guard range.contains(value) else {
            throw ConfigError(path, "\(text) is out of range (\(range.lowerBound) s to \(range.upperBound) s)")
        }
        return value
    }

    /// A size in bytes: a whole number, or one with `KiB`, `MiB` or `GiB`.
    public func bytes(in range: ClosedRange<Int>) throws(ConfigError) -> Int {
        let text = try string().trimmingBlanks()
        let units: [(String, Int)] = [("KiB", 1 << 10), ("MiB", 1 << 20), ("GiB", 1 << 30)]
        var value = Int(text)
        for (suffix, factor) in units where value == nil && text.hasSuffix(suffix) {
            value = Int(String(text.dropLast(suffix.count)).trimmingBlanks()).map { $0 * factor }
        }
        guard let value else {
            throw ConfigError(path, "expected a size such as 268435456, 256MiB or 1GiB, got \"\(text)\"")
        }
        guard range.contains(value) else {
            throw ConfigError(path, "\(text) is out of range (\(range.lowerBound) to \(range.upperBound) bytes)")
        }
        return value
    }

    package func oneOf(_ choices: [String]) throws(ConfigError) -> String {
        let text = try string().trimmingBlanks()
        guard choices.contains(text) else {
            throw ConfigError(path, "expected one of \(choices.joined(separator: ", ")), got \"\(text)\"")
        }
        return text
    }

    /// An `http://` or `https://` URL.
    package func url() throws(ConfigError) -> String {
        let text = try string().trimmingBlanks()
        guard text.hasPrefix("http://") || text.hasPrefix("https://"), text.count > 8 else {
            throw ConfigError(path, "expected an http:// or https:// URL, got \"\(text)\"")
        }
        return text
    }

    /// A list of non-empty strings (none when the key is absent).
    package func names() throws(ConfigError) -> [String] {
        var names: [String] = []
        for item in try sequence() {
            guard let name = try item.string().nonEmpty else { throw ConfigError(item.path, "must not be empty") }
            names.append(name)
        }
        return names
    }

    private var kind: String {
        switch node {
        case .scalar(let s): return "\"\(s)\""
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        }
    }

    /// The allowed key nearest to `key` by edit distance, when near enough to be a typo.
    package static func closest(_ key: String, in allowed: [String]) -> String? {
        func distance(_ a: [Character], _ b: [Character]) -> Int {
            var previous = Array(0...b.count)
            for i in 1...max(a.count, 1) where !a.isEmpty {
                var current = [i] + Array(repeating: 0, count: b.count)
                for j in 1...max(b.count, 1) where !b.isEmpty {
                    current[j] = Swift.min(
                        previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
                }
                previous = current
            }
            return previous[b.count]
        }
        let scored = allowed.map { ($0, distance(Array(key), Array($0))) }.min { $0.1 < $1.1 }
        guard let (best, score) = scored, score <= max(2, key.count / 3) else { return nil }
        return best
    }
}
