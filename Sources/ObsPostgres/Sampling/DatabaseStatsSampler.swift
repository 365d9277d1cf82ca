import ObsCatalog
import ObsCore

/// Samples the connected database: `pg_stat_database` and its conflicts, size and transaction id
/// ages; `pg_stat_activity` (client sessions by state, wait event type and application, blocked
/// sessions, the oldest transaction, query and idle transaction; the agent's own session left
/// out); and `pg_locks` by mode. Records counter deltas and gauges.
///
/// Counters never yield a negative or a spike: a counter that went down restarts from its new
/// value, and when `stats_reset` or the server's start time changed (`pg_stat_reset()`, a restart,
/// a Multi-AZ failover) every baseline is dropped and the next sample starts afresh.
struct DatabaseStatsSampler {
    /// States reported even when no session is in them, so that graphs fall to zero instead of
    /// stopping.
    static let alwaysReportedStates = ["active", "idle", "idle in transaction", "idle in transaction (aborted)"]

    let dimensions: Dimensions
    let recorder: Recorder
    let producer: Producer
    private(set) var queries = PostgresQueries(serverVersion: 150000)
    private var counters = CounterTracker<String>()
    private var counterSeries: [String: SeriesID] = [:]
    private var cache: SeriesCache
    /// `stats_reset` and the server's start time at the last sample.
    private var epoch: (statsReset: Double, started: Double)?
    /// When the size was last read (monotonic seconds), and the value read.
    private var size: (at: Double, bytes: Double)?
    /// How often the database's size is read: it changes slowly, and reading it costs the server
    /// more than the rest of a sample.
    static let sizeInterval = 60.0

    init(instance: String, database: String, recorder: Recorder, producer: Producer) {
        self.dimensions = Dimensions([("DBInstance", instance), ("Database", database)])
        self.recorder = recorder
        self.producer = producer
        self.cache = SeriesCache(recorder: recorder, dimensions: dimensions)
        for (column, definition) in PostgresMetrics.databaseCounters {
            counterSeries[column] = recorder.series(definition.descriptor, dimensions)
        }
        counterSeries["conflicts"] = recorder.series(PostgresMetrics.conflicts.descriptor, dimensions)
    }

    /// Resets seen so far (each is counted in the agent's self-metrics as it happens).
    var resets: Int { counters.resets }

    /// A new connection: picks the queries for its server and forgets counter baselines, since
    /// the server may be another one (a failover).
    mutating func connected(serverVersion: Int) {
        queries = PostgresQueries(serverVersion: serverVersion)
        size = nil
        forgetBaselines()
    }

    mutating func forgetBaselines() {
        counters.reset()
        epoch = nil
    }

    /// The series of `definition` with the database's dimensions and `extra`.
    private mutating func series(_ definition: MetricDefinition, _ extra: [(String, String)] = []) -> SeriesID {
        cache.id(definition, extra)
    }

    /// Samples every view once through `connection`. Returns how many observations it recorded.
    @discardableResult
    mutating func sample(_ connection: PostgresConnection) throws(PostgresError) -> Int {
        var recorded = 0
        recorded += try sampleDatabase(connection)
        recorded += try sampleActivity(connection)
        recorded += try sampleLocks(connection)
        return recorded
    }

