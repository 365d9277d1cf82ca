import Foundation
import ObsCatalog
import ObsCore
import ObsPostgres
import Testing

/// The agent binary against the real PostgreSQL and the local CloudWatch endpoint that
/// scripts/test starts.
@Suite(
    .enabled(
        if: TestServices.hasPostgres && TestServices.hasAWS && TestServices.hasBinary,
        "needs scripts/test: PostgreSQL, moto_server and the built obs-agent"),
    .serialized)
struct EndToEndTests {
    static let counters = PostgresMetrics.databaseCounters

    /// The test's own reading of pg_stat_database for microservices_ecom.
    static func databaseStats() throws -> [String: Double] {
        let connection = try PostgresConnection(
            PostgresConnectionSettings(
                host: "127.0.0.1", port: Int(TestServices.pgPort)!, database: "microservices_ecom", user: "postgres",
                password: TestServices.environment["OBS_TEST_PG_SUPERPASSWORD"]))
        let rows = try connection.query(
            "SELECT \(counters.map(\.column).joined(separator: ", ")) FROM pg_stat_database WHERE datname = 'microservices_ecom'"
        )
        var stats: [String: Double] = [:]
        for (column, _) in counters { stats[column] = rows.double(0, column) }
        return stats
    }

    static func pgbench(transactions: Int, clients: Int) async throws {
        let bin = TestServices.environment["OBS_TEST_PG_BIN"] ?? "/usr/lib/postgresql/15/bin"
        let (status, _, err) = try await ChildProcess.run(
            "\(bin)/pgbench",
            [
                "-h", "127.0.0.1", "-p", TestServices.pgPort, "-U", "postgres", "-n", "-c", "\(clients)", "-t",
                "\(transactions)",
                "microservices_ecom",
            ],
            environment: TestServices.cleanEnvironment([
                "PGPASSWORD": TestServices.environment["OBS_TEST_PG_SUPERPASSWORD"] ?? ""
            ]))
        #expect(status == 0, "pgbench: \(err)")
    }

