import ObsCore
import ObsNet

/// Who we are to AWS and where requests go: the region, each service's endpoint and refreshing
/// credentials, found once as the SDKs find them. The agent and obsctl both set up AWS this way.
public struct AWSAccess: Sendable {
    /// Why AWS cannot be reached.
    public enum Problem: Error, Equatable, CustomStringConvertible {
        /// No credentials anywhere in the chain.
        case noCredentials
        /// A provider is configured but broken (an unreadable profile, a refused container URI).
        case credentials(String)

        public var description: String {
            switch self {
            case .noCredentials:
                return "no AWS credentials found (environment, profile, web identity, container or instance metadata)"
            case .credentials(let text): return "credentials: \(text)"
            }
        }
    }

    package let settings: AWSSettings
    package let credentials: RefreshingCredentials
    public let userAgent: String

    package init(settings: AWSSettings, credentials: RefreshingCredentials, userAgent: String = BuildInfo.userAgent) {
        self.settings = settings
        self.credentials = credentials
        self.userAgent = userAgent
    }

    /// Resolves the credential chain for `settings`. `onNewSecret` receives every secret the
    /// credentials bring (for the log redactor).
    package static func resolve(
        settings: AWSSettings, environment: [String: String], userAgent: String = BuildInfo.userAgent,
        onNewSecret: @escaping @Sendable (String) -> Void = { _ in }
    ) throws(Problem) -> AWSAccess {
        let provider: (any CredentialProvider)?
        do {
            provider = try CredentialChain.resolve(
                environment: environment, region: settings.region,
                transport: CurlTransport(
                    connectTimeout: 1, totalTimeout: 5, label: "credentials", userAgent: userAgent),
                metadataTransport: CurlTransport(
                    connectTimeout: 1, totalTimeout: 1, label: "imds", userAgent: userAgent))
        } catch {
            throw .credentials(error.description)
        }
        guard let provider else { throw .noCredentials }
        return AWSAccess(
            settings: settings, credentials: RefreshingCredentials(provider, onNewSecret: onNewSecret),
            userAgent: userAgent)
    }

    /// The region requests are signed for: the configured one, else `us-east-1` (only reached
    /// with an explicit endpoint, such as a local stand-in).
    package var signingRegion: String { settings.region ?? "us-east-1" }

    /// A client for `service`, or nil when it has neither a region nor an endpoint to go to.
    package func client(for service: AWSService, transport: any HTTPTransport) -> AWSClient? {
        guard let endpoint = settings.endpoint(for: service) else { return nil }
        return AWSClient(
            service: service, endpoint: endpoint, region: signingRegion, credentials: credentials, transport: transport)
    }
}
