/// An HTTP request as the signer sees it: the method, the path and query as they will be sent,
/// the headers and the body.
public struct SignableRequest: Sendable, Equatable {
    package var method: String
    /// The path, not yet percent-encoded (`/`, or `/example space/`).
    package var path: String
    /// Query parameters, decoded, in the order they will be sent.
    public var query: [(name: String, value: String)]
    /// Header names as sent; a name may repeat.
    package var headers: [(name: String, value: String)]
    public var body: [UInt8]

    package init(
        method: String, path: String = "/", query: [(String, String)] = [], headers: [(String, String)] = [],
        body: [UInt8] = []
    ) {
        self.method = method
        self.path = path
        self.query = query.map { (name: $0.0, value: $0.1) }
        self.headers = headers.map { (name: $0.0, value: $0.1) }
        self.body = body
    }

    /// Parses the query part of a request target (`a=1&b`), decoding each name and value.
    package static func parseQuery(_ raw: Substring) -> [(String, String)] {
        raw.split(separator: "&", omittingEmptySubsequences: true).map { item in
            if let eq = item.firstIndex(of: "=") {
                return (
                    URIEncoding.decode(String(item[..<eq])), URIEncoding.decode(String(item[item.index(after: eq)...]))
                )
            }
            return (URIEncoding.decode(String(item)), "")
        }
    }

    /// The query as it goes on the wire: names and values percent-encoded, in order.
    package var encodedQuery: String {
        query.map { "\(URIEncoding.encode($0.name))=\(URIEncoding.encode($0.value))" }.joined(separator: "&")
    }

    /// The value of the first header called `name` (case-insensitive).
    package func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    package mutating func setHeader(_ name: String, _ value: String) {
        headers.removeAll { $0.name.lowercased() == name.lowercased() }
        headers.append((name: name, value: value))
    }

    public static func == (lhs: SignableRequest, rhs: SignableRequest) -> Bool {
        lhs.method == rhs.method && lhs.path == rhs.path && lhs.body == rhs.body
            && lhs.query.map { [$0.name, $0.value] } == rhs.query.map { [$0.name, $0.value] }
            && lhs.headers.map { [$0.name, $0.value] } == rhs.headers.map { [$0.name, $0.value] }
    }
}
