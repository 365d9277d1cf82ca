import FoundationEssentials
import ObsNet

#if canImport(Glibc)
    import Glibc
#endif

/// EC2 instance metadata, version 2 only: a session token from `PUT /latest/api/token`, then the
/// role's credentials, every request with a 1 s timeout (the agent must not hang off EC2). The
/// endpoint is `AWS_EC2_METADATA_SERVICE_ENDPOINT` (default http://169.254.169.254);
/// `AWS_EC2_METADATA_DISABLED=true` turns the provider off.
public struct InstanceMetadataCredentialProvider: CredentialProvider {
    public let name = "imds"
    package static let defaultEndpoint = "http://169.254.169.254"
    package static let tokenTTL = 21600

    package let endpoint: String
    let transport: any HTTPTransport

    /// nil when disabled.
    package init?(environment: [String: String], transport: any HTTPTransport) {
        if environment["AWS_EC2_METADATA_DISABLED"]?.lowercased() == "true" { return nil }
        var endpoint =
            environment["AWS_EC2_METADATA_SERVICE_ENDPOINT"].flatMap { $0.isEmpty ? nil : $0 } ?? Self.defaultEndpoint
        if endpoint.hasSuffix("/") { endpoint.removeLast() }
        self.endpoint = endpoint
        self.transport = transport
    }

    public func fetch() async throws(CredentialError) -> ExpiringCredentials {
        let token = try await call(
            "PUT", "/latest/api/token", [("X-aws-ec2-metadata-token-ttl-seconds", String(Self.tokenTTL))])
        let tokenHeader = [("X-aws-ec2-metadata-token", String(decoding: token, as: UTF8.self))]
        let roles = String(
            decoding: try await call("GET", "/latest/meta-data/iam/security-credentials/", tokenHeader), as: UTF8.self)
        guard let role = roles.split(whereSeparator: \.isNewline).first.map(String.init), !role.isEmpty else {
            throw CredentialError(name, "the instance has no IAM role")
        }
        let document = try await call("GET", "/latest/meta-data/iam/security-credentials/\(role)", tokenHeader)
        return try CredentialDocument.fromJSON(document, provider: name)
    }

    private func call(_ method: String, _ path: String, _ headers: [(String, String)]) async throws(CredentialError)
        -> [UInt8]
    {
        let response: HTTPResponse
        do {
            response = try await transport.send(
                HTTPRequest(method: method, url: endpoint + path, headers: headers.map { (name: $0.0, value: $0.1) }))
        } catch {
            throw CredentialError(name, "\(error)")
        }
        guard response.status == 200 else {
            throw CredentialError(name, "HTTP \(response.status) for \(method) \(path)")
        }
        return response.body
    }
}
