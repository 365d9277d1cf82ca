import FoundationEssentials
import Logging
import ObsNet

#if canImport(Glibc)
    import Glibc
#endif

/// Sends signed requests to one AWS service endpoint.
public struct AWSClient: Sendable {
    package let service: AWSService
    package let endpoint: String
    package let region: String
    package let credentials: RefreshingCredentials
    package let transport: any HTTPTransport

    public init(
        service: AWSService, endpoint: String, region: String, credentials: RefreshingCredentials,
        transport: any HTTPTransport
    ) {
        self.service = service
        self.endpoint = endpoint
        self.region = region
        self.credentials = credentials
        self.transport = transport
    }

    /// A client with fixed credentials.
    public init(
        service: AWSService, endpoint: String, region: String, credentials: AWSCredentials, transport: any HTTPTransport
    ) {
        self.init(
            service: service, endpoint: endpoint, region: region,
            credentials: RefreshingCredentials(StaticCredentialProvider(credentials)), transport: transport)
    }

    /// The host (and port) of the endpoint, as the `Host` header wants it.
    var host: String {
        let afterScheme = endpoint.firstRange(of: "://").map { endpoint[$0.upperBound...] } ?? endpoint[...]
        return String(afterScheme.split(separator: "/", maxSplits: 1).first ?? afterScheme)
    }

    /// Builds, signs and sends a request to `path` on the endpoint.
    public func send(
        method: String = "POST", path: String = "/", headers: [(String, String)], body: [UInt8], at date: Date = Date()
    ) async throws(AWSError) -> HTTPResponse {
        let current: AWSCredentials
        do {
            current = try await credentials.current(now: date)
        } catch {
            throw .credentials(error)
        }
        let signed = sign(method: method, path: path, headers: headers, body: body, credentials: current, at: date)
        let base = endpoint.hasSuffix("/") ? String(endpoint.dropLast()) : endpoint
        let request = HTTPRequest(
            method: method, url: base + path, headers: signed.headers.filter { $0.name.lowercased() != "host" },
            body: body)
        let response: HTTPResponse
        do {
            response = try await transport.send(request)
        } catch {
            throw .transport(error)
        }
        guard (200..<300).contains(response.status) else {
            throw AWSError.fromResponse(response)
        }
        return response
    }

    /// The signed request (headers include `Authorization`), without sending it.
    package func sign(
        method: String, path: String, headers: [(String, String)], body: [UInt8], credentials: AWSCredentials,
        at date: Date
    ) -> SignableRequest {
        let request = SignableRequest(method: method, path: path, headers: [("Host", host)] + headers, body: body)
        return SigV4Signer(credentials: credentials, region: region, service: service.signingName).signed(
            request, at: date)
    }
}
