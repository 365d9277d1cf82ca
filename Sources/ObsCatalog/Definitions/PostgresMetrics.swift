import ObsCore

/// PostgreSQL metrics, from the `pg_stat_*` views.
public enum PostgresMetrics {
    public static let namespace = "Obs/PostgreSQL"
    /// The dimensions of per-database metrics.
    public static let databaseDimensions = ["DBInstance", "Database"]

    private static func databaseCounter(
        _ id: String, _ name: String, unit: MetricUnit = .count, column: String, widget: String, _ description: String
    ) -> MetricDefinition {
        MetricDefinition(
            id: "postgres.database.\(id)", namespace: namespace, name: name, unit: unit, kind: .counter,
            dimensions: databaseDimensions, description: description, source: "pg_stat_database.\(column)",
            placement: DashboardPlacement(dashboard: .database, widget: widget, statistic: "Sum"))
    }

    public static let commits = databaseCounter(
        "commits", "Commits", column: "xact_commit", widget: "Transactions",
        "Transactions committed in the database during the period.")
    public static let rollbacks = databaseCounter(
        "rollbacks", "Rollbacks", column: "xact_rollback", widget: "Transactions",
        "Transactions rolled back in the database during the period. A rise without a deploy often means application errors.")
    public static let blocksHit = databaseCounter(
        "blocks_hit", "BlocksHit", column: "blks_hit", widget: "Buffer cache",
        "Block reads served from shared buffers during the period.")
    public static let blocksRead = databaseCounter(
        "blocks_read", "BlocksRead", column: "blks_read", widget: "Buffer cache",
        "Blocks read from disk (or the OS cache) during the period. Compare with BlocksHit for the cache hit ratio.")
    public static let tuplesReturned = databaseCounter(
        "tuples_returned", "TuplesReturned", column: "tup_returned", widget: "Rows read",
        "Rows returned by sequential and index scans during the period.")
    public static let tuplesFetched = databaseCounter(
        "tuples_fetched", "TuplesFetched", column: "tup_fetched", widget: "Rows read",
        "Live rows fetched by index scans during the period.")
    public static let tuplesInserted = databaseCounter(
        "tuples_inserted", "TuplesInserted", column: "tup_inserted", widget: "Rows written",
        "Rows inserted during the period.")
    public static let tuplesUpdated = databaseCounter(
        "tuples_updated", "TuplesUpdated", column: "tup_updated", widget: "Rows written",
        "Rows updated during the period.")
    public static let tuplesDeleted = databaseCounter(
        "tuples_deleted", "TuplesDeleted", column: "tup_deleted", widget: "Rows written",
        "Rows deleted during the period.")
    public static let deadlocks = databaseCounter(
        "deadlocks", "Deadlocks", column: "deadlocks", widget: "Deadlocks and temp files",
        "Deadlocks detected during the period. Any deadlock is worth a look at the statements involved.")
    public static let tempFiles = databaseCounter(
        "temp_files", "TempFiles", column: "temp_files", widget: "Deadlocks and temp files",
        "Temporary files created by queries during the period (sorts and hashes larger than work_mem).")
    public static let tempBytes = databaseCounter(
        "temp_bytes", "TempBytes", unit: .bytes, column: "temp_bytes", widget: "Temp bytes",
        "Bytes written to temporary files during the period.")

    public static let connections = MetricDefinition(
        id: "postgres.activity.connections", namespace: namespace, name: "Connections", unit: .count, kind: .gauge,
        dimensions: ["DBInstance", "Database", "State"],
        description: "Client backends by state (active, idle, idle in transaction, ...), from pg_stat_activity, the agent's own session excluded.",
        source: "pg_stat_activity.state",
        placement: DashboardPlacement(dashboard: .database, widget: "Connections by state", statistic: "Average"))

    /// The `pg_stat_database` counters, with their column names, in the order they are sampled.
    public static let databaseCounters: [(column: String, definition: MetricDefinition)] = [
        ("xact_commit", commits), ("xact_rollback", rollbacks), ("blks_hit", blocksHit), ("blks_read", blocksRead),
        ("tup_returned", tuplesReturned), ("tup_fetched", tuplesFetched), ("tup_inserted", tuplesInserted),
        ("tup_updated", tuplesUpdated), ("tup_deleted", tuplesDeleted), ("deadlocks", deadlocks),
        ("temp_files", tempFiles), ("temp_bytes", tempBytes),
    ]

    public static let all: [MetricDefinition] = databaseCounters.map(\.definition) + [connections]
}
