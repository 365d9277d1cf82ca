import Dispatch
import Foundation
import Logging
import ObsCatalog
import ObsCore
import Testing

@testable import ObsPostgres

/// What pg_stat_activity and pg_locks show, made to happen: a lock wait between two sessions, a
/// long transaction, sessions by application; and statistics resets that must not give negatives.
@Suite(.enabled(if: TestDatabase.isAvailable, TestDatabase.skipReason), .serialized)
struct ActivityTests {
    func source(_ recorder: Recorder, database: String = "microservices_ecom") -> PostgresSource {
        PostgresSource(
            settings: .init(instance: "activity-db", connection: TestDatabase.agentSettings(database: database)),
            recorder: recorder, logger: Logger(label: "test"))
    }

    static func gauge(_ data: [MetricDatum], _ name: String, _ extra: [String: String] = [:]) -> Double? {
        data.first { datum in datum.descriptor.name == name && extra.allSatisfy { datum.dimensions[$0.key] == $0.value }
        }?.last
    }

    @Test func aLockWaitIsSeenAsBlockedAndALongTransactionAsOld() async throws {
        let setup = try TestDatabase.superuser()
        _ = try setup.query("CREATE TABLE IF NOT EXISTS lock_probe (id int primary key, n int)")
        _ = try setup.query("INSERT INTO lock_probe VALUES (1, 0) ON CONFLICT DO NOTHING")

        let holder = try TestDatabase.superuser()
        _ = try holder.query("SET application_name = 'orders-service'")
        _ = try holder.query("BEGIN")
        _ = try holder.query("UPDATE lock_probe SET n = n + 1 WHERE id = 1")
        let waiter = try TestDatabase.superuser()
        _ = try waiter.query("SET application_name = 'payments-service'")
        _ = try waiter.query("SET lock_timeout = 0")
        _ = try waiter.query("SET statement_timeout = '30s'")
        let waiterPID = try waiter.query("SELECT pg_backend_pid() AS pid").string(0, "pid") ?? "0"
        let done = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            _ = try? waiter.query("UPDATE lock_probe SET n = n + 1 WHERE id = 1")
            done.signal()
        }
        // Sampled once the waiter waits on the lock and its UPDATE has run for 2 s, however late a
        // loaded machine starts it.
        let waited = """
            SELECT extract(epoch FROM clock_timestamp() - query_start) AS age FROM pg_stat_activity
            WHERE pid = \(waiterPID) AND wait_event_type = 'Lock'
            """
        let deadline = ContinuousClock.now + .seconds(25)
        func waitedFor() throws -> Double {
            let rows = try setup.query(waited)
            return rows.rows.isEmpty ? 0 : rows.double(0, "age") ?? 0
        }
        while try waitedFor() < 2.1, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }

        let recorder = Recorder()
        let aggregator = Aggregator(recorder: recorder)
        try await source(recorder).sample()
        _ = try holder.query("ROLLBACK")
        #expect(done.wait(timeout: .now() + 10) == .success, "the waiter goes on once the lock is released")

        let data = aggregator.flush(timestamp: 0)
        #expect((Self.gauge(data, "BlockedSessions") ?? 0) >= 1)
        #expect((Self.gauge(data, "SessionsWaiting", ["WaitEventType": "Lock"]) ?? 0) >= 1)
        #expect(
            (Self.gauge(data, "Locks", ["Mode": "ShareLock", "Granted": "false"]) ?? 0) >= 1,
            "\(data.filter { $0.descriptor.name == "Locks" }.map(\.dimensions))")
        #expect((Self.gauge(data, "Locks", ["Mode": "RowExclusiveLock", "Granted": "true"]) ?? 0) >= 1)
        #expect((Self.gauge(data, "OldestTransactionAge") ?? 0) >= 2, "the holder's transaction is at least 2 s old")
        #expect((Self.gauge(data, "LongestQueryAge") ?? 0) >= 2, "the waiter's UPDATE has run for 2 s")
        #expect(Self.gauge(data, "SessionsByApplication", ["Application": "orders-service"]) == 1)
        #expect(Self.gauge(data, "SessionsByApplication", ["Application": "payments-service"]) == 1)
        #expect((Self.gauge(data, "TransactionIdAge") ?? 0) > 0)
        #expect((Self.gauge(data, "DatabaseSize") ?? 0) > 1_000_000)
    }

    @Test func anIdleTransactionIsMeasured() async throws {
        let idle = try TestDatabase.superuser()
        _ = try idle.query("BEGIN")
        _ = try idle.query("SELECT 1")
        try await Task.sleep(for: .milliseconds(1500))
        let recorder = Recorder()
        let aggregator = Aggregator(recorder: recorder)
        try await source(recorder).sample()
        _ = try idle.query("ROLLBACK")
        let data = aggregator.flush(timestamp: 0)
        #expect((Self.gauge(data, "LongestIdleInTransactionAge") ?? 0) >= 1.4)
    }

    @Test func aStatisticsResetGivesNoNegativeAndNoSpike() async throws {
        let recorder = Recorder()
        let aggregator = Aggregator(recorder: recorder)
        let source = source(recorder, database: "keycloak")
        let load = try TestDatabase.superuser(database: "keycloak")
        _ = try load.query("CREATE TABLE IF NOT EXISTS reset_probe (id serial primary key)")
        for _ in 0..<20 { _ = try load.query("INSERT INTO reset_probe DEFAULT VALUES") }
        _ = try load.query("SELECT pg_stat_force_next_flush()")
        try await source.sample()
        _ = aggregator.flush(timestamp: 0)
        _ = try load.query("SELECT pg_stat_reset()")
        for _ in 0..<3 { _ = try load.query("INSERT INTO reset_probe DEFAULT VALUES") }
        _ = try load.query("SELECT pg_stat_force_next_flush()")
        try await source.sample()
        try await source.sample()
        let data = aggregator.flush(timestamp: 60)
        for datum in data {
            if case .single(let value) = datum.value { #expect(value >= 0, "\(datum.descriptor.name)") }
        }
        if case .single(let inserted) = data.first(where: { $0.descriptor.name == "TuplesInserted" })?.value {
            #expect(inserted < 20, "no spike: after the reset the old baseline is gone")
        }
        #expect(recorder.selfMetrics[.counterReset] >= 1)
    }

    @Test(arguments: [120000, 130000, 140000, 150000, 160000, 170000])
    func queriesFollowTheServerVersion(_ version: Int) {
        let queries = PostgresQueries(serverVersion: version)
        #expect(queries.database.contains("confl_active_logicalslot") == (version >= 160000))
        #expect(queries.activity.contains("pg_blocking_pids"))
        #expect(PostgresQueries.supported.contains(version))
    }

    @Test func theLiveServerRunsItsQueries() throws {
        let connection = try PostgresConnection(TestDatabase.agentSettings())
        let queries = PostgresQueries(serverVersion: connection.serverVersion)
        for sql in [queries.database, queries.activity, queries.locks] {
            #expect(throws: Never.self) { _ = try connection.query(sql) }
        }
    }
}

