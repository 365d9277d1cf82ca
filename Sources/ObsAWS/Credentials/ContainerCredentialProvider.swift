import FoundationEssentials
import ObsCore
import ObsNet

#if canImport(Glibc)
    import Glibc
#endif

/// The ECS (and EKS Pod Identity) container credentials endpoint:
/// `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` at 169.254.170.2, or `AWS_CONTAINER_CREDENTIALS_FULL_URI`
/// when its host is loopback, 169.254.170.2, 169.254.170.23 or fd00:ec2::23 (any other host is
/// refused: credentials must not be sent elsewhere). The authorization token comes from
/// `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE` (read at every fetch, so rotation is seen) or
/// `AWS_CONTAINER_AUTHORIZATION_TOKEN`; a token holding CR or LF is refused.
public struct ContainerCredentialProvider: CredentialProvider {
    public let name = "ecs"
    package static let ecsHost = "169.254.170.2"
    package static let allowedHosts: Set<String> = [
        "169.254.170.2", "169.254.170.23", "fd00:ec2::23", "[fd00:ec2::23]", "localhost",
    ]

    package let url: String
    let tokenFile: String?
    let token: String?
    let transport: any HTTPTransport

    /// nil when neither URI variable is set.
    package init?(environment: [String: String], transport: any HTTPTransport) throws(CredentialError) {
        if let relative = environment["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"], !relative.isEmpty {
            url = "http://\(Self.ecsHost)\(relative.hasPrefix("/") ? "" : "/")\(relative)"
        } else if let full = environment["AWS_CONTAINER_CREDENTIALS_FULL_URI"], !full.isEmpty {
            guard let host = URLComponents(string: full)?.host, Self.isAllowed(host: host) else {
                throw CredentialError(
                    "ecs",
                    "AWS_CONTAINER_CREDENTIALS_FULL_URI must name a loopback address, 169.254.170.2, 169.254.170.23 or fd00:ec2::23"
                )
            }
            url = full
        } else {
            return nil
        }
        tokenFile = environment["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"].flatMap { $0.isEmpty ? nil : $0 }
        token = environment["AWS_CONTAINER_AUTHORIZATION_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
        self.transport = transport
    }

    static func isAllowed(host: String) -> Bool {
        if allowedHosts.contains(host.lowercased()) { return true }
        if host == "::1" || host == "[::1]" { return true }
        let parts = host.split(separator: ".")
        return parts.count == 4 && parts[0] == "127" && parts.allSatisfy { UInt8($0) != nil }
    }

    public func fetch() async throws(CredentialError) -> ExpiringCredentials {
        var headers: [(name: String, value: String)] = []
        var authorization = token
        if let tokenFile {
            guard let text = try? String(contentsOfFile: tokenFile, encoding: .utf8) else {
                throw CredentialError(name, "cannot read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE \(tokenFile)")
            }
            authorization = text.trimmingBlanks()
            if authorization?.hasSuffix("\n") == true { authorization?.removeLast() }
        }
        if let authorization {
            // Bytes, not Characters: "\r\n" is one Character, which contains("\r") would not find.
            guard !authorization.utf8.contains(13) && !authorization.utf8.contains(10) else {
                throw CredentialError(name, "the authorization token holds a CR or LF character; refused")
            }
            headers.append((name: "Authorization", value: authorization))
        }
        let response: HTTPResponse
        do {
            response = try await transport.send(HTTPRequest(method: "GET", url: url, headers: headers))
        } catch {
            throw CredentialError(name, "\(error)")
        }
        guard response.status == 200 else {
            throw CredentialError(name, "HTTP \(response.status) from the credentials endpoint")
        }
        return try CredentialDocument.fromJSON(response.body, provider: name)
    }
}
