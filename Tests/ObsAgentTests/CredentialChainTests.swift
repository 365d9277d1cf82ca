import Foundation
import ObsNet
import Synchronization
import Testing

@testable import ObsAWS

/// Each provider of the credential chain against a local stand-in (scripts/lib/credential_standin.py).
@Suite(.serialized)
struct CredentialChainTests {
    /// The stand-in, started per test with the expiry it needs.
    final class StandIn: @unchecked Sendable {
        let child: ChildProcess
        let url: String

        init(expiry: Int = 21600) async throws {
            let script = TestServices.repositoryRoot.appendingPathComponent("scripts/lib/credential_standin.py").path
            child = try ChildProcess(
                "/usr/bin/env", ["python3", script, "--expiry", "\(expiry)", "--ecs-token", "ecs-auth-token"],
                environment: TestServices.cleanEnvironment())
            _ = await child.waitForOutput(containing: "\n", timeout: 15)
            guard let port = Int(child.stdout.split(separator: "\n").first ?? "") else {
                throw ChildProcess.Failure(message: "stand-in did not start: \(child.stderr)")
            }
            url = "http://127.0.0.1:\(port)"
        }

        func stats() async throws -> [String: Any] {
            let response = try await CurlTransport().send(HTTPRequest(method: "GET", url: "\(url)/__stats"))
            return try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any] ?? [:]
        }

