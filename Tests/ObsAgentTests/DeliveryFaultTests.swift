import Foundation
import Testing

/// Delivery under faults, through scripts/lib/fault_proxy.py in front of moto: nothing the agent
/// spooled is lost, and at most one batch arrives twice.
@Suite(
    .enabled(
        if: TestServices.hasPostgres && TestServices.hasAWS && TestServices.hasBinary,
        "needs scripts/test: PostgreSQL, moto_server and the built obs-agent"),
    .serialized)
struct DeliveryFaultTests {
    /// The outage of the first test; two minutes unless OBS_TEST_OUTAGE_SECONDS says otherwise.
    static let outage = Double(TestServices.environment["OBS_TEST_OUTAGE_SECONDS"] ?? "") ?? 120

    static func config(instance: String, flushInterval: Int, shutdownTimeout: Int = 10) -> String {
        TestServices.config(instance: instance, flushInterval: flushInterval) + """

            delivery:
              request_timeout: 5s
              connect_timeout: 1s
              shutdown_timeout: \(shutdownTimeout)s
            """
    }

    static func startAgent(config: String, spool: String, endpoint: String, arguments: [String] = []) throws
        -> ChildProcess
    {
        var environment = TestServices.awsEnvironment
        environment["AWS_ENDPOINT_URL_CLOUDWATCH"] = endpoint
        environment["OBS_SPOOL_DIR"] = spool
        environment["PGPORT_FOR_TEST"] = TestServices.pgPort
        environment["DB_PASSWORD"] = TestServices.pgPassword
        return try ChildProcess(
            TestServices.agentPath, ["--config", config, "--log-level", "debug"] + arguments,
            environment: TestServices.cleanEnvironment(environment))
    }

    static func batchFiles(_ spool: String) -> Int {
        ((try? FileManager.default.contentsOfDirectory(atPath: spool)) ?? []).filter { $0.hasSuffix(".batch") }.count
    }