    @Test func oneCycleLandsCatalogMetricsConsistentWithPgStatDatabase() async throws {
        let instance = "e2e-\(UUID().uuidString.prefix(8))"
        // The cycle is ended by SIGTERM once pgbench's statistics are visible (a slow machine may
        // take longer than any fixed interval); the interval is only the bound.
        let config = try TestServices.writeTemporary(TestServices.config(instance: instance, flushInterval: 60))
        let before = try Self.databaseStats()
        let agent = try ChildProcess(
            TestServices.agentPath, ["--config", config, "--for", "60s", "--log-level", "debug"],
            environment: TestServices.cleanEnvironment(
                TestServices.awsEnvironment.merging([
                    "PGPORT_FOR_TEST": TestServices.pgPort, "DB_PASSWORD": TestServices.pgPassword,
                ]) { $1 }))
        // Load only once the agent has its baseline, so all of it falls inside the agent's cycle.
        #expect(await agent.waitForOutput(containing: "postgres sampled", timeout: 20), "no baseline: \(agent.stdout)")
        let transactions = 150
        let clients = 2
        try await Self.pgbench(transactions: transactions, clients: clients)
        // pgbench's backends report their counts as they exit; the final sample on SIGTERM must
        // come after that.
        let updates = Double(3 * transactions * clients)
        for _ in 0..<100 where try Self.databaseStats()["tup_updated"]! - before["tup_updated"]! < updates {
            try await Task.sleep(for: .milliseconds(100))
        }
        kill(agent.process.processIdentifier, SIGTERM)
        let status = await agent.wait(timeout: 40)
        #expect(status == 0, "agent failed: \(agent.stdout) \(agent.stderr)")
        let after = try Self.databaseStats()

        let landed = try await LandedMetric.read(
            namespace: PostgresMetrics.namespace, dimension: "DBInstance=\(instance)"
        ).filter { $0.dimensions["DBInstance"] == instance }
        let catalog = Catalog.builtIn
        for metric in landed {
            let definition = try #require(
                catalog.definitions.first { $0.namespace == PostgresMetrics.namespace && $0.name == metric.name },
                "\(metric.name) is not in the catalog")
            #expect(Set(metric.dimensions.keys) == Set(definition.dimensions), "\(metric.name) dimensions")
            #expect(metric.unit == definition.unit.rawValue, "\(metric.name) unit")
        }
        for (column, definition) in Self.counters {
            let series = landed.filter {
                $0.name == definition.name && $0.dimensions["Database"] == "microservices_ecom"
            }
            #expect(series.count == 1, "\(definition.name) landed")
            let value = series.first?.total ?? -1
            let measured = after[column]! - before[column]!
            #expect(
                value >= 0 && value <= measured,
                "\(definition.name): agent \(value), pg_stat_database delta \(measured)")
        }
        func total(_ name: String) -> Double { landed.first { $0.name == name }?.total ?? 0 }
        #expect(
            total("Commits") >= Double(transactions * clients), "every pgbench transaction committed inside the cycle")
        #expect(total("TuplesUpdated") >= Double(3 * transactions * clients), "a TPC-B transaction updates three rows")
        #expect(total("TuplesInserted") >= Double(transactions * clients), "and inserts one history row")
        #expect(landed.contains { $0.name == "Connections" && $0.dimensions["State"] == "idle" })
        #expect(!agent.stdout.contains(TestServices.pgPassword) && !agent.stderr.contains(TestServices.pgPassword))

        // pgbench's statements are the top ones: their texts went to CloudWatch Logs, once each.
        let reader = TestServices.repositoryRoot.appendingPathComponent("scripts/lib/aws_read.py").path
        let (status2, out, err) = try await ChildProcess.run(
            "/usr/bin/env",
            [
                "python3", reader, TestServices.awsEndpoint, "logs", "/obs/postgresql/statements",
                "\(instance)/microservices_ecom",
            ],
            environment: TestServices.cleanEnvironment())
        #expect(status2 == 0, "\(err)")
        let events = (try? JSONSerialization.jsonObject(with: Data(out.utf8)) as? [[String: Any]]) ?? []
        let texts = events.compactMap {
            ($0["message"] as? String).flatMap {
                try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: String]
            }
        }
        #expect(
            texts.contains {
                $0["query"]?.contains("pgbench_accounts") == true && $0["database"] == "microservices_ecom"
            }, "\(out.prefix(500))")
        #expect(Set(texts.compactMap { $0["queryId"] }).count == texts.count, "each text once")
        let statementSeries = landed.filter { $0.name == "StatementCalls" }
        #expect(
            statementSeries.contains { texts.map { $0["queryId"] }.contains($0.dimensions["QueryId"]) },
            "texts and series share the queryid")
        try? FileManager.default.removeItem(atPath: config)
    }

    @Test func sigtermFlushesWhatWasCollectedAsEMFWithoutCredentials() async throws {
        let config = try TestServices.writeTemporary(TestServices.config(instance: "emf-sigterm", flushInterval: 3600))
        let agent = try ChildProcess(
            TestServices.agentPath, ["--config", config, "--log-level", "debug"],
            environment: TestServices.cleanEnvironment([
                "PGPORT_FOR_TEST": TestServices.pgPort, "DB_PASSWORD": TestServices.pgPassword,
            ]))
        #expect(await agent.waitForOutput(containing: "postgres sampled", timeout: 20))
        try await Self.pgbench(transactions: 20, clients: 1)
        kill(agent.process.processIdentifier, SIGTERM)
        #expect(await agent.wait(timeout: 30) == 0)
        let events = agent.stdout.split(separator: "\n").filter { $0.contains("\"_aws\"") }
        let commits = events.compactMap { line -> Double? in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                object["Database"] as? String == "microservices_ecom"
            else { return nil }
            return object["Commits"] as? Double
        }
        #expect(
            commits.reduce(0, +) >= 20, "the final flush on SIGTERM carries the counters: \(events.count) EMF events")
        #expect(agent.stdout.contains("final flush done"))
        try? FileManager.default.removeItem(atPath: config)
    }

    /// `--once` with an hour's flush interval still takes its two samples, flushes and exits in
    /// seconds, and says so. (The bound is far from the interval: what is checked is that the
    /// interval is not waited for, not a speed.)
    @Test func onceDoesNotWaitForTheFlushInterval() async throws {
        let config = try TestServices.writeTemporary(TestServices.config(instance: "once", flushInterval: 3600))
        defer { try? FileManager.default.removeItem(atPath: config) }
        let started = ContinuousClock.now
        let (status, out, err) = try await ChildProcess.run(
            TestServices.agentPath, ["--config", config, "--once", "--dry-run"],
            environment: TestServices.cleanEnvironment([
                "PGPORT_FOR_TEST": TestServices.pgPort, "DB_PASSWORD": TestServices.pgPassword,
            ]))
        #expect(status == 0, "\(err)")
        #expect(ContinuousClock.now - started < .seconds(60), "an hour's interval was not waited for")
        let said = try #require(out.split(separator: "\n").first { $0.contains("once: running the sources") })
        #expect(said.contains("\"seconds\":\"5.0\""), "\(said)")
        // Counters are deltas: the Commits datum needs the start sample and the last one.
        #expect(out.contains("MetricName=Commits"), "\(out.suffix(2000))")
        #expect(out.contains("final flush done"))

        let (badStatus, _, badErr) = try await ChildProcess.run(
            TestServices.agentPath, ["--config", config, "--for", "soon", "--dry-run"],
            environment: TestServices.cleanEnvironment([
                "PGPORT_FOR_TEST": TestServices.pgPort, "DB_PASSWORD": TestServices.pgPassword,
            ]))
        #expect(badStatus == 2)
        #expect(badErr.contains("--for: expected a duration such as 15s"), "\(badErr)")
    }

    @Test func dryRunPrintsThePutMetricDataRequests() async throws {
        let config = try TestServices.writeTemporary(TestServices.config(instance: "dry-run", flushInterval: 2))
        let (status, out, err) = try await ChildProcess.run(
            TestServices.agentPath, ["--config", config, "--once", "--dry-run"],
            environment: TestServices.cleanEnvironment([
                "PGPORT_FOR_TEST": TestServices.pgPort, "DB_PASSWORD": TestServices.pgPassword,
            ]))
        #expect(status == 0, "\(err)")
        #expect(out.contains("POST https://monitoring.<region>.amazonaws.com/ (PutMetricData"))
        #expect(out.contains("Action=PutMetricData&Version=2010-08-01&Namespace=Obs%2FPostgreSQL"))
        #expect(out.contains("MetricData.member.1.Dimensions.member.1.Name=DBInstance"))
        try? FileManager.default.removeItem(atPath: config)
    }
}