        deinit { child.stop() }
    }

    static let transport = CurlTransport(connectTimeout: 1, totalTimeout: 2, label: "credentials-test")

    static func resolve(_ environment: [String: String]) throws -> (any CredentialProvider)? {
        try CredentialChain.resolve(
            environment: environment, region: "us-east-1", transport: transport, metadataTransport: transport)
    }

    static func temporaryFile(_ text: String) throws -> String {
        let path = NSTemporaryDirectory() + "obs-cred-\(UUID().uuidString)"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func environmentComesFirst() async throws {
        let provider = try #require(
            try Self.resolve([
                "AWS_ACCESS_KEY_ID": "AKIAENV", "AWS_SECRET_ACCESS_KEY": "env-secret", "AWS_SESSION_TOKEN": "env-token",
                "AWS_PROFILE": "other", "AWS_EC2_METADATA_DISABLED": "true",
            ]))
        #expect(provider.name == "environment")
        #expect(try await provider.fetch().credentials.sessionToken == "env-token")
    }

    @Test func profilesComeFromTheSharedFiles() async throws {
        let credentials = try Self.temporaryFile(
            """
            [default]
            aws_access_key_id = AKIADEFAULT
            aws_secret_access_key = default-secret

            [ops]
            aws_access_key_id=AKIAOPS
            aws_secret_access_key=ops-secret
            aws_session_token = ops-token
            """)
        let config = try Self.temporaryFile(
            """
            [profile config-only]
            region = eu-west-1
            aws_access_key_id = AKIACONFIG
            aws_secret_access_key = config-secret
            """)
        let base = [
            "AWS_SHARED_CREDENTIALS_FILE": credentials, "AWS_CONFIG_FILE": config, "AWS_EC2_METADATA_DISABLED": "true",
        ]
        let ops = try #require(try Self.resolve(base.merging(["AWS_PROFILE": "ops"]) { $1 }))
        #expect(ops.name == "profile")
        #expect(
            try await ops.fetch().credentials
                == AWSCredentials(accessKeyID: "AKIAOPS", secretAccessKey: "ops-secret", sessionToken: "ops-token"))
        #expect(try await Self.resolve(base)?.fetch().credentials.accessKeyID == "AKIADEFAULT")
        #expect(
            try await Self.resolve(base.merging(["AWS_PROFILE": "config-only"]) { $1 })?.fetch().credentials.accessKeyID
                == "AKIACONFIG")
        #expect(
            try Self.resolve(base.merging(["AWS_PROFILE": "missing"]) { $1 }) == nil,
            "no profile, no metadata: no provider")
    }

    @Test func webIdentityExchangesTheTokenFileAndRereadsItWhenRotated() async throws {
        let standIn = try await StandIn(expiry: 120)  // inside the 5-minute refresh window: every use refreshes
        let tokenFile = try Self.temporaryFile("first-oidc-token\n")
        let provider = try #require(
            try Self.resolve([
                "AWS_WEB_IDENTITY_TOKEN_FILE": tokenFile, "AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/obs-agent",
                "AWS_ENDPOINT_URL_STS": standIn.url, "AWS_EC2_METADATA_DISABLED": "true",
            ]))
        #expect(provider.name == "web-identity")
        let refreshing = RefreshingCredentials(provider)
        let first = try await refreshing.current()
        try "rotated-oidc-token".write(toFile: tokenFile, atomically: true, encoding: .utf8)
        let second = try await refreshing.current()
        #expect(first.accessKeyID != second.accessKeyID, "credentials close to expiry are refreshed")
        #expect(second.sessionToken != nil)
        let tokens = try await standIn.stats()["web_identity_tokens"] as? [String]
        #expect(tokens == ["first-oidc-token", "rotated-oidc-token"])
    }

    @Test func theContainerEndpointSendsTheTokenFromItsFileAndRefusesOtherHosts() async throws {
        let standIn = try await StandIn()
        let tokenFile = try Self.temporaryFile("ecs-auth-token\n")
        let environment = [
            "AWS_CONTAINER_CREDENTIALS_FULL_URI": "\(standIn.url)/ecs/credentials",
            "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": tokenFile, "AWS_EC2_METADATA_DISABLED": "true",
        ]
        let provider = try #require(try Self.resolve(environment))
        #expect(provider.name == "ecs")
        let refreshing = RefreshingCredentials(provider)
        let first = try await refreshing.current()
        #expect(first.accessKeyID.hasPrefix("ASIAECS"))
        #expect(try await refreshing.current() == first, "six-hour credentials are cached")
        #expect(try await standIn.stats()["ecs"] as? Int == 1)

        try "ecs-auth-token\r\nX-Injected: 1".write(toFile: tokenFile, atomically: true, encoding: .utf8)
        await #expect(throws: CredentialError.self) { try await provider.fetch() }
        var direct = environment
        direct["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"] = nil
        direct["AWS_CONTAINER_AUTHORIZATION_TOKEN"] = "ecs-auth-token"
        #expect(try await Self.resolve(direct)?.fetch().credentials.accessKeyID.hasPrefix("ASIAECS") == true)

        for host in ["http://10.0.0.5/creds", "http://169.254.169.254/creds", "http://example.com/creds"] {
            #expect(throws: CredentialError.self, "\(host)") {
                try Self.resolve(["AWS_CONTAINER_CREDENTIALS_FULL_URI": host, "AWS_EC2_METADATA_DISABLED": "true"])
            }
        }
        for host in [
            "http://169.254.170.23/v1/credentials", "http://[fd00:ec2::23]/v1/credentials", "http://localhost:8080/c",
        ] {
            #expect(try Self.resolve(["AWS_CONTAINER_CREDENTIALS_FULL_URI": host])?.name == "ecs", "\(host)")
        }
        #expect(
            (try Self.resolve(["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/v2/credentials/abc"])
                as? ContainerCredentialProvider)?.url
                == "http://169.254.170.2/v2/credentials/abc")
    }

    @Test func instanceMetadataUsesAVersion2SessionToken() async throws {
        let standIn = try await StandIn(expiry: 60)
        let provider = try #require(try Self.resolve(["AWS_EC2_METADATA_SERVICE_ENDPOINT": standIn.url]))
        #expect(provider.name == "imds")
        let refreshing = RefreshingCredentials(provider)
        let first = try await refreshing.current()
        let second = try await refreshing.current()
        #expect(first.accessKeyID.hasPrefix("ASIAIMDS"))
        #expect(first != second, "credentials within five minutes of expiry are refreshed")
        let stats = try await standIn.stats()
        #expect(stats["imds_token"] as? Int == 2)
        #expect(stats["imds_rejected"] as? Int == 0, "every metadata read carried the session token")
        #expect(try Self.resolve(["AWS_EC2_METADATA_DISABLED": "true"]) == nil)
    }

    @Test func anUnreachableMetadataServiceFailsWithinASecondOrTwo() async throws {
        let provider = try #require(try Self.resolve(["AWS_EC2_METADATA_SERVICE_ENDPOINT": "http://127.0.0.1:1"]))
        let start = ContinuousClock.now
        await #expect(throws: CredentialError.self) { try await provider.fetch() }
        #expect(ContinuousClock.now - start < .seconds(3))
    }

    @Test func aFailedRefreshKeepsUsingCredentialsThatAreStillValid() async throws {
        struct Flaky: CredentialProvider {
            let name = "flaky"
            let calls = Counter()
            func fetch() async throws(CredentialError) -> ExpiringCredentials {
                if calls.next() > 1 { throw CredentialError(name, "down") }
                return ExpiringCredentials(
                    AWSCredentials(accessKeyID: "A", secretAccessKey: "S"), expiration: Date().addingTimeInterval(120))
            }
        }
        let refreshing = RefreshingCredentials(Flaky())
        #expect(try await refreshing.current().accessKeyID == "A")
        #expect(try await refreshing.current().accessKeyID == "A", "the refresh failed; the old credentials still work")
        await #expect(throws: CredentialError.self) {
            try await refreshing.current(now: Date().addingTimeInterval(600))
        }
    }
}

final class Counter: @unchecked Sendable {
    private let value = Mutex(0)
    func next() -> Int {
        value.withLock {
            $0 += 1
            return $0
        }
    }
}
