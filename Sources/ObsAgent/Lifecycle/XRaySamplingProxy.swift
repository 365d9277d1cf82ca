import ObsAWS
import ObsCore
import ObsNet

/// The TCP side of the X-Ray daemon that SDKs use for centralised sampling: `POST /GetSamplingRules`
/// and `POST /SamplingTargets` on the daemon's address are forwarded, signed with the agent's
/// credentials, to the X-Ray endpoint, and the answers handed back as they came.
struct XRaySamplingProxy: Service, CustomStringConvertible {
    static let forwardedPaths: Set<String> = ["/GetSamplingRules", "/SamplingTargets"]
    let server: LoopbackHTTPServer

    var description: String { "xray-sampling(tcp \(server.port))" }

    init(host: String, port: Int, client: AWSClient) throws(HTTPServerError) {
        server = try LoopbackHTTPServer(host: host, port: port) { request in
            await Self.forward(request, client: client)
        }
    }

    static func forward(_ request: HTTPServerRequest, client: AWSClient) async -> HTTPServerResponse {
        let path = String(request.target.prefix { $0 != "?" })
        guard request.method == "POST", forwardedPaths.contains(path) else {
            return HTTPServerResponse(
                status: 404, text: "only POST /GetSamplingRules and /SamplingTargets are served here\n")
        }
        do {
            let response = try await client.send(
                path: path, headers: [("Content-Type", "application/json")], body: request.body)
            return HTTPServerResponse(status: response.status, body: response.body)
        } catch {
            switch error {
            case .service(let status, let code, let message):
                return HTTPServerResponse(
                    status: status,
                    body: Array("{\"__type\":\(JSONText.quoted(code)),\"message\":\(JSONText.quoted(message))}".utf8))
            case .transport, .credentials:
                return HTTPServerResponse(
                    status: 502,
                    body: Array("{\"__type\":\"BadGateway\",\"message\":\(JSONText.quoted(error.description))}".utf8))
            }
        }
    }

    func run() async throws {
        await cancelWhenGracefulShutdown {
            await server.run()
        }
    }
}