/// The command line: help, config errors, `check`, and the password kept out of every line.
@Suite(.enabled(if: TestServices.hasBinary, "needs the built obs-agent (scripts/test builds it)"))
struct CommandLineTests {
    @Test func helpDescribesEveryOptionAndSubcommand() async throws {
        let (status, out, _) = try await ChildProcess.run(
            TestServices.agentPath, ["--help"], environment: TestServices.cleanEnvironment())
        #expect(status == 0)
        for text in [
            "--config", "--once", "--dry-run", "--log-level", "check", "DB_HOST", "DB_PASSWORD",
            "AWS_ENDPOINT_URL_CLOUDWATCH",
            "AWS_REGION", "EXIT STATUS",
        ] {
            #expect(out.contains(text), "help mentions \(text)")
        }
    }

    @Test func versionIsTheRelease() async throws {
        for binary in [TestServices.agentPath, Obsctl.path] {
            let (status, out, _) = try await ChildProcess.run(
                binary, ["--version"], environment: TestServices.cleanEnvironment())
            #expect(status == 0)
            #expect(out == BuildInfo.version + "\n", "\(binary)")
        }
    }

    @Test(arguments: [
        ("agent:\n  flush_interval: 60\n  colour: red\n", "config: agent.colour: unknown key"),
        (
            "sources:\n  postgres:\n    - {host: h, port: abc, database: d, user: u}\n",
            "config: sources.postgres[0].port: expected an integer"
        ),
        (
            "sources:\n  postgres:\n    - {host: h, database: d, user: u, password: \"${UNSET_FOR_TEST}\"}\n",
            "environment variable UNSET_FOR_TEST is not set"
        ),
    ])
    func configErrorsExitBeforeAnythingStarts(_ yaml: String, _ expected: String) async throws {
        let config = try TestServices.writeTemporary(yaml)
        let (status, out, err) = try await ChildProcess.run(
            TestServices.agentPath, ["--config", config], environment: TestServices.cleanEnvironment())
        #expect(status == 2)
        #expect(out.isEmpty, "nothing started: \(out)")
        #expect(err.hasPrefix("obs-agent: "))
        #expect(err.contains(expected), "\(err)")
        #expect(err.split(separator: "\n").count == 1)
        try? FileManager.default.removeItem(atPath: config)
    }

