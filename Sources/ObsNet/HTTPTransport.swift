/// An HTTP request as the transport sends it.
public struct HTTPRequest: Sendable {
    package var method: String
    package var url: String
    package var headers: [(name: String, value: String)]
    public var body: [UInt8]

    public init(method: String, url: String, headers: [(name: String, value: String)] = [], body: [UInt8] = []) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
    }
}

/// What came back.
public struct HTTPResponse: Sendable {
    package var status: Int
    public var body: [UInt8]
    /// The Content-Type header, when the server sent one.
    package var contentType: String?

    public init(status: Int, body: [UInt8], contentType: String? = nil) {
        self.status = status
        self.body = body
        self.contentType = contentType
    }

    public var text: String { String(decoding: body, as: UTF8.self) }
}

/// Sends HTTP requests. ``CurlTransport`` is the real one; tests may record instead.
public protocol HTTPTransport: Sendable {
    func send(_ request: HTTPRequest) async throws(TransportError) -> HTTPResponse
}

/// A deadline for the requests a task sends: a transport cuts a request short when it passes (its
/// own timeouts apply when they are shorter). The shippers set it while they drain at shutdown, so
/// that a request in flight does not outlast the shutdown timeout.
public enum RequestDeadline {
    @TaskLocal package static var current: ContinuousClock.Instant?

    /// Seconds left until `deadline` (negative once it passed).
    package static func seconds(until deadline: ContinuousClock.Instant, from now: ContinuousClock.Instant = .now)
        -> Double
    {
        let (seconds, attoseconds) = (deadline - now).components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}

/// A request that got no HTTP answer: the connection failed, timed out or TLS was refused.
public struct TransportError: Error, Sendable, CustomStringConvertible {
    /// The libcurl error code.
    package var code: Int
    /// libcurl's explanation, with the URL (never headers or body).
    package var message: String
    /// Timeouts and connection failures are worth retrying; TLS and URL errors are not.
    package var isRetryable: Bool

    public init(code: Int, message: String, isRetryable: Bool) {
        self.code = code
        self.message = message
        self.isRetryable = isRetryable
    }

    public var description: String { message }
}