    /// Waits until the spool holds no batch, or `seconds` pass (a loaded endpoint answers a
    /// backlog slowly); the caller checks what is left.
    static func waitUntilSpoolEmpty(_ spool: String, seconds: Double = 120) async throws {
        let deadline = ContinuousClock.now + .seconds(seconds)
        while batchFiles(spool) > 0, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(200)) }
    }

    /// Forwarded equals spooled, or exceeds it by exactly one batch (sent, then killed before the
    /// spool heard back).
    static func expectDeliveredOnce(spooled: [Int], stats: FaultProxy.Stats, _ comment: Comment) {
        let extra = stats.forwardedDatums - spooled.reduce(0, +)
        #expect(
            extra == 0 || stats.batches.contains(extra),
            "\(comment): spooled \(spooled.reduce(0, +)) datums, forwarded \(stats.forwardedDatums)")
    }

    @Test func anOutageOfErrorsResetsAndHangsLosesNothing() async throws {
        let proxy = try await FaultProxy(target: TestServices.awsEndpoint, hang: 5)
        let instance = "outage-\(UUID().uuidString.prefix(8))"
        let config = try TestServices.writeTemporary(Self.config(instance: instance, flushInterval: 2))
        let spool = TestServices.temporaryDirectory("spool")
        let agent = try Self.startAgent(config: config, spool: spool, endpoint: proxy.url)
        #expect(await agent.waitForOutput(containing: "postgres sampled", timeout: 20))
        for mode in ["503", "throttle", "reset", "hang"] {
            try await proxy.set(mode)
            try await Task.sleep(for: .seconds(Self.outage / 4))
        }
        #expect(Self.batchFiles(spool) > 0, "batches wait in the spool during the outage")
        try await proxy.set("ok")
        try await Self.waitUntilSpoolEmpty(spool)
        #expect(Self.batchFiles(spool) == 0, "the spool drains after recovery")
        kill(agent.process.processIdentifier, SIGTERM)
        #expect(await agent.wait(timeout: 30) == 0)

        let stats = try await proxy.stats()
        for outcome in ["503", "throttle", "reset", "hang"] {
            #expect((stats.outcomes[outcome] ?? 0) > 0, "\(outcome) happened")
        }
        Self.expectDeliveredOnce(spooled: agent.spooledDatums, stats: stats, "outage")
        #expect(!agent.stdout.contains("batch rejected"))
        #expect(!stats.datums.keys.contains { $0.hasPrefix("Obs/Agent|Dropped|") }, "nothing counted as dropped")
        #expect(
            stats.datums.keys.contains { $0.hasPrefix("Obs/Agent|Incidents|Reason=request_retried") },
            "retries are reported")

        // What the proxy forwarded is what CloudWatch holds.
        let landed = try await LandedMetric.read(
            namespace: "Obs/PostgreSQL", dimension: "DBInstance=\(instance)", metric: "Commits"
        ).filter { $0.dimensions["DBInstance"] == instance }
        let commits = landed.first { $0.name == "Commits" && $0.dimensions["Database"] == "microservices_ecom" }
        let forwarded = stats.datums["Obs/PostgreSQL|Commits|DBInstance=\(instance),Database=microservices_ecom"]
        #expect(commits?.total == forwarded?.sum)
        await proxy.stop()
        try? FileManager.default.removeItem(atPath: spool)
    }

    @Test func sigtermDuringAnOutageKeepsTheDataForTheNextStart() async throws {
        let proxy = try await FaultProxy(target: TestServices.awsEndpoint)
        let instance = "sigterm-\(UUID().uuidString.prefix(8))"
        let config = try TestServices.writeTemporary(
            Self.config(instance: instance, flushInterval: 2, shutdownTimeout: 2))
        let spool = TestServices.temporaryDirectory("spool")
        try await proxy.set("503")
        let first = try Self.startAgent(config: config, spool: spool, endpoint: proxy.url)
        #expect(await first.waitForOutput(containing: "postgres sampled", timeout: 20))
        try await Task.sleep(for: .seconds(5))
        let stopping = ContinuousClock.now
        kill(first.process.processIdentifier, SIGTERM)
        #expect(await first.wait(timeout: 30) == 0)
        #expect(ContinuousClock.now - stopping < .seconds(25), "within ECS's stop timeout")
        #expect(Self.batchFiles(spool) > 0)
        #expect(first.stdout.contains("batches left in the spool for the next start"))

        // The next start sends the backlog; it is stopped once the spool is empty, with time for
        // its shutdown to send its own last flush (a fixed `--once` run left the backlog for yet
        // another start when the endpoint answered slowly, as it should).
        try await proxy.set("ok")
        let next = try TestServices.writeTemporary(
            Self.config(instance: instance, flushInterval: 2, shutdownTimeout: 10))
        let second = try Self.startAgent(config: next, spool: spool, endpoint: proxy.url)
        try await Self.waitUntilSpoolEmpty(spool)
        kill(second.process.processIdentifier, SIGTERM)
        #expect(await second.wait(timeout: 30) == 0)
        #expect(Self.batchFiles(spool) == 0, "everything sent: \(second.stdout.suffix(2000))")
        Self.expectDeliveredOnce(
            spooled: first.spooledDatums + second.spooledDatums, stats: try await proxy.stats(), "restart")
        await proxy.stop()
        try? FileManager.default.removeItem(atPath: spool)
    }

    @Test func aPoisonBatchIsDroppedAndCountedNeverRetriedForever() async throws {
        let proxy = try await FaultProxy(target: TestServices.awsEndpoint)
        let config = try TestServices.writeTemporary(
            Self.config(instance: "poison-\(UUID().uuidString.prefix(8))", flushInterval: 2))
        let spool = TestServices.temporaryDirectory("spool")
        let agent = try Self.startAgent(config: config, spool: spool, endpoint: proxy.url)
        #expect(await agent.waitForOutput(containing: "postgres sampled", timeout: 20))
        try await proxy.set("poison")
        #expect(await agent.waitForOutput(containing: "batch rejected", timeout: 20))
        try await proxy.set("ok")
        try await Task.sleep(for: .seconds(5))
        kill(agent.process.processIdentifier, SIGTERM)
        #expect(await agent.wait(timeout: 30) == 0)
        let stats = try await proxy.stats()
        #expect((stats.outcomes["poison"] ?? 0) >= 1)
        let dropped = stats.datums.first { $0.key.hasPrefix("Obs/Agent|Dropped|Reason=batch_rejected") }
        #expect((dropped?.value.sum ?? 0) > 0, "the rejected datums are counted and reported")
        #expect(Self.batchFiles(spool) == 0)
        await proxy.stop()
        try? FileManager.default.removeItem(atPath: spool)
    }
}

