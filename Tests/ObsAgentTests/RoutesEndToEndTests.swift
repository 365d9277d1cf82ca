import Foundation
import Testing

/// The agent binary with each signal routed on its own (issue 18): metrics as EMF while the trace
/// segments and the journal still go to AWS; and a dry run that prints every request of every
/// source (PutMetricData, PutTraceSegments, PutLogEvents) with no credentials at all.
@Suite(
    .enabled(
        if: TestServices.hasAWS && TestServices.hasPostgres && TestServices.hasBinary
            && FileManager.default.isExecutableFile(atPath: JournalEndToEndTests.journalRemote),
        "needs scripts/test: moto_server, PostgreSQL, the built obs-agent and systemd-journal-remote"),
    .serialized)
struct RoutesEndToEndTests {
    struct Sent: Decodable {
        var traces: [String]
        var segments: [String]
    }

    /// A config with every signal: a database (metrics, statement texts), the X-Ray receiver
    /// (traces, API metrics) and a journal of `entries` entries (logs).
    static func config(sink: String, journal: String, group: String, flushInterval: Int) -> String {
        """
        agent:
          flush_interval: \(flushInterval)s
          health_address: off
        metrics:
          sink: \(sink)
        sources:
          postgres:
            - instance: routes
              host: 127.0.0.1
              port: ${PGPORT_FOR_TEST}
              database: microservices_ecom
              user: obs_agent
              password: ${DB_PASSWORD}
          xray:
            address: 127.0.0.1:0
            batch_delay: 200ms
          journald:
            directory: \(journal)
            start: head
            log_group: \(group)/{unit}
            log_stream: "{host}"
            batch_age: 1s
        """
    }

    /// Waits for the receiver's address in the log, then sends `count` segments with the SDK.
    static func sendSegments(to agent: ChildProcess, count: Int, service: String) async throws -> Sent {
        #expect(await agent.waitForOutput(containing: "xray listening", timeout: 30), "\(agent.stdout)\(agent.stderr)")
        let listening = agent.stdout.split(separator: "\n").first { $0.contains("xray listening") } ?? ""
        let object = try JSONSerialization.jsonObject(with: Data(listening.utf8)) as? [String: String]
        let address = try #require(object?["address"])
        let script = TestServices.repositoryRoot.appendingPathComponent("scripts/lib/xray_send.py").path
        let (status, out, err) = try await ChildProcess.run(
            "/usr/bin/env", ["python3", script, address, "\(count)", service],
            environment: TestServices.cleanEnvironment())
        #expect(status == 0, "\(err)")
        return try JSONDecoder().decode(Sent.self, from: Data(out.utf8))
    }

    static func writeJournal(entries: Int) throws -> String {
        let directory = TestServices.temporaryDirectory("journal")
        let base = UInt64(Date().timeIntervalSince1970 * 1_000_000) - 600_000_000
        try JournalEndToEndTests.writeJournal(0..<entries, to: directory, base: base, file: "routes.journal")
        return directory
    }