/// The instance-wide views, through the first database of the test server.
@Suite(.enabled(if: TestDatabase.isAvailable, TestDatabase.skipReason), .serialized)
struct InstanceStatsTests {
    @Test func checkpointsWALArchivingAndSlotsAreSampled() async throws {
        let admin = try TestDatabase.superuser()
        let slot = "obs_test_slot_\(UInt16.random(in: 0...UInt16.max))"
        _ = try admin.query("SELECT pg_create_physical_replication_slot('\(slot)', true)")
        defer { _ = try? admin.query("SELECT pg_drop_replication_slot('\(slot)')") }
        let recorder = Recorder()
        let aggregator = Aggregator(recorder: recorder)
        let source = PostgresSource(
            settings: .init(instance: "instance-db", connection: TestDatabase.agentSettings()), recorder: recorder,
            logger: Logger(label: "test"))
        try await source.sample()
        _ = try admin.query("CREATE TABLE IF NOT EXISTS wal_probe (id serial primary key, pad text)")
        for _ in 0..<20 {
            _ = try admin.query("INSERT INTO wal_probe (pad) SELECT repeat('x', 1000) FROM generate_series(1, 50)")
        }
        // The checkpointer wakes the backend waiting on CHECKPOINT before it reports its own
        // statistics, so the count is waited for, as a sampler a moment later would see it.
        let requested =
            admin.serverVersion >= 170000
            ? "SELECT num_requested AS n FROM pg_stat_checkpointer"
            : "SELECT checkpoints_req AS n FROM pg_stat_bgwriter"
        let before = try admin.query(requested).double(0, "n") ?? 0
        _ = try admin.query("CHECKPOINT")
        _ = try admin.query("SELECT pg_stat_force_next_flush()")
        let deadline = ContinuousClock.now + .seconds(20)
        while try (admin.query(requested).double(0, "n") ?? 0) <= before, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        try await source.sample()
        let data = aggregator.flush(timestamp: 0)
        func counter(_ name: String) -> Double? {
            if case .single(let value) = data.first(where: {
                $0.descriptor.name == name && $0.dimensions["DBInstance"] == "instance-db"
            })?.value {
                return value
            }
            return nil
        }
        #expect((counter("CheckpointsRequested") ?? 0) >= 1, "the CHECKPOINT")
        #expect((counter("WALBytes") ?? 0) > 1_000_000, "a megabyte of rows")
        #expect((counter("WALRecords") ?? 0) >= 1000)
        #expect(counter("WALFilesArchived") != nil)
        let retained = data.first {
            $0.descriptor.name == "ReplicationSlotRetainedWAL" && $0.dimensions["Slot"] == slot
        }
        #expect((retained?.last ?? 0) > 1_000_000, "the slot keeps the WAL written since it was made")
        #expect(!data.contains { $0.descriptor.name == "ReplicaReplayLag" }, "a primary is not a standby")
        let instanceWide = Set(PostgresMetrics.instanceMetrics.map(\.name))
        #expect(
            data.filter { instanceWide.contains($0.descriptor.name) }.allSatisfy { $0.dimensions["Database"] == nil })
    }

    @Test func onlyTheFirstDatabaseOfAnInstanceSamplesIt() async throws {
        let recorder = Recorder()
        let aggregator = Aggregator(recorder: recorder)
        let second = PostgresSource(
            settings: .init(
                instance: "instance-db2", connection: TestDatabase.agentSettings(database: "keycloak"),
                samplesInstance: false),
            recorder: recorder, logger: Logger(label: "test"))
        try await second.sample()
        try await second.sample()
        #expect(
            !aggregator.flush(timestamp: 0).contains {
                $0.descriptor.name == "WALBytes" || $0.descriptor.name == "CheckpointsTimed"
            })
    }

    @Test(arguments: [120000, 130000, 140000, 160000, 170000])
    func instanceQueriesFollowTheServerVersion(_ version: Int) {
        let queries = PostgresQueries(serverVersion: version)
        #expect(queries.checkpoints.contains("pg_stat_checkpointer") == (version >= 170000))
        #expect((queries.wal != nil) == (version >= 140000))
    }

    @Test func theLiveServerRunsTheInstanceQueries() throws {
        let connection = try PostgresConnection(TestDatabase.agentSettings())
        let queries = PostgresQueries(serverVersion: connection.serverVersion)
        for sql in [
            queries.checkpoints, queries.wal!, queries.archiver, queries.replication, queries.recovery, queries.slots,
        ] {
            #expect(throws: Never.self) { _ = try connection.query(sql) }
        }
    }
}

