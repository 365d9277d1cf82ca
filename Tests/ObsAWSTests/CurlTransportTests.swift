import ObsAWS
import ObsCore
import ObsNet
import Synchronization
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The libcurl transport against a local server: what reaches the server, and what comes back.
struct CurlTransportTests {
    /// A one-connection-at-a-time HTTP server on a thread of its own (not the cooperative pool,
    /// which the CPU-bound suites running beside this one keep busy): it answers `count` requests
    /// with how many body bytes each carried, and keeps each request's head and body.
    struct ServerError: Error {
        var errno: Int32
    }

    /// A TCP socket listening on 127.0.0.1 at a port the kernel chose, and that port.
    static func listen(backlog: Int32) throws -> (fd: Int32, port: Int) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard fd >= 0, bound, Glibc.listen(fd, backlog) == 0 else { throw ServerError(errno: errno) }
        return (fd, Int(UInt16(bigEndian: address.sin_port)))
    }

    final class RecordingServer: Sendable {
        let port: Int
        final class Log: Sendable {
            let requests = Mutex<[(head: [String], body: [UInt8])]>([])
        }
        let log = Log()
        private let thread: OSThread
        var requests: [(head: [String], body: [UInt8])] { log.requests.withLock { $0 } }

        init(count: Int) throws {
            let (fd, port) = try CurlTransportTests.listen(backlog: 8)
            self.port = port
            let log = self.log
            thread = OSThread.start(name: "test.http") {
                defer { close(fd) }
                for _ in 0..<count {
                    let client = accept(fd, nil, nil)
                    guard client >= 0 else { return }
                    var data: [UInt8] = []
                    var chunk = [UInt8](repeating: 0, count: 4096)
                    var head: [String] = []
                    var body: [UInt8] = []
                    while true {
                        let n = chunk.withUnsafeMutableBytes { recv(client, $0.baseAddress, $0.count, 0) }
                        guard n > 0 else { break }
                        data += chunk[0..<n]
                        guard let end = data.firstRange(of: Array("\r\n\r\n".utf8)) else { continue }
                        head = String(decoding: data[..<end.lowerBound], as: UTF8.self).split(separator: "\r\n").map(
                            String.init)
                        let size =
                            head.compactMap { line -> Int? in
                                let parts = line.split(separator: ":", maxSplits: 1)
                                return parts.count == 2 && parts[0].lowercased() == "content-length"
                                    ? Int(parts[1].trimmingBlanks()) : nil
                            }.first ?? 0
                        if data.count - end.upperBound >= size {
                            body = Array(data[end.upperBound..<(end.upperBound + size)])
                            break
                        }
                    }
                    log.requests.withLock { $0.append((head, body)) }
                    let text = "got \(body.count) bytes"
                    let response = Array(
                        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: \(text.utf8.count)\r\nConnection: close\r\n\r\n\(text)"
                            .utf8)
                    _ = response.withUnsafeBytes { send(client, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                    close(client)
                }
            }
        }

        /// The value of header `name` in each request, in order.
        func header(_ name: String) -> [String?] {
            requests.map { request in
                request.head.dropFirst().first { $0.lowercased().hasPrefix(name.lowercased() + ":") }
                    .map { String($0.drop { $0 != ":" }.dropFirst()).trimmingBlanks() }
            }
        }
    }

    /// Holds every connection it accepts, unanswered, until `count` are open at once (or
    /// `holdSeconds` pass), then answers each with how many it held: a server that sees whether
    /// requests arrive together.
    final class HoldingServer: Sendable {
        let port: Int
        private let thread: OSThread

        init(count: Int, holdSeconds: Double) throws {
            let (fd, port) = try CurlTransportTests.listen(backlog: 16)
            self.port = port
            var tick = timeval(tv_sec: 0, tv_usec: 100_000)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tick, socklen_t(MemoryLayout<timeval>.size))
            thread = OSThread.start(name: "test.hold") {
                defer { close(fd) }
                var clients: [Int32] = []
                let deadline = ContinuousClock.now + .seconds(holdSeconds)
                while clients.count < count, ContinuousClock.now < deadline {
                    let client = accept(fd, nil, nil)
                    guard client >= 0 else { continue }
                    // The request's head is read, so that closing sends no reset.
                    var wait = timeval(tv_sec: 5, tv_usec: 0)
                    setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &wait, socklen_t(MemoryLayout<timeval>.size))
                    var data: [UInt8] = []
                    var chunk = [UInt8](repeating: 0, count: 4096)
                    while data.firstRange(of: Array("\r\n\r\n".utf8)) == nil {
                        let n = chunk.withUnsafeMutableBytes { recv(client, $0.baseAddress, $0.count, 0) }
                        guard n > 0 else { break }
                        data += chunk[0..<n]
                    }
                    clients.append(client)
                }
                let text = "held \(clients.count)"
                let response = Array(
                    "HTTP/1.1 200 OK\r\nContent-Length: \(text.utf8.count)\r\nConnection: close\r\n\r\n\(text)".utf8)
                for client in clients {
                    _ = response.withUnsafeBytes { send(client, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                    close(client)
                }
            }
        }
    }

    @Test func aPoolSendsItsRequestsAtOnce() async throws {
        let server = try HoldingServer(count: 4, holdSeconds: 90)
        let pool = CurlTransportPool(count: 4) {
            CurlTransport(connectTimeout: 5, totalTimeout: 60, label: "pool-test")
        }
        let url = "http://127.0.0.1:\(server.port)/"
        let answers = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<4 { group.addTask { try await pool.send(HTTPRequest(method: "GET", url: url)).text } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(answers == Array(repeating: "held 4", count: 4), "the server held all four requests at once")
    }

    @Test func aRequestDeadlineCutsARequestShort() async throws {
        // The server would answer after 30 s; the transport allows 60; the task's deadline 0.5 s.
        let server = try HoldingServer(count: 2, holdSeconds: 30)
        let transport = CurlTransport(connectTimeout: 5, totalTimeout: 60, label: "deadline-test")
        let request = HTTPRequest(method: "GET", url: "http://127.0.0.1:\(server.port)/")
        let result: Result<HTTPResponse, TransportError> = await RequestDeadline.$current.withValue(
            .now + .milliseconds(500)
        ) {
            do throws(TransportError) { return .success(try await transport.send(request)) } catch {
                return .failure(error)
            }
        }
        guard case .failure(let error) = result else {
            Issue.record("answered: the deadline did not cut the request")
            return
        }
        #expect(error.isRetryable && error.message.contains("Timeout"), "\(error)")
        #expect(RequestDeadline.seconds(until: .now + .seconds(2)) > 1.9)
        #expect(RequestDeadline.seconds(until: .now - .seconds(2)) < -1.9)
    }

    @Test func requestsCarryTheAgentsUserAgentAndTheirBody() async throws {
        let server = try RecordingServer(count: 3)
        let transport = CurlTransport(connectTimeout: 5, totalTimeout: 20, label: "transport-test")
        let url = "http://127.0.0.1:\(server.port)/path"

        let get = try await transport.send(HTTPRequest(method: "GET", url: url))
        let post = try await transport.send(
            HTTPRequest(
                method: "POST", url: url, headers: [("Content-Type", "application/json")], body: Array("{\"a\":1}".utf8)
            ))
        let own = try await transport.send(HTTPRequest(method: "GET", url: url, headers: [("User-Agent", "probe/2")]))
        #expect([get.text, post.text, own.text] == ["got 0 bytes", "got 7 bytes", "got 0 bytes"])

        let requests = server.requests
        #expect(
            requests.map { $0.head.first ?? "" } == ["GET /path HTTP/1.1", "POST /path HTTP/1.1", "GET /path HTTP/1.1"])
        #expect(
            server.header("User-Agent") == [BuildInfo.userAgent, BuildInfo.userAgent, "probe/2"],
            "the agent names itself unless the request names someone else")
        #expect(BuildInfo.userAgent == "obs-agent/\(BuildInfo.version)")
        #expect(requests.count == 3 && requests[1].body == Array("{\"a\":1}".utf8))
        #expect(server.header("Expect") == [nil, nil, nil], "no 100-continue round trip")
    }

    @Test func obsctlNamesItself() async throws {
        let server = try RecordingServer(count: 1)
        let transport = CurlTransport(
            connectTimeout: 5, totalTimeout: 20, label: "transport-test", userAgent: BuildInfo.obsctlUserAgent)
        _ = try await transport.send(HTTPRequest(method: "GET", url: "http://127.0.0.1:\(server.port)/"))
        #expect(server.header("User-Agent") == ["obsctl/\(BuildInfo.version)"])
    }
}
