import Foundation
import Testing

@testable import ObsAWS

/// libcurl honours the proxy variables: a request goes through `http_proxy` unless `NO_PROXY`
/// names its host. (libcurl reads the lower-case `http_proxy` only, for HTTP; `HTTPS_PROXY` or
/// `https_proxy` for HTTPS.) Each case runs the agent's `check`, which calls CloudWatch once.
@Suite(
    .enabled(if: TestServices.hasAWS && TestServices.hasBinary && TestServices.hasPostgres, "needs scripts/test"),
    .serialized)
struct ProxyTests {
    func check(proxy: FaultProxy, noProxy: String?) async throws -> Int {
        var environment = TestServices.awsEnvironment
        environment["http_proxy"] = proxy.url
        if let noProxy { environment["NO_PROXY"] = noProxy }
        environment.merge([
            "DB_HOST": "127.0.0.1", "DB_PORT": TestServices.pgPort, "DB_NAME": "keycloak", "DB_USER": "obs_agent",
            "DB_PASSWORD": TestServices.pgPassword,
        ]) { $1 }
        let (status, out, _) = try await ChildProcess.run(
            TestServices.agentPath, ["check"], environment: TestServices.cleanEnvironment(environment))
        #expect(status == 0, "\(out)")
        return try await proxy.stats().outcomes["as_forward_proxy"] ?? 0
    }

    @Test func requestsGoThroughTheProxyUnlessNoProxyNamesTheHost() async throws {
        let proxy = try await FaultProxy(target: TestServices.awsEndpoint)
        #expect(try await check(proxy: proxy, noProxy: nil) == 1, "through the proxy")
        #expect(try await check(proxy: proxy, noProxy: "127.0.0.1") == 1, "NO_PROXY bypasses it")
        await proxy.stop()
    }
}