/// Table statistics: the busiest tables by name, the rest as `other`.
@Suite(.enabled(if: TestDatabase.isAvailable, TestDatabase.skipReason), .serialized)
struct TableStatsTests {
    @Test func theBusiestTablesAreNamedAndTheRestSummed() async throws {
        let admin = try TestDatabase.superuser(database: "keycloak")
        let schema = "obs_tables_\(UInt16.random(in: 0...UInt16.max))"
        _ = try admin.query("CREATE SCHEMA \(schema)")
        defer { _ = try? admin.query("DROP SCHEMA \(schema) CASCADE") }
        for i in 0..<6 {
            _ = try admin.query("CREATE TABLE \(schema).t\(i) (id int, pad text)")
            _ = try admin.query("INSERT INTO \(schema).t\(i) SELECT g, 'x' FROM generate_series(1, 100) g")
        }
        _ = try admin.query("SELECT pg_stat_force_next_flush()")
        let recorder = Recorder()
        let aggregator = Aggregator(recorder: recorder)
        let source = PostgresSource(
            settings: .init(
                instance: "tables-db", connection: TestDatabase.agentSettings(database: "keycloak"),
                samplesInstance: false, topTables: 2),
            recorder: recorder, logger: Logger(label: "test"))
        try await source.sample()
        _ = aggregator.flush(timestamp: 0)
        // t5 is scanned 30 times, t4 has half its rows deleted; the others see nothing.
        for _ in 0..<30 { _ = try admin.query("SELECT count(*) FROM \(schema).t5") }
        _ = try admin.query("DELETE FROM \(schema).t4 WHERE id <= 50")
        _ = try admin.query("SELECT pg_stat_force_next_flush()")
        try await source.sample()
        let data = aggregator.flush(timestamp: 60)
        func single(_ name: String, _ table: String) -> Double? {
            if case .single(let v) = data.first(where: { $0.descriptor.name == name && $0.dimensions["Table"] == table }
            )?.value {
                return v
            }
            return nil
        }
        #expect(single("TableSeqScans", "\(schema).t5") == 30)
        #expect(single("TableSeqRowsRead", "\(schema).t5") == 3000)
        #expect(single("TableRowsWritten", "\(schema).t4") == 50)
        let dead = data.first {
            $0.descriptor.name == "TableDeadTupleRatio" && $0.dimensions["Table"] == "\(schema).t4"
        }?.last
        #expect(dead == 50, "50 dead of 100")
        let tables = Set(data.compactMap { $0.dimensions["Table"] })
        #expect(tables.count == 3, "two by name and other: \(tables.sorted())")
        #expect(tables.contains("other"))
    }
}

