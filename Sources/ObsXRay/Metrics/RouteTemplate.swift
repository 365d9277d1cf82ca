import Foundation

/// A URL path with its identifiers collapsed, so that `/api/users/42` and `/api/users/43` are one
/// route: `/api/users/{id}`. A segment is an identifier when it is a number, a UUID, or a
/// hexadecimal string of 8 or more characters, or holds a digit and is longer than 16 characters.
public enum RouteTemplate {
    public static let placeholder = "{id}"

    /// The route of `url` (a full URL or a path): its path with identifiers collapsed, no query.
    public static func route(of url: String) -> String {
        var path = Substring(url)
        if let scheme = path.range(of: "://") {
            path = path[scheme.upperBound...]
            path = path.firstIndex(of: "/").map { path[$0...] } ?? "/"
        }
        if let query = path.firstIndex(where: { $0 == "?" || $0 == "#" }) { path = path[..<query] }
        if path.isEmpty { return "/" }
        let segments = path.split(separator: "/", omittingEmptySubsequences: false).map { isIdentifier($0) ? Substring(placeholder) : $0 }
        return segments.joined(separator: "/")
    }

    static func isIdentifier(_ segment: Substring) -> Bool {
        guard !segment.isEmpty else { return false }
        if segment.allSatisfy(\.isNumber) { return true }
        let hex = segment.allSatisfy { $0.isHexDigit || $0 == "-" }
        if hex && segment.count >= 8 && segment.contains(where: \.isNumber) { return true }
        return segment.count > 16 && segment.contains(where: \.isNumber)
    }
}
