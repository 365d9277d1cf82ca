import FoundationEssentials
import ObsCore
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A request to ``LoopbackHTTPServer``.
public struct HTTPServerRequest: Sendable {
    package var method: String
    /// The path and query as sent.
    package var target: String
    /// Header names lower-cased.
    package var headers: [String: String]
    public var body: [UInt8]
}

/// An answer from a ``LoopbackHTTPServer`` handler.
public struct HTTPServerResponse: Sendable {
    package var status: Int
    package var contentType: String
    public var body: [UInt8]
    /// Further headers (`Content-Encoding`, `WWW-Authenticate`, ...).
    package var headers: [(name: String, value: String)] = []

    public init(
        status: Int, contentType: String = "application/json", body: [UInt8],
        headers: [(name: String, value: String)] = []
    ) {
        self.status = status
        self.contentType = contentType
        self.body = body
        self.headers = headers
    }

    public init(status: Int, contentType: String = "text/plain; charset=utf-8", text: String) {
        self.init(status: status, contentType: contentType, body: Array(text.utf8))
    }
}

/// A small HTTP/1.1 server for the agent's own endpoints (health, metrics, the X-Ray sampling
/// proxy): one request a connection, `Connection: close`, bodies by `Content-Length` up to 1 MB.
/// Connections are accepted and read on a thread of its own; the handler runs as a task.
public final class LoopbackHTTPServer: @unchecked Sendable {
    package static let maxBodyBytes = 1 << 20
    package static let maxHeaderBytes = 64 << 10

    private let descriptor: Int32
    public let port: Int
    private let handler: @Sendable (HTTPServerRequest) async -> HTTPServerResponse
    private let stopping = StopFlag()

    /// Binds `host:port` (port 0: any free port) and listens.
    public init(host: String, port: Int, handler: @escaping @Sendable (HTTPServerRequest) async -> HTTPServerResponse)
        throws(HTTPServerError)
    {
        let fd: Int32
        do {
            (fd, self.port) = try SocketAddress.bind(host: host, port: port, type: SOCK_STREAM, backlog: 64) { fd in
                SocketAddress.set(fd, SO_REUSEADDR, 1)
                var timeout = timeval(tv_sec: 0, tv_usec: 100_000)
                setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            }
        } catch {
            switch error {
            case .cannotBind(let reason): throw HTTPServerError(message: reason)
            }
        }
        self.descriptor = fd
        self.handler = handler
    }

    deinit {
        close(descriptor)
    }

    /// Serves until the task is cancelled.
    public func run() async {
        await OSThread.run(name: "obs.http", { self.acceptLoop() }, stop: stopping.set)
    }

    private func acceptLoop() {
        while !stopping.isSet {
            guard stopping.wait(readable: descriptor) else { continue }
            let client = accept(descriptor, nil, nil)
            guard client >= 0 else { continue }  // an aborted connection (or the 100 ms timeout)
            var timeout = timeval(tv_sec: 5, tv_usec: 0)
            setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            setsockopt(client, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            guard let request = Self.readRequest(client) else {
                Self.write(client, HTTPServerResponse(status: 400, text: "bad request\n"))
                close(client)
                continue
            }
            let handler = self.handler
            Task {
                let response = await handler(request)
                Self.write(client, response)
                close(client)
            }
        }
    }

    static func readRequest(_ fd: Int32) -> HTTPServerRequest? {
        var buffer: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 << 10)
        var headerEnd: Int?
        while headerEnd == nil {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { return nil }
            buffer.append(contentsOf: chunk[..<n])
            headerEnd = buffer.indices.dropLast(3).first {
                buffer[$0] == 13 && buffer[$0 + 1] == 10 && buffer[$0 + 2] == 13 && buffer[$0 + 3] == 10
            }
            if headerEnd == nil && buffer.count > maxHeaderBytes { return nil }
        }
        let head = String(decoding: buffer[..<headerEnd!], as: UTF8.self)
        var lines = head.components(separatedBy: "\r\n")
        let parts = lines.removeFirst().split(separator: " ")
        guard parts.count >= 2 else { return nil }
        var headers: [String: String] = [:]
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingBlanks()
        }
        let length = Int(headers["content-length"] ?? "0") ?? 0
        guard length >= 0 && length <= maxBodyBytes else { return nil }
        var body = Array(buffer[(headerEnd! + 4)...])
        while body.count < length {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { return nil }
            body.append(contentsOf: chunk[..<n])
        }
        return HTTPServerRequest(
            method: String(parts[0]), target: String(parts[1]), headers: headers, body: Array(body.prefix(length)))
    }

    static func write(_ fd: Int32, _ response: HTTPServerResponse) {
        let reason =
            [200: "OK", 400: "Bad Request", 404: "Not Found", 502: "Bad Gateway", 503: "Service Unavailable"][
                response.status] ?? "Status"
        var bytes = Array(
            "HTTP/1.1 \(response.status) \(reason)\r\nContent-Type: \(response.contentType)\r\nContent-Length: \(response.body.count)\r\nConnection: close\r\n\(response.headers.map { "\($0.name): \($0.value)\r\n" }.joined())\r\n"
                .utf8)
        bytes.append(contentsOf: response.body)
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { return }
            offset += n
        }
    }
}

/// Why the server could not start.
public struct HTTPServerError: Error, Sendable, CustomStringConvertible {
    package var message: String
    public var description: String { "http: cannot listen on \(message)" }
}