    @Test func aMissingConfigFileAndNoSourcesAreNamed() async throws {
        let missing = try await ChildProcess.run(
            TestServices.agentPath, ["--config", "/nonexistent/obs.yaml"], environment: TestServices.cleanEnvironment())
        #expect(missing.0 == 2)
        #expect(missing.2.contains("cannot read /nonexistent/obs.yaml"))
        let none = try await ChildProcess.run(TestServices.agentPath, [], environment: TestServices.cleanEnvironment())
        #expect(none.0 == 2)
        #expect(none.2.contains("no sources"))
    }

    @Test(.enabled(if: TestServices.hasPostgres && TestServices.hasAWS))
    func checkReportsEachSourceAndSink() async throws {
        let env = TestServices.cleanEnvironment(
            TestServices.awsEnvironment.merging([
                "DB_HOST": "127.0.0.1", "DB_PORT": TestServices.pgPort, "DB_NAME": "microservices_ecom",
                "DB_USER": "obs_agent",
                "DB_PASSWORD": TestServices.pgPassword, "KC_DB_URL_HOST": "127.0.0.1", "KC_DB_URL_PORT": "1",
                "KC_DB_URL_DATABASE": "keycloak", "KC_DB_USERNAME": "obs_agent",
                "KC_DB_PASSWORD": TestServices.pgPassword,
            ]) { $1 })
        let (status, out, _) = try await ChildProcess.run(TestServices.agentPath, ["check"], environment: env)
        #expect(status == 1, "the unreachable Keycloak database fails the check")
        #expect(out.contains("ok    postgres 127.0.0.1/microservices_ecom: PostgreSQL 15"))
        #expect(out.contains("FAIL  postgres 127.0.0.1/keycloak:"))
        #expect(out.contains("ok    sink cloudwatch \(TestServices.awsEndpoint)"))
        #expect(!out.contains(TestServices.pgPassword))
    }

    /// A wrong password and a database that refuses: logged, retried, never printed, and the agent
    /// keeps running until told to stop.
    @Test(.enabled(if: TestServices.hasPostgres))
    func aWrongPasswordIsLoggedAndRetriedButNeverPrinted() async throws {
        let wrong = "Wr0ng-Passw0rd-\(UUID().uuidString)"
        let config = try TestServices.writeTemporary(
            TestServices.config(instance: "wrong-pw", flushInterval: 60, password: wrong))
        let agent = try ChildProcess(
            TestServices.agentPath, ["--config", config, "--log-level", "trace"],
            environment: TestServices.cleanEnvironment(["PGPORT_FOR_TEST": TestServices.pgPort, "PGPASSWORD": wrong]))
        func failures(_ output: String) -> [Substring] {
            output.split(separator: "\n").filter { $0.contains("postgres sample failed") }
        }
        #expect(
            await agent.waitForOutput(timeout: 30) { failures($0).count >= 2 }, "retried with backoff: \(agent.stdout)")
        #expect(agent.process.isRunning, "a database error does not stop the agent")
        kill(agent.process.processIdentifier, SIGTERM)
        #expect(await agent.wait(timeout: 30) == 0)
        #expect(failures(agent.stdout).count >= 2)
        #expect(failures(agent.stdout).allSatisfy { $0.contains("password authentication failed") })
        #expect(!agent.stdout.contains(wrong) && !agent.stderr.contains(wrong))
        try? FileManager.default.removeItem(atPath: config)
    }
}
