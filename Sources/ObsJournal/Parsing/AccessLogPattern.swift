import FoundationEssentials
import ObsCore

#if canImport(Glibc)
    import Glibc
#endif

/// A configured regular expression that reads an HTTP access-log line (Tomcat's or Spring Boot's
/// `server.tomcat.accesslog`, nginx, an ALB-style line) with named groups:
///
/// - `method` and `status` (required), `path` (the request path, query and all: the route is
///   made from it with identifiers collapsed) or `route` (taken as it is);
/// - the time taken, one of `millis`, `micros` or `seconds` (optional: without it, only counts
///   are derived). Group names are letters and digits only.
///
/// For example Tomcat's `%h %l %u %t "%r" %s %b %D` (with `%D` in microseconds, as Tomcat 10.1
/// writes it) is read by
/// `^\S+ \S+ \S+ \[[^\]]+\] "(?<method>[A-Z]+) (?<path>\S+)[^"]*" (?<status>\d{3}) \S+ (?<micros>\d+)`.
public struct AccessLogPattern: @unchecked Sendable {
    /// One request read from a line.
    public struct Request: Sendable, Equatable {
        package var method: String
        /// The route: the path with identifiers collapsed, or the `route` group as it is.
        package var route: String
        package var status: Int
        /// Milliseconds, when the pattern has a duration group.
        package var milliseconds: Double?
    }

    package let source: String
    private let expression: Regex<AnyRegexOutput>
    private let durationGroup: (name: String, toMilliseconds: Double)?
    private let routeIsTemplate: Bool

    public struct PatternError: Error, CustomStringConvertible {
        public var description: String
    }

    package init(_ pattern: String) throws(PatternError) {
        do {
            // Unicode scalars, not grapheme clusters: access-log lines are ASCII, and it is faster.
            expression = try Regex(pattern).matchingSemantics(.unicodeScalar)
        } catch {
            throw PatternError(description: "not a valid regular expression: \(pattern)")
        }
        func has(_ name: String) -> Bool { pattern.contains("(?<\(name)>") }
        guard has("method"), has("status"), has("path") || has("route") else {
            throw PatternError(description: "the pattern needs the named groups method, status and path (or route)")
        }
        source = pattern
        routeIsTemplate = has("route")
        durationGroup =
            has("millis") ? ("millis", 1) : has("micros") ? ("micros", 0.001) : has("seconds") ? ("seconds", 1000) : nil
    }

    /// What `line` says, or nil when it does not match (or its status is not a number).
    package func match(_ line: String) -> Request? {
        guard let result = try? expression.firstMatch(in: line) else { return nil }
        func group(_ name: String) -> Substring? { result.output[name]?.substring }
        guard let method = group("method"), let statusText = group("status"), let status = Int(statusText),
            (0..<1000).contains(status)
        else {
            return nil
        }
        let route: String
        if routeIsTemplate {
            guard let given = group("route") else { return nil }
            route = String(given)
        } else {
            guard let path = group("path") else { return nil }
            route = RouteTemplate.route(of: String(path))
        }
        var milliseconds: Double?
        if let (name, factor) = durationGroup, let text = group(name), let value = Double(text), value.isFinite,
            value >= 0
        {
            milliseconds = value * factor
        }
        return Request(method: method.uppercased(), route: route, status: status, milliseconds: milliseconds)
    }
}
