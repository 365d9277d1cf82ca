import FoundationEssentials
import ObsCore

#if canImport(Glibc)
    import Glibc
#endif

/// Credentials and when they stop working (nil for long-term keys).
public struct ExpiringCredentials: Sendable, Equatable {
    package var credentials: AWSCredentials
    package var expiration: Date?

    package init(_ credentials: AWSCredentials, expiration: Date? = nil) {
        self.credentials = credentials
        self.expiration = expiration
    }
}

/// Why no credentials could be had from a provider.
public struct CredentialError: Error, Sendable, CustomStringConvertible {
    /// The provider (`environment`, `profile`, `web-identity`, `ecs`, `imds`).
    package var provider: String
    package var message: String

    package init(_ provider: String, _ message: String) {
        self.provider = provider
        self.message = message
    }

    public var description: String { "credentials (\(provider)): \(message)" }
}

/// One source of credentials in the SDKs' chain.
public protocol CredentialProvider: Sendable {
    /// A short name for messages.
    var name: String { get }
    /// Fetches credentials now (no caching: ``RefreshingCredentials`` caches).
    func fetch() async throws(CredentialError) -> ExpiringCredentials
}

/// Credentials that never change (from the environment, a profile, or a test).
public struct StaticCredentialProvider: CredentialProvider {
    public let name: String
    package let credentials: AWSCredentials

    package init(name: String = "static", _ credentials: AWSCredentials) {
        self.name = name
        self.credentials = credentials
    }

    public func fetch() async throws(CredentialError) -> ExpiringCredentials {
        ExpiringCredentials(credentials)
    }
}

/// Parsing helpers shared by the providers that read JSON or XML credential documents.
enum CredentialDocument {
    /// `2026-11-27T06:00:00Z` (with or without fractional seconds).
    static func date(_ text: String) -> Date? {
        RFC3339.seconds(text).map { Date(timeIntervalSince1970: $0) }
    }

    private struct Document: Decodable {
        var AccessKeyId: String?
        var SecretAccessKey: String?
        var Token: String?
        var Expiration: String?
    }

    /// The credentials in an ECS or IMDS JSON document (`AccessKeyId`, `SecretAccessKey`,
    /// `Token`, `Expiration`).
    static func fromJSON(_ bytes: [UInt8], provider: String) throws(CredentialError) -> ExpiringCredentials {
        guard let object = try? JSONDecoder().decode(Document.self, from: Data(bytes)),
            let id = object.AccessKeyId, let secret = object.SecretAccessKey
        else { throw CredentialError(provider, "the credential document has no AccessKeyId and SecretAccessKey") }
        let expiration = object.Expiration.flatMap(date)
        return ExpiringCredentials(
            AWSCredentials(accessKeyID: id, secretAccessKey: secret, sessionToken: object.Token),
            expiration: expiration)
    }
}
