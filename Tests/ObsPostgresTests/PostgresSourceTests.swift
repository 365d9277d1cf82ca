import Foundation
import Logging
import ObsCatalog
import ObsCore
import Testing

@testable import ObsPostgres

@Suite(.enabled(if: TestDatabase.isAvailable, TestDatabase.skipReason))
struct PostgresSourceTests {
    @Test func connectionsCarryTheAgentsNameAndTimeouts() throws {
        let connection = try PostgresConnection(TestDatabase.agentSettings())
        #expect(try connection.query("SHOW application_name").rows == [["obs-agent"]])
        #expect(try connection.query("SHOW statement_timeout").rows == [["5s"]])
        #expect(try connection.query("SHOW lock_timeout").rows == [["1s"]])
        #expect(connection.serverVersion >= 150000)
    }

    @Test func aSampleRecordsCounterDeltasAndConnectionsByState() async throws {
        let recorder = Recorder()
        let aggregator = Aggregator(recorder: recorder)
        let source = PostgresSource(
            settings: .init(instance: "test-db", connection: TestDatabase.agentSettings(database: "keycloak")),
            recorder: recorder, logger: Logger(label: "test"))
        try await source.sample()
        #expect(
            aggregator.flush(timestamp: 0).allSatisfy { $0.descriptor.kind == .gauge },
            "for counters, the first sample is a baseline")

        // Known work in between: 25 committed transactions and one rollback, each inserting a row.
        let load = try TestDatabase.superuser(database: "keycloak")
        _ = try load.query(
            "CREATE TABLE IF NOT EXISTS sample_probe (id serial primary key, at timestamptz default now())")
        for _ in 0..<25 { _ = try load.query("INSERT INTO sample_probe DEFAULT VALUES") }
        _ = try load.query("BEGIN; INSERT INTO sample_probe DEFAULT VALUES; ROLLBACK")
        // Backends publish their counters when a transaction ends, at most once a second unless forced.
        _ = try load.query("SELECT pg_stat_force_next_flush()")
        _ = try load.query("BEGIN")  // an idle-in-transaction session while sampling
        try await source.sample()
        _ = try load.query("ROLLBACK")

        let data = aggregator.flush(timestamp: 60)
        func value(_ name: String, state: String? = nil) -> MetricDatum.Value? {
            data.first { $0.descriptor.name == name && $0.dimensions["State"] == state }?.value
        }
        guard case .single(let commits) = value("Commits"), case .single(let rollbacks) = value("Rollbacks"),
            case .single(let inserted) = value("TuplesInserted")
        else {
            Issue.record("missing counters in \(data.map(\.descriptor.name))")
            return
        }
        #expect(commits >= 25)
        #expect(rollbacks >= 1)
        #expect(inserted >= 26)
        #expect(
            value("Connections", state: "idle in transaction")
                == .statistics(StatisticSet(sampleCount: 1, sum: 1, minimum: 1, maximum: 1)))
        #expect(value("Connections", state: "active") != nil, "states without sessions are reported as zero")
        let first = try #require(data.first)
        #expect(first.dimensions["DBInstance"] == "test-db" && first.dimensions["Database"] == "keycloak")
    }

    @Test(
        .enabled(
            if: ProcessInfo.processInfo.environment["OBS_TEST_PG_CA"] != nil,
            "needs the test server's CA (scripts/test)"))
    func verifyFullChecksTheServerAgainstTheRootCertificate() throws {
        var settings = TestDatabase.agentSettings()
        settings.sslMode = "verify-full"
        settings.sslRootCert = ProcessInfo.processInfo.environment["OBS_TEST_PG_CA"]
        let connection = try PostgresConnection(settings)
        #expect(
            try connection.query("SELECT ssl::text FROM pg_stat_ssl WHERE pid = pg_backend_pid()").rows == [["true"]])
        // Any other CA is refused.
        let otherCA = NSTemporaryDirectory() + "obs-other-ca-\(UUID().uuidString).pem"
        let bundled = "/etc/ssl/certs/ca-certificates.crt"
        try FileManager.default.copyItem(atPath: bundled, toPath: otherCA)
        settings.sslRootCert = otherCA
        #expect(throws: PostgresError.self) { _ = try PostgresConnection(settings) }
    }

    @Test func tablesAndStatementsAreReadOncePerFlushAndAtTheEnd() async throws {
        let recorder = Recorder()
        let aggregator = Aggregator(recorder: recorder)
        var settings = PostgresSource.Settings(
            instance: "test-db", connection: TestDatabase.agentSettings(), interval: 1, samplesInstance: false)
        // An hour-long flush: no sample here comes within 1.5 s of its boundary (unless the test
        // runs in the last seconds of an hour, which the expectation below allows for).
        settings.flushInterval = 3600
        let source = PostgresSource(settings: settings, recorder: recorder, logger: Logger(label: "test"))
        func tableSeries() -> Int {
            aggregator.flush(timestamp: 0).filter { $0.dimensions["Table"] != nil || $0.dimensions["QueryId"] != nil }
                .count
        }
        try await source.sample()
        #expect(tableSeries() > 0, "the first sample reads the tables (the baselines, and their gauges)")
        let nearBoundary = 3600 - FlushClock.now().truncatingRemainder(dividingBy: 3600) < 5
        try await source.sample()
        #expect(tableSeries() == 0 || nearBoundary, "not read again before the flush")
        try await source.sample(final: true)
        #expect(tableSeries() > 0, "the last sample at shutdown reads them")
    }

    @Test func aWrongPasswordIsAOneLineErrorWithoutThePassword() throws {
        var settings = TestDatabase.agentSettings()
        settings.password = "wrong-password-\(UUID().uuidString)"
        do {
            _ = try PostgresConnection(settings)
            Issue.record("connected with a wrong password")
        } catch {
            let text = "\(error)"
            #expect(text.contains("password authentication failed"))
            #expect(!text.contains(settings.password!))
            #expect(!text.contains("\n"))
            #expect(!"\(settings)".contains(settings.password!))
        }
    }

    @Test func anUnreachableServerAndAMissingDatabaseAreNamed() throws {
        var closed = TestDatabase.agentSettings()
        closed.port = 1
        #expect(throws: PostgresError.self) { try PostgresConnection(closed) }
        do { _ = try PostgresConnection(closed) } catch { #expect("\(error)".contains("127.0.0.1:1")) }
        do {
            _ = try PostgresConnection(TestDatabase.agentSettings(database: "no_such_db"))
            Issue.record("connected to a missing database")
        } catch {
            #expect("\(error)".contains("no_such_db"))
        }
    }

    @Test func theSourceKeepsRetryingWhenTheDatabaseIsDown() async throws {
        let recorder = Recorder()
        let handler = RecordingLogHandler()
        var settings = TestDatabase.agentSettings()
        settings.port = 1
        let source = PostgresSource(
            settings: .init(instance: "down", connection: settings, interval: 1, maxBackoff: 1), recorder: recorder,
            logger: Logger(label: "test") { _ in handler })
        let task = Task { await source.run() }
        for _ in 0..<150 where recorder.selfMetrics[.sampleFailed] < 2 { try await Task.sleep(for: .milliseconds(100)) }
        task.cancel()
        await task.value
        #expect(recorder.selfMetrics[.sampleFailed] >= 2)
        #expect(handler.all.filter { $0.contains("postgres sample failed") }.count >= 2)
        #expect(handler.all.allSatisfy { !$0.contains(TestDatabase.password) })
    }
}
