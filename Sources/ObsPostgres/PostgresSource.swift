import Logging
import ObsCore

/// The PostgreSQL source: one libpq connection to one database, sampled every `interval`.
///
/// Delivery guarantee: none of its own; what it records goes through the recorder and the
/// aggregator like every observation. A failed sample is logged, counted (`sample_failed`) and
/// retried with capped exponential backoff; the source never stops on a database error.
public final class PostgresSource: @unchecked Sendable {
    /// What to sample and how often.
    public struct Settings: Sendable {
        /// The `DBInstance` dimension (an RDS instance identifier, or the host).
        package var instance: String
        package var connection: PostgresConnectionSettings
        /// Seconds between samples.
        package var interval: Double
        /// The longest wait between reconnection attempts, in seconds.
        package var maxBackoff: Double
        /// Whether this source also samples the instance-wide views (checkpoints, WAL, archiving,
        /// replication, slots). The config turns it on for the first database of each instance only.
        package var samplesInstance: Bool
        /// Tables with series of their own each interval (the rest are summed as Table=other);
        /// 0 turns table statistics off.
        package var topTables: Int
        /// Statements with series of their own each interval (the rest are summed as
        /// QueryId=other); 0 turns statement statistics off.
        package var topStatements: Int
        /// `agent.shard`: when replicas split the targets, an instance (all of its databases) is
        /// sampled by the one replica that owns it.
        package var shard: Shard?
        /// Whether this replica samples this database.
        package var isOwned: Bool { shard?.owns("postgres \(instance)") ?? true }
        /// The CloudWatch Logs group statement texts go to.
        package var statementsLogGroup = "/obs/postgresql/statements"
        /// The agent's flush interval. The table and statement views (counters only, and the
        /// heaviest to read) are read in the last sample before each flush, not in every sample:
        /// their deltas add up to the same figure in each flush. At most `interval`: every sample.
        package var flushInterval: Double = 0

        public init(
            instance: String, connection: PostgresConnectionSettings, interval: Double = 15, maxBackoff: Double = 60,
            samplesInstance: Bool = true, topTables: Int = 10, topStatements: Int = 10
        ) {
            self.topTables = topTables
            self.topStatements = topStatements
            self.instance = instance
            self.connection = connection
            self.interval = interval
            self.maxBackoff = maxBackoff
            self.samplesInstance = samplesInstance
        }
    }

    package let settings: Settings

    /// Observations a producer of this source's ring holds: 8,192 (128 KiB). A full sample is a
    /// few hundred (133 observations on the benchmark's database, BENCHMARKS.md), and the ring is
    /// drained each time it fills a quarter, while a sample comes at most once a second.
    static let ringCapacity = 8_192
    private let logger: Logger
    private let executor: BlockingExecutor
    private let recorder: Recorder
    // Touched only on the executor's thread.
    private var connection: PostgresConnection?
    private var sampler: DatabaseStatsSampler
    private var instanceSampler: InstanceStatsSampler?
    private var tableSampler: TableStatsSampler?
    private var statementSampler: StatementStatsSampler?
    /// Whether the table and statement views were read on this connection.
    private var detailsRead = false

    /// - Parameter onStatementText: receives each statement's text the first time the statement
    ///   gets a series of its own (to be sent to CloudWatch Logs).
    public init(
        settings: Settings, recorder: Recorder, logger: Logger,
        onStatementText: @escaping @Sendable ([StatementText]) -> Void = { _ in }
    ) {
        self.settings = settings
        self.recorder = recorder
        var logger = logger
        logger[metadataKey: "source"] = "postgres"
        logger[metadataKey: "db.instance"] = "\(settings.instance)"
        logger[metadataKey: "db.name"] = "\(settings.connection.database)"
        self.logger = logger
        self.executor = BlockingExecutor(label: "obs.postgres.\(settings.instance).\(settings.connection.database)")
        self.sampler = DatabaseStatsSampler(
            instance: settings.instance, database: settings.connection.database, recorder: recorder,
            producer: recorder.makeProducer(
                name: "postgres.\(settings.instance).\(settings.connection.database)", capacity: Self.ringCapacity))
        if settings.topStatements > 0 {
            self.statementSampler = StatementStatsSampler(
                instance: settings.instance, database: settings.connection.database, top: settings.topStatements,
                recorder: recorder,
                producer: recorder.makeProducer(
                    name: "postgres.\(settings.instance).\(settings.connection.database).statements",
                    capacity: Self.ringCapacity),
                onNewText: onStatementText)
        }
        if settings.topTables > 0 {
            self.tableSampler = TableStatsSampler(
                instance: settings.instance, database: settings.connection.database, top: settings.topTables,
                recorder: recorder,
                producer: recorder.makeProducer(
                    name: "postgres.\(settings.instance).\(settings.connection.database).tables",
                    capacity: Self.ringCapacity))
        }
        if settings.samplesInstance {
            self.instanceSampler = InstanceStatsSampler(
                instance: settings.instance, recorder: recorder,
                producer: recorder.makeProducer(name: "postgres.\(settings.instance)", capacity: Self.ringCapacity))
        }
    }

