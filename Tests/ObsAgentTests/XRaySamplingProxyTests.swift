import Foundation
import ObsAWS
import ObsNet
import Testing

/// The daemon's TCP side: sampling requests forwarded, signed, to the X-Ray endpoint (here the
/// stand-in of scripts/lib/credential_standin.py, since moto has no sampling API).
@Suite(.enabled(if: TestServices.hasBinary, "needs the built obs-agent"), .serialized)
struct XRaySamplingProxyTests {
    @Test func samplingRequestsAreForwardedSigned() async throws {
        let standIn = try await CredentialChainTests.StandIn()
        let config = try TestServices.writeTemporary(
            """
            sources:
              xray:
                address: 127.0.0.1:0
            """)
        var environment = TestServices.awsEnvironment
        environment["AWS_ENDPOINT_URL_XRAY"] = standIn.url
        let agent = try ChildProcess(
            TestServices.agentPath, ["--config", config], environment: TestServices.cleanEnvironment(environment))
        #expect(await agent.waitForOutput(containing: "xray listening", timeout: 20))
        let line = agent.stdout.split(separator: "\n").first { $0.contains("xray listening") } ?? ""
        let address = (try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String])?["address"] ?? ""
        // The TCP listener was bound and listening before the agent's services started.

        let transport = CurlTransport(label: "sampling-test")
        let rules = try await transport.send(
            HTTPRequest(method: "POST", url: "http://\(address)/GetSamplingRules", body: Array("{}".utf8)))
        #expect(rules.status == 200)
        #expect(rules.text.contains("\"RuleName\": \"Default\""))
        let targets = try await transport.send(
            HTTPRequest(
                method: "POST", url: "http://\(address)/SamplingTargets",
                body: Array(#"{"SamplingStatisticsDocuments":[]}"#.utf8)))
        #expect(targets.status == 200)
        let other = try await transport.send(HTTPRequest(method: "GET", url: "http://\(address)/Other"))
        #expect(other.status == 404)

        let seen = try await standIn.stats()["sampling"] as? [[String: String]] ?? []
        #expect(seen.map { $0["path"] } == ["/GetSamplingRules", "/SamplingTargets"])
        #expect(
            seen.allSatisfy { $0["scope"]?.hasSuffix("/us-east-1/xray/aws4_request") == true },
            "signed for X-Ray: \(seen)")
        #expect(seen.last?["body"] == #"{"SamplingStatisticsDocuments":[]}"#)
        kill(agent.process.processIdentifier, SIGTERM)
        #expect(await agent.wait(timeout: 30) == 0)
    }
}
