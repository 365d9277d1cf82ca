import ObsNet

/// The AWS SDKs' default chain, in their order: environment variables; the shared credentials and
/// config files (`AWS_PROFILE`); web identity (`AWS_WEB_IDENTITY_TOKEN_FILE` + `AWS_ROLE_ARN`); the
/// container endpoint (ECS, EKS Pod Identity); EC2 instance metadata (IMDSv2). The first provider
/// that is configured is used; instance metadata is the last resort.
public enum CredentialChain {
    /// The provider the environment calls for, or nil when there is none (metadata disabled).
    package static func resolve(
        environment: [String: String], region: String?, transport: @autoclosure () -> any HTTPTransport,
        metadataTransport: @autoclosure () -> any HTTPTransport
    ) throws(CredentialError) -> (any CredentialProvider)? {
        if let credentials = AWSCredentials.fromEnvironment(environment) {
            return StaticCredentialProvider(name: "environment", credentials)
        }
        let profile = ProfileCredentialProvider(environment: environment)
        if profile.isConfigured { return profile }
        if let webIdentity = WebIdentityCredentialProvider(
            environment: environment, region: region, transport: transport())
        {
            return webIdentity
        }
        if let container = try ContainerCredentialProvider(environment: environment, transport: transport()) {
            return container
        }
        return InstanceMetadataCredentialProvider(environment: environment, transport: metadataTransport())
    }
}
