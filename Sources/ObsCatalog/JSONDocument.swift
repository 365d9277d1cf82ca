import FoundationEssentials

#if canImport(Glibc)
    import Glibc
#endif

/// The documents obsctl writes (alarms, the IAM policy, the catalog) are built as dictionaries and
/// lists; this writes them as JSONEncoder writes the dashboards: keys sorted, indented, slashes
/// unescaped, a final newline. (JSONSerialization would do it too, but it is Foundation's, and the
/// agent, which links this module, links only FoundationEssentials.)
package enum JSONDocument {
    struct UnsupportedValue: Error, CustomStringConvertible {
        let description: String
    }

    package static func data(_ object: Any) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        var data = try encoder.encode(try Value(object))
        data.append(0x0A)
        return data
    }

    private enum Value: Encodable {
        case string(String)
        case bool(Bool)
        case int(Int)
        case double(Double)
        case array([Value])
        case object([String: Value])

        init(_ any: Any) throws {
            switch any {
            case let v as String: self = .string(v)
            case let v as Bool: self = .bool(v)
            case let v as Int: self = .int(v)
            case let v as Double: self = .double(v)
            case let v as [String: Any]: self = .object(try v.mapValues(Value.init))
            case let v as [Any]: self = .array(try v.map(Value.init))
            default: throw UnsupportedValue(description: "cannot write \(type(of: any)) as JSON")
            }
        }

        private struct Key: CodingKey {
            let stringValue: String
            init(stringValue: String) { self.stringValue = stringValue }
            var intValue: Int? { nil }
            init?(intValue: Int) { nil }
        }

        func encode(to encoder: any Encoder) throws {
            switch self {
            case .string(let v):
                var c = encoder.singleValueContainer()
                try c.encode(v)
            case .bool(let v):
                var c = encoder.singleValueContainer()
                try c.encode(v)
            case .int(let v):
                var c = encoder.singleValueContainer()
                try c.encode(v)
            case .double(let v):
                var c = encoder.singleValueContainer()
                try c.encode(v)
            case .array(let values):
                var c = encoder.unkeyedContainer()
                for value in values { try c.encode(value) }
            case .object(let entries):
                var c = encoder.container(keyedBy: Key.self)
                for (key, value) in entries { try c.encode(value, forKey: Key(stringValue: key)) }
            }
        }
    }
}