    private mutating func sampleDatabase(_ connection: PostgresConnection) throws(PostgresError) -> Int {
        let stats = try connection.query(queries.database)
        guard !stats.rows.isEmpty else { return 0 }
        var recorded = 0
        let now = (statsReset: stats.double(0, "stats_reset") ?? 0, started: stats.double(0, "started") ?? 0)
        if let epoch, epoch.statsReset != now.statsReset || epoch.started != now.started {
            // Statistics reset or server restarted: the old baselines mean nothing any more.
            counters.reset()
            recorder.selfMetrics.count(.counterReset)
        }
        epoch = now
        for column in PostgresMetrics.databaseCounters.map(\.column) + ["conflicts"] {
            guard let value = stats.double(0, column) else { continue }
            let resetsBefore = counters.resets
            if let delta = counters.delta(column, value) {
                producer.record(counterSeries[column]!, delta)
                recorded += 1
            }
            if counters.resets > resetsBefore { recorder.selfMetrics.count(.counterReset) }
        }
        for (column, definition) in [("xid_age", PostgresMetrics.xidAge), ("mxid_age", PostgresMetrics.mxidAge)] {
            guard let value = stats.double(0, column) else { continue }
            producer.record(series(definition), value)
            recorded += 1
        }
        // The size as last read (a gauge: each sample reports it, so every flush has it), read
        // again once a minute.
        let time = Monotonic.seconds()
        if size == nil || time - size!.at >= Self.sizeInterval,
            let bytes = try connection.query(queries.databaseSize).double(0, "size_bytes")
        {
            size = (time, bytes)
        }
        if let size {
            producer.record(series(PostgresMetrics.databaseSize), size.bytes)
            recorded += 1
        }
        return recorded
    }

    private mutating func sampleActivity(_ connection: PostgresConnection) throws(PostgresError) -> Int {
        let activity = try connection.query(queries.activity)
        var byState: [String: Double] = Dictionary(uniqueKeysWithValues: Self.alwaysReportedStates.map { ($0, 0) })
        var byWait: [String: Double] = [:]
        var byApplication: [String: Double] = [:]
        var blocked = 0.0
        var oldest = (xact: 0.0, query: 0.0, idle: 0.0)
        for row in activity.rows.indices {
            guard let state = activity.string(row, "state"), let count = activity.double(row, "sessions") else {
                continue
            }
            byState[state, default: 0] += count
            if state == "active" { byWait[activity.string(row, "wait_event_type") ?? "none", default: 0] += count }
            byApplication[activity.string(row, "application") ?? "unknown", default: 0] += count
            blocked += activity.double(row, "blocked") ?? 0
            oldest.xact = max(oldest.xact, activity.double(row, "oldest_xact") ?? 0)
            oldest.query = max(oldest.query, activity.double(row, "longest_query") ?? 0)
            oldest.idle = max(oldest.idle, activity.double(row, "longest_idle_xact") ?? 0)
        }
        var recorded = 0
        func record(_ id: SeriesID, _ value: Double) {
            producer.record(id, value)
            recorded += 1
        }
        for (state, count) in byState.sorted(by: { $0.key < $1.key }) {
            record(series(PostgresMetrics.connections, [("State", state)]), count)
        }
        byWait["Lock", default: 0] += 0  // the wait that matters most is always reported
        for (wait, count) in byWait.sorted(by: { $0.key < $1.key }) {
            record(series(PostgresMetrics.sessionsWaiting, [("WaitEventType", wait)]), count)
        }
        for (application, count) in byApplication.sorted(by: { $0.key < $1.key }) {
            record(series(PostgresMetrics.sessionsByApplication, [("Application", application)]), count)
        }
        record(series(PostgresMetrics.blockedSessions), blocked)
        record(series(PostgresMetrics.oldestTransactionAge), oldest.xact)
        record(series(PostgresMetrics.longestQueryAge), oldest.query)
        record(series(PostgresMetrics.longestIdleInTransactionAge), oldest.idle)
        return recorded
    }

    private mutating func sampleLocks(_ connection: PostgresConnection) throws(PostgresError) -> Int {
        let locks = try connection.query(queries.locks)
        var recorded = 0
        for row in locks.rows.indices {
            guard let mode = locks.string(row, "mode"), let granted = locks.string(row, "granted"),
                let count = locks.double(row, "locks")
            else {
                continue
            }
            producer.record(
                series(PostgresMetrics.locks, [("Mode", mode), ("Granted", granted == "t" ? "true" : "false")]), count)
            recorded += 1
        }
        return recorded
    }
}
