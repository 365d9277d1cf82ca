import ObsCatalog
import ObsCore

/// Samples `pg_stat_database` (the connected database's row) and `pg_stat_activity` (client
/// sessions of that database by state, the agent's own session left out), and records counter
/// deltas and connection gauges.
struct DatabaseStatsSampler {
    static let statsQuery = """
        SELECT \(PostgresMetrics.databaseCounters.map(\.column).joined(separator: ", "))
        FROM pg_stat_database WHERE datname = current_database()
        """
    static let activityQuery = """
        SELECT coalesce(state, 'unknown') AS state, count(*) AS sessions
        FROM pg_stat_activity
        WHERE datname = current_database() AND backend_type = 'client backend' AND pid <> pg_backend_pid()
        GROUP BY 1
        """
    /// States reported even when no session is in them, so that graphs fall to zero instead of
    /// stopping.
    static let alwaysReportedStates = ["active", "idle", "idle in transaction", "idle in transaction (aborted)"]

    let dimensions: Dimensions
    let recorder: Recorder
    let producer: Producer
    private var counters = CounterTracker<String>()
    private var counterSeries: [String: SeriesID] = [:]
    private var stateSeries: [String: SeriesID] = [:]

    init(instance: String, database: String, recorder: Recorder, producer: Producer) {
        self.dimensions = Dimensions([("DBInstance", instance), ("Database", database)])
        self.recorder = recorder
        self.producer = producer
        for (column, definition) in PostgresMetrics.databaseCounters {
            counterSeries[column] = recorder.series(definition.descriptor, dimensions)
        }
    }

    /// Resets seen so far (each is counted in the agent's self-metrics as it happens).
    var resets: Int { counters.resets }

    /// Forgets counter baselines: after a reconnect the server may be another one (a failover).
    mutating func forgetBaselines() {
        counters.reset()
    }

    /// Samples both views once through `connection`. Returns how many observations it recorded.
    @discardableResult
    mutating func sample(_ connection: PostgresConnection) throws(PostgresError) -> Int {
        var recorded = 0
        let stats = try connection.query(Self.statsQuery)
        if !stats.rows.isEmpty {
            for (column, _) in PostgresMetrics.databaseCounters {
                guard let value = stats.double(0, column) else { continue }
                let resetsBefore = counters.resets
                if let delta = counters.delta(column, value) {
                    producer.record(counterSeries[column]!, delta)
                    recorded += 1
                }
                if counters.resets > resetsBefore { recorder.selfMetrics.count(.counterReset) }
            }
        }

        let activity = try connection.query(Self.activityQuery)
        var byState: [String: Double] = Dictionary(uniqueKeysWithValues: Self.alwaysReportedStates.map { ($0, 0) })
        for row in activity.rows.indices {
            guard let state = activity.string(row, "state"), let count = activity.double(row, "sessions") else { continue }
            byState[state, default: 0] += count
        }
        for (state, count) in byState.sorted(by: { $0.key < $1.key }) {
            let series = stateSeries[state] ?? {
                let id = recorder.series(PostgresMetrics.connections.descriptor, dimensions.setting("State", to: state))
                stateSeries[state] = id
                return id
            }()
            producer.record(series, count)
            recorded += 1
        }
        return recorded
    }
}
