import ObsNet
import Testing

@testable import ObsAWS

@Suite struct AWSSettingsTests {
    @Test func serviceEndpointVariableBeatsTheGeneralOne() {
        let settings = AWSSettings.resolve(environment: [
            "AWS_ENDPOINT_URL": "http://general", "AWS_ENDPOINT_URL_CLOUDWATCH": "http://cw", "AWS_REGION": "eu-west-1",
        ])
        #expect(settings.endpoint(for: .cloudWatch) == "http://cw")
        #expect(settings.endpoint(for: .xRay) == "http://general")
        #expect(settings.region == "eu-west-1")
    }

    @Test func configBeatsEnvironmentAndRegionGivesThePublicEndpoint() {
        let settings = AWSSettings.resolve(
            environment: ["AWS_DEFAULT_REGION": "us-west-2", "AWS_ENDPOINT_URL": "http://env"],
            configRegion: "eu-central-1",
            configEndpoints: [.cloudWatch: "http://config"])
        #expect(settings.endpoint(for: .cloudWatch) == "http://config")
        #expect(settings.region == "eu-central-1")
        let plain = AWSSettings.resolve(environment: ["AWS_DEFAULT_REGION": "us-west-2"])
        #expect(plain.endpoint(for: .cloudWatch) == "https://monitoring.us-west-2.amazonaws.com")
        #expect(plain.endpoint(for: .cloudWatchLogs) == "https://logs.us-west-2.amazonaws.com")
        #expect(AWSSettings.resolve(environment: [:]).endpoint(for: .cloudWatch) == nil)
    }

    @Test func credentialsComeFromTheEnvironmentAndNeverPrintTheirSecret() {
        let credentials = AWSCredentials.fromEnvironment([
            "AWS_ACCESS_KEY_ID": "AKIAEXAMPLE", "AWS_SECRET_ACCESS_KEY": "very-secret-key",
            "AWS_SESSION_TOKEN": "token-value",
        ])
        #expect(credentials?.sessionToken == "token-value")
        let printed = "\(credentials!) \(String(reflecting: credentials!))"
        #expect(!printed.contains("very-secret-key") && !printed.contains("token-value"))
        #expect(AWSCredentials.fromEnvironment(["AWS_ACCESS_KEY_ID": "AKIAEXAMPLE"]) == nil)
    }

    @Test(arguments: [
        (
            400,
            "<ErrorResponse><Error><Code>InvalidParameterValue</Code><Message>bad</Message></Error></ErrorResponse>",
            "InvalidParameterValue", false
        ),
        (
            400,
            "<ErrorResponse><Error><Code>Throttling</Code><Message>Rate exceeded</Message></Error></ErrorResponse>",
            "Throttling", true
        ),
        (503, "", "Unknown", true),
        (
            400, #"{"__type":"com.amazonaws.logs#ThrottlingException","message":"slow down"}"#, "ThrottlingException",
            true
        ),
        (403, #"{"__type":"UnrecognizedClientException","message":"bad token"}"#, "UnrecognizedClientException", false),
    ])
    func errorResponsesAreClassified(_ status: Int, _ body: String, _ code: String, _ retryable: Bool) {
        let error = AWSError.fromResponse(HTTPResponse(status: status, body: Array(body.utf8)))
        guard case .service(_, let parsed, _) = error else {
            Issue.record("expected a service error")
            return
        }
        #expect(parsed == code)
        #expect(error.isRetryable == retryable)
    }
}
