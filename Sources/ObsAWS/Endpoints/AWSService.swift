/// The AWS services the agent and obsctl talk to, with the names each uses for signing, endpoints
/// and the SDKs' endpoint environment variables.
public enum AWSService: String, Sendable, CaseIterable {
    case cloudWatch
    case cloudWatchLogs
    case xRay

    /// The SigV4 service name (the credential scope's third part).
    package var signingName: String {
        switch self {
        case .cloudWatch: return "monitoring"
        case .cloudWatchLogs: return "logs"
        case .xRay: return "xray"
        }
    }

    /// The SDKs' service-specific endpoint variable, `AWS_ENDPOINT_URL_<ID>`.
    package var endpointVariable: String {
        switch self {
        case .cloudWatch: return "AWS_ENDPOINT_URL_CLOUDWATCH"
        case .cloudWatchLogs: return "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS"
        case .xRay: return "AWS_ENDPOINT_URL_XRAY"
        }
    }

    /// The key under `aws.endpoints` in the agent's config.
    package var configKey: String {
        switch self {
        case .cloudWatch: return "cloudwatch"
        case .cloudWatchLogs: return "logs"
        case .xRay: return "xray"
        }
    }

    /// The public regional endpoint.
    package func defaultEndpoint(region: String) -> String {
        "https://\(signingName).\(region).amazonaws.com"
    }
}
