import Foundation
import Testing

/// The soak's endpoint (scripts/lib/counting_aws.py, its own tests in counting_aws_test.py) takes
/// what the agent sends: every request's SigV4 signature verified independently of the agent's
/// signer, every AWS limit checked, nothing refused; the segments counted by id, the statement
/// texts and the metrics counted.
@Suite(.enabled(if: TestServices.hasBinary && TestServices.hasPostgres, "needs obs-agent and PostgreSQL"), .serialized)
struct CountingEndpointTests {
    @Test func theAgentsRequestsPassTheIndependentChecks() async throws {
        let counts = TestServices.temporaryDirectory("counts") + ".json"
        let script = TestServices.repositoryRoot.appendingPathComponent("scripts/lib/counting_aws.py").path
        let endpoint = try ChildProcess(
            "/usr/bin/env",
            ["python3", script, counts, "--access-key", "AKIDSOAK", "--secret", "soak-secret", "--lifetime", "120"],
            environment: TestServices.cleanEnvironment())
        defer { endpoint.stop() }
        _ = await endpoint.waitForOutput(containing: "\n", timeout: 20)
        let port = Int(endpoint.stdout.split(separator: "\n").first ?? "") ?? 0
        #expect(port > 0, "\(endpoint.stderr)")

        let config = try TestServices.writeTemporary(
            TestServices.config(instance: "counted", flushInterval: 2) + """

                  xray:
                    address: 127.0.0.1:0
                    batch_delay: 200ms
                """)
        defer { try? FileManager.default.removeItem(atPath: config) }
        let agent = try ChildProcess(
            TestServices.agentPath, ["--config", config],
            environment: TestServices.cleanEnvironment([
                "AWS_ACCESS_KEY_ID": "AKIDSOAK", "AWS_SECRET_ACCESS_KEY": "soak-secret", "AWS_REGION": "eu-west-1",
                "AWS_ENDPOINT_URL": "http://127.0.0.1:\(port)",
                "OBS_SPOOL_DIR": TestServices.temporaryDirectory("spool"),
                "PGPORT_FOR_TEST": TestServices.pgPort, "DB_PASSWORD": TestServices.pgPassword,
            ]))
        #expect(await agent.waitForOutput(containing: "xray listening", timeout: 20), "\(agent.stdout)")
        let listening = agent.stdout.split(separator: "\n").first { $0.contains("xray listening") } ?? ""
        let address = try #require(
            (try JSONSerialization.jsonObject(with: Data(listening.utf8)) as? [String: String])?["address"])
        let sender = TestServices.repositoryRoot.appendingPathComponent("scripts/lib/xray_send.py").path
        let (status, out, err) = try await ChildProcess.run(
            "/usr/bin/env", ["python3", sender, address, "40", "counted-service"],
            environment: TestServices.cleanEnvironment())
        #expect(status == 0, "\(err)")
        let sent = try #require(try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: [String]])
        // Stopped once everything is sent: its last sample and flush, the spool shipped.
        try await Task.sleep(for: .seconds(1))
        kill(agent.process.processIdentifier, SIGTERM)
        #expect(await agent.wait(timeout: 60) == 0, "\(agent.stdout.suffix(2000))")
        // At SIGTERM the endpoint writes its counts with the ids (each second it writes counters only).
        kill(endpoint.process.processIdentifier, SIGTERM)
        #expect(await endpoint.wait(timeout: 30) == 0, "\(endpoint.stderr)")

        let landed = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: counts))) as? [String: Any])
        #expect((landed["refused"] as? [String: Int] ?? [:]).isEmpty, "nothing refused: \(landed["refused"] ?? "")")
        let ids = Set(landed["segment_ids"] as? [String] ?? [])
        #expect(Set(sent["segments"] ?? []).isSubset(of: ids), "every segment landed, by id")
        #expect(landed["duplicate_segments"] as? Int == 0)
        #expect((landed["metric_calls"] as? Int ?? 0) >= 1)
        #expect((landed["metrics"] as? [String: Int] ?? [:])["Commits"] != nil, "PostgreSQL's metrics")
        #expect((landed["log_events"] as? Int ?? 0) >= 1, "the statement texts, PutLogEvents")
    }
}