/// pg_stat_statements: the most time-consuming statements by queryid, their texts once.
@Suite(.enabled(if: TestDatabase.isAvailable, TestDatabase.skipReason), .serialized)
struct StatementStatsTests {
    final class Texts: @unchecked Sendable {
        let lock = NSLock()
        var all: [StatementText] = []
        func add(_ more: [StatementText]) { lock.withLock { all += more } }
    }

    @Test func theTopStatementsAreNamedTheirTextsSentOnceAndAResetGivesNoNegative() async throws {
        // A database of its own: pg_stat_statements is sampled per connected database, so the
        // pgbench load that other suites run at the same time cannot take the top places, and the
        // reset below touches this database's entries only.
        let database = "stmt_probe_\(UInt16.random(in: 0...UInt16.max))"
        let server = try TestDatabase.superuser(database: "postgres")
        _ = try server.query("CREATE DATABASE \(database)")
        defer { _ = try? server.query("DROP DATABASE \(database) WITH (FORCE)") }
        let admin = try TestDatabase.superuser(database: database)
        _ = try admin.query("CREATE EXTENSION pg_stat_statements")
        let table = "probe"
        _ = try admin.query("CREATE TABLE \(table) (id int primary key, n int)")
        _ = try admin.query("INSERT INTO \(table) SELECT g, 0 FROM generate_series(1, 1000) g")
        let recorder = Recorder()
        let aggregator = Aggregator(recorder: recorder)
        let texts = Texts()
        let source = PostgresSource(
            settings: .init(
                instance: "stmt-db", connection: TestDatabase.agentSettings(database: database), samplesInstance: false,
                topTables: 0,
                topStatements: 2),
            recorder: recorder, logger: Logger(label: "test")
        ) { texts.add($0) }
        try await source.sample()
        _ = aggregator.flush(timestamp: 0)
        // The slow one: 20 full sorts; then cheap ones.
        for _ in 0..<20 { _ = try admin.query("SELECT n FROM \(table) ORDER BY md5(id::text) LIMIT 1") }
        for i in 0..<50 { _ = try admin.query("SELECT n FROM \(table) WHERE id = \(i + 1)") }
        for _ in 0..<5 { _ = try admin.query("SELECT count(*) FROM \(table)") }
        try await source.sample()
        let data = aggregator.flush(timestamp: 60)
        let ids = Set(data.filter { $0.descriptor.name == "StatementCalls" }.compactMap { $0.dimensions["QueryId"] })
        #expect(ids.count == 3, "two statements by queryid and other: \(ids)")
        #expect(ids.contains("other"))
        let slow = try #require(texts.all.first { $0.query.contains("ORDER BY md5") })
        #expect(slow.query.contains("LIMIT $1"), "normalised text: \(slow.query)")
        if case .single(let calls) = data.first(where: {
            $0.descriptor.name == "StatementCalls" && $0.dimensions["QueryId"] == slow.queryID
        })?.value {
            #expect(calls == 20)
        } else {
            Issue.record("the slow statement has no series")
        }
        #expect(texts.all.count == 2, "texts of the named statements only")

        for _ in 0..<20 { _ = try admin.query("SELECT n FROM \(table) ORDER BY md5(id::text) LIMIT 1") }
        try await source.sample()
        #expect(Set(texts.all.map(\.queryID)).count == texts.all.count, "each text once")
        #expect(texts.all.filter { $0.queryID == slow.queryID }.count == 1)
        _ = try admin.query(
            "SELECT pg_stat_statements_reset(0, (SELECT oid FROM pg_database WHERE datname = current_database()), 0)")
        for _ in 0..<3 { _ = try admin.query("SELECT n FROM \(table) ORDER BY md5(id::text) LIMIT 1") }
        try await source.sample()
        try await source.sample()
        for datum in aggregator.flush(timestamp: 120) {
            if case .single(let value) = datum.value { #expect(value >= 0, "\(datum.descriptor.name)") }
            if case .statistics(let s) = datum.value, datum.descriptor.name == "StatementMeanTime" {
                #expect(s.minimum >= 0)
            }
        }
    }

    @Test(arguments: [120000, 130000, 170000])
    func statementColumnsFollowTheServerVersion(_ version: Int) {
        let sql = PostgresQueries(serverVersion: version).statements(limit: 10)
        #expect(sql.contains("total_exec_time") == (version >= 130000))
        #expect(sql.contains("sum(total_time)") == (version < 130000))
    }
}

/// A server restart while the agent samples: no negative and no spike, the agent reconnects.
@Suite(.enabled(if: TestDatabase.isAvailable, TestDatabase.skipReason), .serialized)
struct RestartTests {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
        .appendingPathComponent("scripts/lib/pg_private.sh").path