    @Test func emfMetricsLeaveTracesAndTheJournalGoingToAWS() async throws {
        let journal = try Self.writeJournal(entries: 30)
        let group = "/obs-routes/\(UUID().uuidString.prefix(8))"
        let config = try TestServices.writeTemporary(
            Self.config(sink: "emf", journal: journal, group: group, flushInterval: 25))
        defer {
            try? FileManager.default.removeItem(atPath: journal)
            try? FileManager.default.removeItem(atPath: config)
        }
        var environment = TestServices.awsEnvironment
        environment["PGPORT_FOR_TEST"] = TestServices.pgPort
        environment["DB_PASSWORD"] = TestServices.pgPassword
        let agent = try ChildProcess(
            TestServices.agentPath, ["--config", config, "--for", "25s", "--log-level", "debug"],
            environment: TestServices.cleanEnvironment(environment))
        let service = "routes-\(UUID().uuidString.prefix(6))"
        let sent = try await Self.sendSegments(to: agent, count: 12, service: service)
        #expect(await agent.wait(timeout: 90) == 0, "\(agent.stdout.suffix(3000))")
        #expect(agent.stdout.contains("metrics=emf"), "the start line names each route")
        #expect(agent.stdout.contains("traces=xray") && agent.stdout.contains("log_batches=cloudwatch-logs"))

        // Metrics went out as EMF: the database's and the API metrics from the segments.
        let events = agent.stdout.split(separator: "\n").filter { $0.contains("\"_aws\"") }.compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        func namespace(_ event: [String: Any]) -> String? {
            ((event["_aws"] as? [String: Any])?["CloudWatchMetrics"] as? [[String: Any]])?.first?["Namespace"]
                as? String
        }
        #expect(events.contains { namespace($0) == "Obs/PostgreSQL" && $0["DBInstance"] as? String == "routes" })
        #expect(events.contains { namespace($0) == "Obs/API" && $0["Service"] as? String == service })

        // The segments landed in X-Ray.
        let reader = TestServices.repositoryRoot.appendingPathComponent("scripts/lib/aws_read.py").path
        let (status, out, err) = try await ChildProcess.run(
            "/usr/bin/env", ["python3", reader, TestServices.awsEndpoint, "traces"] + sent.traces,
            environment: TestServices.cleanEnvironment())
        #expect(status == 0, "\(err)")
        let documents = try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [[String: Any]] ?? []
        #expect(
            Set(documents.compactMap { $0["id"] as? String }) == Set(sent.segments), "every segment landed in X-Ray")

        // The journal landed in CloudWatch Logs, every entry of each unit in order.
        let landed = try await JournalEndToEndTests.landed(group: group)
        for (k, unit) in JournalEndToEndTests.units.enumerated() {
            #expect(landed[unit] == Array(stride(from: k, to: 30, by: 3)), "\(unit)")
        }
    }

    @Test func aDryRunPrintsEveryRequestOfEverySourceWithoutCredentials() async throws {
        let journal = try Self.writeJournal(entries: 9)
        let spool = TestServices.temporaryDirectory("spool")
        let config = try TestServices.writeTemporary(
            Self.config(sink: "cloudwatch", journal: journal, group: "/obs-dry", flushInterval: 15))
        defer {
            try? FileManager.default.removeItem(atPath: journal)
            try? FileManager.default.removeItem(atPath: config)
        }
        // No credentials, no region, no endpoint: nothing could be sent.
        let agent = try ChildProcess(
            TestServices.agentPath, ["--config", config, "--for", "15s", "--dry-run"],
            environment: TestServices.cleanEnvironment([
                "PGPORT_FOR_TEST": TestServices.pgPort, "DB_PASSWORD": TestServices.pgPassword, "OBS_SPOOL_DIR": spool,
            ]))
        let sent = try await Self.sendSegments(to: agent, count: 5, service: "dry-run-service")
        #expect(await agent.wait(timeout: 90) == 0, "\(agent.stderr)\(agent.stdout.suffix(3000))")
        let out = agent.stdout
        #expect(out.contains("POST https://monitoring.<region>.amazonaws.com/ (PutMetricData, "))
        #expect(out.contains("Namespace=Obs%2FPostgreSQL"))
        #expect(out.contains("POST https://xray.<region>.amazonaws.com/TraceSegments (PutTraceSegments, 5 segments, "))
        for segment in sent.segments { #expect(out.contains(segment), "segment \(segment) is in the printed body") }
        #expect(
            out.contains("POST https://logs.<region>.amazonaws.com/ (PutLogEvents, 3 events, "), "the journal's batches"
        )
        #expect(out.contains("\"logGroupName\":\"/obs-dry/keycloak.service\""))
        #expect(out.contains("\"logGroupName\":\"/obs/postgresql/statements\""), "the statement texts")
        #expect(!FileManager.default.fileExists(atPath: spool), "nothing was spooled")
        #expect(!FileManager.default.fileExists(atPath: spool + "/journald.state"), "no journal cursor was saved")
    }
}
