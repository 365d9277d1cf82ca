import FoundationEssentials

#if canImport(Glibc)
    import Glibc
#endif

/// A request of an AWS query-protocol API (CloudWatch's `Action=...&Version=...`), its parameters
/// given as the JSON-like structure of the API reference: lists become `Name.member.N`, structures
/// `Name.Field`, booleans `true`/`false`.
public struct QueryRequest: Sendable {
    package var action: String
    package var version: String
    /// Flattened, in a stable order.
    package var parameters: [(name: String, value: String)]

    package init(action: String, version: String, parameters: [String: Any]) {
        self.action = action
        self.version = version
        var flat: [(String, String)] = []
        Self.flatten(parameters, prefix: "", into: &flat)
        self.parameters = flat.sorted { $0.0 < $1.0 }
    }

    private static func flatten(_ value: Any, prefix: String, into out: inout [(String, String)]) {
        switch value {
        case let dictionary as [String: Any]:
            for key in dictionary.keys.sorted() {
                flatten(dictionary[key]!, prefix: prefix.isEmpty ? key : "\(prefix).\(key)", into: &out)
            }
        case let list as [Any]:
            for (i, item) in list.enumerated() { flatten(item, prefix: "\(prefix).member.\(i + 1)", into: &out) }
        case let flag as Bool:
            out.append((prefix, flag ? "true" : "false"))
        case let number as Int:
            out.append((prefix, String(number)))
        case let number as Double:
            out.append(
                (prefix, number == number.rounded() && abs(number) < 1e15 ? String(Int(number)) : String(number)))
        default:
            out.append((prefix, "\(value)"))
        }
    }

    /// The `application/x-www-form-urlencoded` body.
    public var body: [UInt8] {
        let pairs = [("Action", action), ("Version", version)] + parameters
        return Array(
            pairs.map { "\(URIEncoding.encode($0.0))=\(URIEncoding.encode($0.1))" }.joined(separator: "&").utf8)
    }

    package static let contentType = ("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
}

/// Reads one element's text out of a query-protocol XML answer (entities decoded).
public enum QueryResponse {
    package static func text(of element: String, in xml: String) -> String? {
        guard let open = xml.firstRange(of: "<\(element)>"),
            let close = xml[open.upperBound...].firstRange(of: "</\(element)>")
        else {
            return nil
        }
        return unescape(String(xml[open.upperBound..<close.lowerBound]))
    }

    package static func unescape(_ text: String) -> String {
        var out = ""
        var rest = Substring(text)
        while let amp = rest.firstIndex(of: "&") {
            out += rest[..<amp]
            guard let semi = rest[amp...].firstIndex(of: ";") else { break }
            let entity = rest[rest.index(after: amp)..<semi]
            switch entity {
            case "quot": out += "\""
            case "amp": out += "&"
            case "lt": out += "<"
            case "gt": out += ">"
            case "apos": out += "'"
            default:
                if entity.hasPrefix("#x"), let code = UInt32(entity.dropFirst(2), radix: 16),
                    let scalar = Unicode.Scalar(code)
                {
                    out.unicodeScalars.append(scalar)
                } else if entity.hasPrefix("#"), let code = UInt32(entity.dropFirst()),
                    let scalar = Unicode.Scalar(code)
                {
                    out.unicodeScalars.append(scalar)
                } else {
                    out += "&\(entity);"
                }
            }
            rest = rest[rest.index(after: semi)...]
        }
        return out + rest
    }
}