    /// Runs the script and waits for it (posix_spawn and waitpid: the server it starts keeps no
    /// pipe of ours open).
    static func run(_ arguments: [String]) throws -> Int32 {
        let argv = (["/bin/bash", script] + arguments).map { strdup($0) } + [nil]
        defer { for argument in argv { free(argument) } }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        var pid = pid_t()
        guard posix_spawn(&pid, "/bin/bash", &actions, nil, argv, environ) == 0 else { return -1 }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0, errno == EINTR {}
        return (status >> 8) & 0xFF
    }

    /// A port the kernel has just handed out as free (it may be taken again before the server
    /// binds it, which `start` answers by trying another).
    static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        return bound ? Int(UInt16(bigEndian: address.sin_port)) : Int.random(in: 30000...39999)
    }

    /// Starts a private server, on another port when the first one is taken meanwhile.
    static func start(_ dir: String) throws -> Int? {
        for _ in 0..<3 {
            let port = freePort()
            if try run(["start", dir, "\(port)"]) == 0 { return port }
        }
        return nil
    }

    @Test func aRestartedServerGivesNoNegativeAndNoSpike() async throws {
        let dir = NSTemporaryDirectory() + "obs-pg-restart-\(UUID().uuidString.prefix(8))"
        defer { _ = try? Self.run(["stop", dir]) }
        let port = try #require(try Self.start(dir), "the private server did not start (its log is above)")
        let settings = PostgresConnectionSettings(
            host: "127.0.0.1", port: port, database: "postgres", user: "postgres", sslMode: "disable")
        let admin = try PostgresConnection(settings)
        _ = try admin.query("CREATE TABLE restart_probe (id serial primary key)")
        _ = try admin.query("SELECT pg_stat_force_next_flush()")
        let recorder = Recorder()
        let aggregator = Aggregator(recorder: recorder)
        let source = PostgresSource(
            settings: .init(instance: "restart-db", connection: settings), recorder: recorder,
            logger: Logger(label: "test"))
        func inserted(_ data: [MetricDatum]) -> Double {
            data.reduce(0) { sum, datum in
                if case .single(let value) = datum.value, datum.descriptor.name == "TuplesInserted" {
                    return sum + value
                }
                return sum
            }
        }
        try await source.sample()
        for _ in 0..<50 { _ = try admin.query("INSERT INTO restart_probe DEFAULT VALUES") }
        _ = try admin.query("SELECT pg_stat_force_next_flush()")
        try await source.sample()
        #expect(inserted(aggregator.flush(timestamp: 0)) == 50)

        #expect(try Self.run(["restart", dir, "\(port)"]) == 0)
        let again = try PostgresConnection(settings)
        for _ in 0..<5 { _ = try again.query("INSERT INTO restart_probe DEFAULT VALUES") }
        _ = try again.query("SELECT pg_stat_force_next_flush()")
        // The first sample meets the dead connection; the next ones reconnect and start afresh.
        _ = try? await source.sample()
        try await source.sample()
        for _ in 0..<5 { _ = try again.query("INSERT INTO restart_probe DEFAULT VALUES") }
        _ = try again.query("SELECT pg_stat_force_next_flush()")
        try await source.sample()

        let after = aggregator.flush(timestamp: 60)
        for datum in after {
            if case .single(let value) = datum.value {
                #expect(value >= 0, "\(datum.descriptor.name) \(datum.dimensions)")
            }
        }
        #expect(inserted(after) <= 10, "at most the 10 rows inserted after the restart: no spike")
    }
}
