/// Where the agent talks to AWS: the region and an endpoint per service. (Who it is comes from
/// ``CredentialChain``.)
public struct AWSSettings: Sendable {
    /// The region, from config, else `AWS_REGION`, else `AWS_DEFAULT_REGION`.
    package var region: String?
    /// Endpoints named explicitly (config, `AWS_ENDPOINT_URL_<SERVICE>`, `AWS_ENDPOINT_URL`).
    package var explicitEndpoints: [AWSService: String]

    package init(region: String?, explicitEndpoints: [AWSService: String] = [:]) {
        self.region = region
        self.explicitEndpoints = explicitEndpoints
    }

    /// Settings from the SDKs' environment variables, with the config's values (when given) first.
    package static func resolve(
        environment: [String: String], configRegion: String? = nil, configEndpoint: String? = nil,
        configEndpoints: [AWSService: String] = [:]
    ) -> AWSSettings {
        func value(_ name: String) -> String? {
            environment[name].flatMap { $0.isEmpty ? nil : $0 }
        }
        let region = configRegion ?? value("AWS_REGION") ?? value("AWS_DEFAULT_REGION")
        var endpoints: [AWSService: String] = [:]
        for service in AWSService.allCases {
            endpoints[service] =
                configEndpoints[service] ?? configEndpoint ?? value(service.endpointVariable)
                ?? value("AWS_ENDPOINT_URL")
        }
        return AWSSettings(region: region, explicitEndpoints: endpoints)
    }

    /// The endpoint for `service`: the explicit one, else the public one of the region.
    package func endpoint(for service: AWSService) -> String? {
        if let explicit = explicitEndpoints[service] { return explicit }
        return region.map(service.defaultEndpoint(region:))
    }
}
