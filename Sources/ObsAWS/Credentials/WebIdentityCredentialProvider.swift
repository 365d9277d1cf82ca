import FoundationEssentials
import ObsCore
import ObsNet

#if canImport(Glibc)
    import Glibc
#endif

/// IAM roles for service accounts (EKS) and other OIDC federation: the token in
/// `AWS_WEB_IDENTITY_TOKEN_FILE` (read again at every refresh, as the kubelet rotates it) is
/// exchanged for temporary credentials of `AWS_ROLE_ARN` with STS AssumeRoleWithWebIdentity, an
/// unsigned call. STS is `AWS_ENDPOINT_URL_STS`, else `AWS_ENDPOINT_URL`, else the regional endpoint.
public struct WebIdentityCredentialProvider: CredentialProvider {
    public let name = "web-identity"
    package let tokenFile: String
    package let roleARN: String
    package let sessionName: String
    package let stsEndpoint: String
    let transport: any HTTPTransport

    /// nil unless both the token file and the role are set.
    package init?(environment: [String: String], region: String?, transport: any HTTPTransport) {
        guard let tokenFile = environment["AWS_WEB_IDENTITY_TOKEN_FILE"], !tokenFile.isEmpty,
            let roleARN = environment["AWS_ROLE_ARN"], !roleARN.isEmpty
        else { return nil }
        self.tokenFile = tokenFile
        self.roleARN = roleARN
        sessionName = environment["AWS_ROLE_SESSION_NAME"].flatMap { $0.isEmpty ? nil : $0 } ?? "obs-agent"
        stsEndpoint =
            environment["AWS_ENDPOINT_URL_STS"].flatMap { $0.isEmpty ? nil : $0 }
            ?? environment["AWS_ENDPOINT_URL"].flatMap { $0.isEmpty ? nil : $0 }
            ?? "https://sts.\(region ?? "us-east-1").amazonaws.com"
        self.transport = transport
    }

    public func fetch() async throws(CredentialError) -> ExpiringCredentials {
        guard let raw = try? String(contentsOfFile: tokenFile, encoding: .utf8) else {
            throw CredentialError(name, "cannot read AWS_WEB_IDENTITY_TOKEN_FILE \(tokenFile)")
        }
        let token = raw.trimmingWhitespace()
        let form = [
            ("Action", "AssumeRoleWithWebIdentity"), ("Version", "2011-06-15"), ("RoleArn", roleARN),
            ("RoleSessionName", sessionName), ("WebIdentityToken", token),
        ].map { "\(URIEncoding.encode($0.0))=\(URIEncoding.encode($0.1))" }.joined(separator: "&")
        let response: HTTPResponse
        do {
            response = try await transport.send(
                HTTPRequest(
                    method: "POST", url: stsEndpoint.hasSuffix("/") ? stsEndpoint : stsEndpoint + "/",
                    headers: [(name: "Content-Type", value: "application/x-www-form-urlencoded; charset=utf-8")],
                    body: Array(form.utf8)))
        } catch {
            throw CredentialError(name, "\(error)")
        }
        let text = response.text
        guard response.status == 200 else {
            throw CredentialError(
                name, "STS answered HTTP \(response.status): \(AWSError.element("Code", in: text) ?? "no error code")")
        }
        guard let id = AWSError.element("AccessKeyId", in: text),
            let secret = AWSError.element("SecretAccessKey", in: text)
        else {
            throw CredentialError(name, "the STS answer has no credentials")
        }
        return ExpiringCredentials(
            AWSCredentials(
                accessKeyID: id, secretAccessKey: secret, sessionToken: AWSError.element("SessionToken", in: text)),
            expiration: AWSError.element("Expiration", in: text).flatMap(CredentialDocument.date))
    }
}