    /// Samples until the task is cancelled: every `interval` while samples succeed, with backoff
    /// while they fail (1 s doubling to `maxBackoff`, each wait drawn between half and all of it).
    public func run() async {
        var failures = 0
        while !Task.isCancelled {
            do {
                let recorded = try await sample()
                if failures > 0 { logger.info("postgres sampling recovered", metadata: ["failures": "\(failures)"]) }
                failures = 0
                recorder.health.report(healthName, ok: true)
                logger.debug("postgres sampled", metadata: ["observations": "\(recorded)"])
            } catch {
                failures += 1
                recorder.selfMetrics.count(.sampleFailed)
                recorder.health.report(healthName, ok: false, reason: "\(error)")
                // Capped exponential backoff with jitter (half to all of the ceiling), so that agents restarted together do
                // not reconnect together.
                let wait = Backoff(cap: settings.maxBackoff, jitter: .half).delay(afterFailures: failures)
                logger.error(
                    "postgres sample failed",
                    metadata: ["error": "\(error)", "retry.in_seconds": "\(Int(wait))", "failures": "\(failures)"])
                try? await Task.sleep(for: .seconds(wait))
                continue
            }
            try? await Task.sleep(for: .seconds(settings.interval))
        }
    }

    /// This source's name in the health report.
    var healthName: String { "postgres \(settings.instance)/\(settings.connection.database)" }

    /// One sample now, connecting first if needed. Returns how many observations it recorded.
    /// `final`: the last sample at shutdown, which reads every view.
    @discardableResult
    public func sample(final: Bool = false) async throws(PostgresError) -> Int {
        try await executor.run { () throws(PostgresError) -> Int in
            try self.sampleOnExecutor(final: final)
        }
    }

    /// Whether this sample reads the table and statement views: the first after connecting (the
    /// baselines), the last at shutdown, and each sample after which the next (an interval and a
    /// half away, so a slow sample cannot skip a flush) falls past a flush boundary.
    private func readsDetails(final: Bool) -> Bool {
        guard detailsRead, !final, settings.flushInterval > settings.interval else { return true }
        let now = FlushClock.now()
        return FlushClock.boundary(now + 1.5 * settings.interval, interval: settings.flushInterval)
            > FlushClock.boundary(now, interval: settings.flushInterval)
    }

    private func sampleOnExecutor(final: Bool) throws(PostgresError) -> Int {
        if connection == nil || connection?.isHealthy == false {
            connection = nil
            connection = try PostgresConnection(settings.connection)
            sampler.connected(serverVersion: connection!.serverVersion)
            instanceSampler?.connected(serverVersion: connection!.serverVersion)
            tableSampler?.connected(serverVersion: connection!.serverVersion)
            statementSampler?.connected(serverVersion: connection!.serverVersion)
            detailsRead = false
            logger.info("postgres connected", metadata: ["db.target": "\(settings.connection.target)"])
        }
        do {
            var recorded = try sampler.sample(connection!)
            if instanceSampler != nil { recorded += try instanceSampler!.sample(connection!) }
            guard readsDetails(final: final) else { return recorded }
            if tableSampler != nil { recorded += try tableSampler!.sample(connection!) }
            if statementSampler != nil { recorded += try statementSampler!.sample(connection!) }
            detailsRead = true
            return recorded
        } catch {
            if case .connectionLost = error { connection = nil }
            throw error
        }
    }

    /// Connects (without sampling) and returns the server version, for `obs-agent check`.
    package func check() async throws(PostgresError) -> String {
        let settings = self.settings.connection
        return try await executor.run { () throws(PostgresError) -> String in
            let connection = try PostgresConnection(settings)
            let version = connection.serverVersion
            return "PostgreSQL \(version / 10000).\(version % 10000)"
        }
    }
}
