/// `${VAR}` and `${VAR:-default}` in config values, as in shell and Docker Compose files. `$$`
/// stands for one `$`. A variable that is not set and has no default is an error, so a missing
/// secret is reported at start rather than sent as an empty string.
public enum EnvironmentExpansion {
    package static func expand(_ text: String, path: String, environment: [String: String]) throws(ConfigError)
        -> String
    {
        guard text.contains("$") else { return text }
        var out = ""
        var rest = Substring(text)
        while let dollar = rest.firstIndex(of: "$") {
            out += rest[..<dollar]
            let after = rest[rest.index(after: dollar)...]
            if after.first == "$" {
                out += "$"
                rest = after.dropFirst()
                continue
            }
            guard after.first == "{" else {
                out += "$"
                rest = after
                continue
            }
            guard let close = after.firstIndex(of: "}") else {
                throw ConfigError(path, "unterminated ${ in \"\(text)\"")
            }
            let body = after[after.index(after: after.startIndex)..<close]
            let name: Substring
            let fallback: Substring?
            if let separator = body.range(of: ":-") {
                name = body[..<separator.lowerBound]
                fallback = body[separator.upperBound...]
            } else {
                name = body
                fallback = nil
            }
            guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else {
                throw ConfigError(path, "\"${\(body)}\" is not a variable reference (use ${NAME} or ${NAME:-default})")
            }
            if let value = environment[String(name)], !(value.isEmpty && fallback != nil) {
                out += value
            } else if let fallback {
                out += fallback
            } else {
                throw ConfigError(
                    path, "environment variable \(name) is not set (write ${\(name):-} to allow it empty)")
            }
            rest = after[after.index(after: close)...]
        }
        out += rest
        return out
    }
}

extension Substring {
    fileprivate func range(of needle: String) -> Range<Index>? {
        var index = startIndex
        while index < endIndex {
            if self[index...].hasPrefix(needle) { return index..<self.index(index, offsetBy: needle.count) }
            index = self.index(after: index)
        }
        return nil
    }
}
