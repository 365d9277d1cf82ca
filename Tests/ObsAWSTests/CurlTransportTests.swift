import ObsAWS
import ObsCore
import Synchronization
import Testing

/// The libcurl transport against a local server: what reaches the server, and what comes back.
struct CurlTransportTests {
    final class Seen: Sendable {
        let requests = Mutex<[HTTPServerRequest]>([])
    }

    @Test func requestsCarryTheAgentsUserAgentAndTheirBody() async throws {
        let seen = Seen()
        let server = try LoopbackHTTPServer(host: "127.0.0.1", port: 0) { request in
            seen.requests.withLock { $0.append(request) }
            return HTTPServerResponse(status: 200, text: "got \(request.body.count) bytes")
        }
        let serving = Task { await server.run() }
        defer { serving.cancel() }
        // Generous: the server answers from the cooperative pool, which the whole suite shares.
        let transport = CurlTransport(connectTimeout: 10, totalTimeout: 60, label: "transport-test")
        let url = "http://127.0.0.1:\(server.port)/path"

        let get = try await transport.send(HTTPRequest(method: "GET", url: url))
        let post = try await transport.send(
            HTTPRequest(method: "POST", url: url, headers: [("Content-Type", "application/json")], body: Array("{\"a\":1}".utf8)))
        let own = try await transport.send(HTTPRequest(method: "GET", url: url, headers: [("User-Agent", "probe/2")]))
        #expect([get.text, post.text, own.text] == ["got 0 bytes", "got 7 bytes", "got 0 bytes"])

        let requests = seen.requests.withLock { $0 }
        #expect(requests.map(\.method) == ["GET", "POST", "GET"])
        #expect(requests.map { $0.headers["user-agent"] } == [BuildInfo.userAgent, BuildInfo.userAgent, "probe/2"],
                "the agent names itself unless the request names someone else")
        #expect(BuildInfo.userAgent == "obs-agent/\(BuildInfo.version)")
        #expect(requests[1].body == Array("{\"a\":1}".utf8) && requests[1].headers["expect"] == nil, "no 100-continue round trip")
    }
}