/// SigV4 checked by the server: moto with IAM authentication on.
@Suite(
    .enabled(
        if: TestServices.hasPostgres && TestServices.hasBinary, "needs scripts/test: PostgreSQL and the built obs-agent"
    ),
    .serialized)
struct SignatureCheckedByServerTests {
    @Test func theRightSecretDeliversAndAWrongOneIsReportedWithTheDataKept() async throws {
        let port = Int.random(in: 20000...29999)
        let moto = try ChildProcess(
            "/usr/bin/env", ["moto_server", "-H", "127.0.0.1", "-p", "\(port)"],
            environment: TestServices.cleanEnvironment(["INITIAL_NO_AUTH_ACTION_COUNT": "3"]))
        defer { moto.stop() }
        let endpoint = "http://127.0.0.1:\(port)"
        var key: [String: String] = [:]
        for _ in 0..<50 {
            let script = TestServices.repositoryRoot.appendingPathComponent("scripts/lib/moto_iam_user.py").path
            let (status, out, _) = try await ChildProcess.run(
                "/usr/bin/env", ["python3", script, endpoint], environment: TestServices.cleanEnvironment())
            if status == 0, let parsed = try? JSONDecoder().decode([String: String].self, from: Data(out.utf8)) {
                key = parsed
                break
            }
            try await Task.sleep(for: .milliseconds(200))
        }
        let id = try #require(key["AccessKeyId"])
        let secret = try #require(key["SecretAccessKey"])

        func run(secret: String, spool: String) async throws -> ChildProcess {
            // moto checks signatures over the body it decompressed, not the gzip bytes that were
            // signed (as AWS does), so this test sends plain bodies.
            let config = try TestServices.writeTemporary(
                DeliveryFaultTests.config(instance: "iam", flushInterval: 2, shutdownTimeout: 3)
                    + "\n  compress: false\n")
            let agent = try ChildProcess(
                TestServices.agentPath, ["--config", config, "--once", "--log-level", "debug"],
                environment: TestServices.cleanEnvironment([
                    "AWS_ACCESS_KEY_ID": id, "AWS_SECRET_ACCESS_KEY": secret, "AWS_REGION": "us-east-1",
                    "AWS_ENDPOINT_URL_CLOUDWATCH": endpoint, "AWS_ENDPOINT_URL": endpoint, "OBS_SPOOL_DIR": spool,
                    "PGPORT_FOR_TEST": TestServices.pgPort,
                    "DB_PASSWORD": TestServices.pgPassword,
                ]))
            #expect(await agent.wait(timeout: 60) == 0)
            return agent
        }

        let wrongSpool = TestServices.temporaryDirectory("spool")
        let wrong = try await run(secret: secret + "x", spool: wrongSpool)
        #expect(wrong.stdout.contains("credentials refused"), "a clear report: \(wrong.stdout.suffix(800))")
        #expect(wrong.stdout.contains("SignatureDoesNotMatch") || wrong.stdout.contains("InvalidClientTokenId"))
        #expect(!wrong.stdout.contains(secret))
        #expect(DeliveryFaultTests.batchFiles(wrongSpool) > 0, "the data stays in the spool")

        let rightSpool = TestServices.temporaryDirectory("spool")
        let right = try await run(secret: secret, spool: rightSpool)
        #expect(!right.stdout.contains("credentials refused"))
        #expect(DeliveryFaultTests.batchFiles(rightSpool) == 0)
        let script = TestServices.repositoryRoot.appendingPathComponent("scripts/lib/cloudwatch_read.py").path
        let (status, out, err) = try await ChildProcess.run(
            "/usr/bin/env", ["python3", script, "--endpoint", endpoint, "--namespace", "Obs/PostgreSQL"],
            environment: TestServices.cleanEnvironment(["AWS_ACCESS_KEY_ID": id, "AWS_SECRET_ACCESS_KEY": secret]))
        #expect(status == 0, "\(err)")
        #expect(out.contains("\"Commits\""), "delivered with the right secret")
        try? FileManager.default.removeItem(atPath: wrongSpool)
        try? FileManager.default.removeItem(atPath: rightSpool)
    }
}
