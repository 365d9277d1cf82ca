import ObsCore

/// PostgreSQL metrics, from the `pg_stat_*` views.
public enum PostgresMetrics {
    public static let namespace = "Obs/PostgreSQL"
    /// The dimensions of per-database metrics.
    package static let databaseDimensions = ["DBInstance", "Database"]

    private static func databaseCounter(
        _ id: String, _ name: String, unit: MetricUnit = .count, column: String, widget: String, _ description: String
    ) -> MetricDefinition {
        MetricDefinition(
            id: "postgres.database.\(id)", namespace: namespace, name: name, unit: unit, kind: .counter,
            dimensions: databaseDimensions, description: description, source: "pg_stat_database.\(column)",
            placement: DashboardPlacement(dashboard: .database, widget: widget, statistic: "Sum"))
    }

    package static let commits = databaseCounter(
        "commits", "Commits", column: "xact_commit", widget: "Transactions",
        "Transactions committed in the database during the period.")
    package static let rollbacks = databaseCounter(
        "rollbacks", "Rollbacks", column: "xact_rollback", widget: "Transactions",
        "Transactions rolled back in the database during the period. A rise without a deploy often means application errors."
    )
    package static let blocksHit = databaseCounter(
        "blocks_hit", "BlocksHit", column: "blks_hit", widget: "Buffer cache",
        "Block reads served from shared buffers during the period.")
    package static let blocksRead = databaseCounter(
        "blocks_read", "BlocksRead", column: "blks_read", widget: "Buffer cache",
        "Blocks read from disk (or the OS cache) during the period. Compare with BlocksHit for the cache hit ratio.")
    package static let tuplesReturned = databaseCounter(
        "tuples_returned", "TuplesReturned", column: "tup_returned", widget: "Rows read",
        "Rows returned by sequential and index scans during the period.")
    package static let tuplesFetched = databaseCounter(
        "tuples_fetched", "TuplesFetched", column: "tup_fetched", widget: "Rows read",
        "Live rows fetched by index scans during the period.")
    package static let tuplesInserted = databaseCounter(
        "tuples_inserted", "TuplesInserted", column: "tup_inserted", widget: "Rows written",
        "Rows inserted during the period.")
    package static let tuplesUpdated = databaseCounter(
        "tuples_updated", "TuplesUpdated", column: "tup_updated", widget: "Rows written",
        "Rows updated during the period.")
    package static let tuplesDeleted = databaseCounter(
        "tuples_deleted", "TuplesDeleted", column: "tup_deleted", widget: "Rows written",
        "Rows deleted during the period.")
    package static let deadlocks = databaseCounter(
        "deadlocks", "Deadlocks", column: "deadlocks", widget: "Deadlocks and temp files",
        "Deadlocks detected during the period. Any deadlock is worth a look at the statements involved.")
    package static let tempFiles = databaseCounter(
        "temp_files", "TempFiles", column: "temp_files", widget: "Deadlocks and temp files",
        "Temporary files created by queries during the period (sorts and hashes larger than work_mem).")
    package static let tempBytes = databaseCounter(
        "temp_bytes", "TempBytes", unit: .bytes, column: "temp_bytes", widget: "Temp bytes",
        "Bytes written to temporary files during the period.")

    package static let connections = MetricDefinition(
        id: "postgres.activity.connections", namespace: namespace, name: "Connections", unit: .count, kind: .gauge,
        dimensions: ["DBInstance", "Database", "State"],
        description:
            "Client backends by state (active, idle, idle in transaction, ...), from pg_stat_activity, the agent's own session excluded.",
        source: "pg_stat_activity.state",
        placement: DashboardPlacement(dashboard: .database, widget: "Connections by state", statistic: "Average"))

    /// A metric drawn on the Database dashboard, with id `postgres.<id>`.
    private static func metric(
        _ id: String, _ name: String, kind: MetricKind, unit: MetricUnit, dimensions: [String], source: String,
        widget: String,
        statistic: String, _ description: String
    ) -> MetricDefinition {
        MetricDefinition(
            id: "postgres.\(id)", namespace: namespace, name: name, unit: unit, kind: kind, dimensions: dimensions,
            description: description, source: source,
            placement: DashboardPlacement(dashboard: .database, widget: widget, statistic: statistic))
    }

    private static func databaseGauge(
        _ id: String, _ name: String, unit: MetricUnit = .count, source: String, widget: String,
        statistic: String = "Maximum",
        extra: [String] = [], _ description: String
    ) -> MetricDefinition {
        metric(
            id, name, kind: .gauge, unit: unit, dimensions: databaseDimensions + extra, source: source, widget: widget,
            statistic: statistic,
            description)
    }

    package static let conflicts = databaseCounter(
        "conflicts", "RecoveryConflicts", column: "confl_*", widget: "Deadlocks and temp files",
        "Queries cancelled on a standby because of recovery conflicts (pg_stat_database_conflicts, all kinds summed).")
    package static let databaseSize = databaseGauge(
        "database.size", "DatabaseSize", unit: .bytes, source: "pg_database_size(datid)", widget: "Database size",
        "The database's size on disk, read at most once a minute (the server lists every file of the database to find it)."
    )
    package static let xidAge = databaseGauge(
        "database.xid_age", "TransactionIdAge", source: "age(pg_database.datfrozenxid)",
        widget: "Transaction id age (wraparound)",
        "Transactions since the database's oldest unfrozen transaction id. PostgreSQL stops accepting writes near 2^31 (about 2.1 billion); autovacuum should keep it far below 200 million."
    )
    package static let mxidAge = databaseGauge(
        "database.mxid_age", "MultiXactIdAge", source: "mxid_age(pg_database.datminmxid)",
        widget: "Transaction id age (wraparound)",
        "Multixact ids since the database's oldest unfrozen one; wraps around like transaction ids.")
    package static let sessionsWaiting = databaseGauge(
        "activity.waiting", "SessionsWaiting", source: "pg_stat_activity.wait_event_type",
        widget: "Sessions by wait event type",
        statistic: "Average", extra: ["WaitEventType"],
        "Client sessions by what they wait on (Lock, LWLock, IO, Client, IPC, ...; none when running on CPU): PostgreSQL's equivalent of Performance Insights' average active sessions by wait."
    )
    package static let sessionsByApplication = databaseGauge(
        "activity.application", "SessionsByApplication", source: "pg_stat_activity.application_name",
        widget: "Sessions by application",
        statistic: "Average", extra: ["Application"],
        "Client sessions by application_name: the database side of each service's connection pool (set spring.datasource.hikari.data-source-properties.ApplicationName to the service's name), to read beside the pool's Connections."
    )
    package static let blockedSessions = databaseGauge(
        "activity.blocked", "BlockedSessions", source: "pg_stat_activity, cardinality(pg_blocking_pids(pid)) > 0",
        widget: "Blocked sessions and locks",
        "Sessions waiting for a lock another session holds.")
    package static let oldestTransactionAge = databaseGauge(
        "activity.oldest_xact", "OldestTransactionAge", unit: .seconds,
        source: "max(now() - pg_stat_activity.xact_start)",
        widget: "Oldest transaction, query and idle transaction",
        "Age of the oldest open transaction. Long transactions hold back vacuum and keep locks.")
    package static let longestQueryAge = databaseGauge(
        "activity.longest_query", "LongestQueryAge", unit: .seconds,
        source: "max(now() - pg_stat_activity.query_start), active sessions",
        widget: "Oldest transaction, query and idle transaction", "Run time of the longest running query.")
    package static let longestIdleInTransactionAge = databaseGauge(
        "activity.longest_idle_xact", "LongestIdleInTransactionAge", unit: .seconds,
        source: "max(now() - pg_stat_activity.state_change), idle in transaction",
        widget: "Oldest transaction, query and idle transaction",
        "Time the longest idle-in-transaction session has been idle: an application holding a transaction open while doing something else."
    )
    package static let locks = databaseGauge(
        "locks", "Locks", source: "pg_locks (mode, granted)", widget: "Blocked sessions and locks",
        statistic: "Average",
        extra: ["Mode", "Granted"], "Locks on the database by mode, held (Granted=true) or awaited (Granted=false).")

    // Tables: the busiest N of each interval by name, the rest summed into Table=other.

    package static let tableDimensions = ["DBInstance", "Database", "Table"]

    private static func table(
        _ id: String, _ name: String, kind: MetricKind, unit: MetricUnit = .count, source: String, widget: String,
        statistic: String,
        _ description: String
    ) -> MetricDefinition {
        metric(
            "table.\(id)", name, kind: kind, unit: unit, dimensions: tableDimensions, source: source, widget: widget,
            statistic: statistic,
            description + " The interval's busiest tables (by rows read and written) by name, the rest as Table=other.")
    }

    package static let tableSeqScans = table(
        "seq_scans", "TableSeqScans", kind: .counter, source: "pg_stat_user_tables.seq_scan",
        widget: "Sequential scans by table",
        statistic: "Sum", "Sequential scans of the table. Many on a large table usually mean a missing index.")
    package static let tableSeqRowsRead = table(
        "seq_rows", "TableSeqRowsRead", kind: .counter, source: "pg_stat_user_tables.seq_tup_read",
        widget: "Rows read by sequential scans",
        statistic: "Sum", "Rows read by sequential scans of the table.")
    package static let tableIndexScans = table(
        "idx_scans", "TableIndexScans", kind: .counter, source: "pg_stat_user_tables.idx_scan",
        widget: "Sequential scans by table",
        statistic: "Sum", "Index scans of the table.")
    package static let tableRowsWritten = table(
        "rows_written", "TableRowsWritten", kind: .counter,
        source: "pg_stat_user_tables.n_tup_ins + n_tup_upd + n_tup_del",
        widget: "Rows written by table", statistic: "Sum", "Rows inserted, updated and deleted in the table.")
    package static let tableDeadTupleRatio = table(
        "dead_ratio", "TableDeadTupleRatio", kind: .gauge, unit: .percent,
        source: "n_dead_tup / (n_live_tup + n_dead_tup)",
        widget: "Dead tuples by table", statistic: "Maximum",
        "Dead rows as a percentage of the table's rows: what vacuum has yet to reclaim.")
    package static let tableSinceVacuum = table(
        "since_vacuum", "TableSecondsSinceVacuum", kind: .gauge, unit: .seconds,
        source: "now() - greatest(last_vacuum, last_autovacuum)",
        widget: "Time since vacuum by table", statistic: "Maximum",
        "Time since the table was last vacuumed (manually or by autovacuum); absent if never.")
    package static let tableSinceAnalyze = table(
        "since_analyze", "TableSecondsSinceAnalyze", kind: .gauge, unit: .seconds,
        source: "now() - greatest(last_analyze, last_autoanalyze)",
        widget: "Time since vacuum by table", statistic: "Maximum",
        "Time since the table was last analyzed; stale statistics give bad plans.")
    package static let tableCacheHitRatio = table(
        "cache_hit", "TableCacheHitRatio", kind: .gauge, unit: .percent,
        source: "pg_statio_user_tables (heap and index blocks hit / (hit + read))",
        widget: "Cache hit ratio by table", statistic: "Average",
        "Block reads of the table and its indexes served from shared buffers during the sample interval, weighted by block reads."
    )

    package static let tableMetrics: [MetricDefinition] = [
        tableSeqScans, tableSeqRowsRead, tableIndexScans, tableRowsWritten, tableDeadTupleRatio, tableSinceVacuum,
        tableSinceAnalyze,
        tableCacheHitRatio,
    ]

    // Statements: the interval's most time-consuming N by queryid, the rest summed into QueryId=other.

    package static let statementDimensions = ["DBInstance", "Database", "QueryId"]

    private static func statement(
        _ id: String, _ name: String, kind: MetricKind, unit: MetricUnit = .count, source: String, widget: String,
        statistic: String,
        _ description: String
    ) -> MetricDefinition {
        metric(
            "statement.\(id)", name, kind: kind, unit: unit, dimensions: statementDimensions, source: source,
            widget: widget,
            statistic: statistic,
            description
                + " The interval's most time-consuming statements by queryid, the rest as QueryId=other; each statement's text is sent once to CloudWatch Logs."
        )
    }

    package static let statementCalls = statement(
        "calls", "StatementCalls", kind: .counter, source: "pg_stat_statements.calls", widget: "Statement calls",
        statistic: "Sum",
        "Executions of the statement.")
    package static let statementTotalTime = statement(
        "total_time", "StatementTotalTime", kind: .counter, unit: .milliseconds,
        source: "pg_stat_statements.total_exec_time (13+), total_time (12)", widget: "Statement time (top statements)",
        statistic: "Sum",
        "Time spent executing the statement: Performance Insights' top SQL by load.")
    package static let statementMeanTime = statement(
        "mean_time", "StatementMeanTime", kind: .gauge, unit: .milliseconds, source: "Δtotal_exec_time / Δcalls",
        widget: "Statement mean time", statistic: "Average",
        "Mean execution time of the statement during the interval, weighted by calls.")
    package static let statementRows = statement(
        "rows", "StatementRows", kind: .counter, source: "pg_stat_statements.rows", widget: "Statement calls",
        statistic: "Sum",
        "Rows returned or affected by the statement.")
    package static let statementBlocksHit = statement(
        "blocks_hit", "StatementSharedBlocksHit", kind: .counter, source: "pg_stat_statements.shared_blks_hit",
        widget: "Statement block reads", statistic: "Sum", "Shared buffer hits of the statement.")
    package static let statementBlocksRead = statement(
        "blocks_read", "StatementSharedBlocksRead", kind: .counter, source: "pg_stat_statements.shared_blks_read",
        widget: "Statement block reads", statistic: "Sum", "Blocks the statement read from disk or the OS cache.")

    package static let statementMetrics: [MetricDefinition] = [
        statementCalls, statementTotalTime, statementMeanTime, statementRows, statementBlocksHit, statementBlocksRead,
    ]

    // Instance-wide: sampled once per instance (through its first configured database).

    package static let instanceDimensions = ["DBInstance"]

    private static func instance(
        _ id: String, _ name: String, kind: MetricKind, unit: MetricUnit = .count, source: String, widget: String,
        statistic: String,
        extra: [String] = [], _ description: String
    ) -> MetricDefinition {
        metric(
            "instance.\(id)", name, kind: kind, unit: unit, dimensions: instanceDimensions + extra, source: source,
            widget: widget,
            statistic: statistic, description)
    }

    package static let checkpointsTimed = instance(
        "checkpoints_timed", "CheckpointsTimed", kind: .counter,
        source: "pg_stat_bgwriter.checkpoints_timed; pg_stat_checkpointer.num_timed (17)",
        widget: "Checkpoints", statistic: "Sum", "Checkpoints started by checkpoint_timeout.")
    package static let checkpointsRequested = instance(
        "checkpoints_requested", "CheckpointsRequested", kind: .counter,
        source: "pg_stat_bgwriter.checkpoints_req; pg_stat_checkpointer.num_requested (17)",
        widget: "Checkpoints", statistic: "Sum",
        "Checkpoints forced before their time, mostly because max_wal_size filled: many of them mean write bursts larger than the WAL allows."
    )
    package static let checkpointBuffers = instance(
        "checkpoint_buffers", "BuffersWrittenByCheckpoints", kind: .counter,
        source: "pg_stat_bgwriter.buffers_checkpoint; pg_stat_checkpointer.buffers_written (17)",
        widget: "Buffer writes", statistic: "Sum", "Shared buffers written by checkpoints.")
    package static let cleanBuffers = instance(
        "clean_buffers", "BuffersWrittenByBackgroundWriter", kind: .counter, source: "pg_stat_bgwriter.buffers_clean",
        widget: "Buffer writes", statistic: "Sum", "Shared buffers written by the background writer.")
    package static let walRecords = instance(
        "wal_records", "WALRecords", kind: .counter, source: "pg_stat_wal.wal_records (14+)", widget: "WAL",
        statistic: "Sum",
        "WAL records generated.")
    package static let walBytes = instance(
        "wal_bytes", "WALBytes", kind: .counter, unit: .bytes, source: "pg_stat_wal.wal_bytes (14+)",
        widget: "WAL bytes", statistic: "Sum",
        "Bytes of WAL generated: what replicas and backups must carry.")
    package static let walBuffersFull = instance(
        "wal_buffers_full", "WALBuffersFull", kind: .counter, source: "pg_stat_wal.wal_buffers_full (14+)",
        widget: "WAL", statistic: "Sum",
        "Times WAL was written to disk because wal_buffers was full.")
    package static let archived = instance(
        "archived", "WALFilesArchived", kind: .counter, source: "pg_stat_archiver.archived_count",
        widget: "WAL archiving", statistic: "Sum",
        "WAL files archived.")
    package static let archiveFailures = instance(
        "archive_failures", "WALArchiveFailures", kind: .counter, source: "pg_stat_archiver.failed_count",
        widget: "WAL archiving",
        statistic: "Sum",
        "Failed attempts to archive a WAL file: WAL piles up on the primary until archiving works again.")
    package static let replicationWriteLag = instance(
        "replication.write_lag", "ReplicationWriteLag", kind: .gauge, unit: .seconds,
        source: "pg_stat_replication.write_lag",
        widget: "Replication lag", statistic: "Maximum", extra: ["Replica"],
        "Time until the standby had written recent WAL.")
    package static let replicationFlushLag = instance(
        "replication.flush_lag", "ReplicationFlushLag", kind: .gauge, unit: .seconds,
        source: "pg_stat_replication.flush_lag",
        widget: "Replication lag", statistic: "Maximum", extra: ["Replica"],
        "Time until the standby had flushed recent WAL to disk.")
    package static let replicationReplayLag = instance(
        "replication.replay_lag", "ReplicationReplayLag", kind: .gauge, unit: .seconds,
        source: "pg_stat_replication.replay_lag",
        widget: "Replication lag", statistic: "Maximum", extra: ["Replica"],
        "Time until the standby had replayed recent WAL: how stale a read on that replica can be.")
    package static let replicationBytesBehind = instance(
        "replication.bytes_behind", "ReplicationBytesBehind", kind: .gauge, unit: .bytes,
        source: "pg_wal_lsn_diff(pg_current_wal_lsn(), pg_stat_replication.replay_lsn)",
        widget: "Replication bytes behind",
        statistic: "Maximum", extra: ["Replica"], "WAL the standby has not replayed yet.")
    package static let replicaReplayLag = instance(
        "replica_replay_lag", "ReplicaReplayLag", kind: .gauge, unit: .seconds,
        source: "now() - pg_last_xact_replay_timestamp(), on a standby",
        widget: "Replication lag", statistic: "Maximum",
        "On a standby (a read replica): time since the last transaction it replayed. With no writes on the primary it grows too."
    )
    package static let slotRetainedBytes = instance(
        "slot_retained", "ReplicationSlotRetainedWAL", kind: .gauge, unit: .bytes,
        source: "pg_wal_lsn_diff(pg_current_wal_lsn(), pg_replication_slots.restart_lsn)", widget: "Replication slots",
        statistic: "Maximum",
        extra: ["Slot"], "WAL a replication slot keeps on the primary. An abandoned slot grows it until the disk fills."
    )

    package static let instanceMetrics: [MetricDefinition] = [
        checkpointsTimed, checkpointsRequested, checkpointBuffers, cleanBuffers, walRecords, walBytes, walBuffersFull,
        archived,
        archiveFailures, replicationWriteLag, replicationFlushLag, replicationReplayLag, replicationBytesBehind,
        replicaReplayLag,
        slotRetainedBytes,
    ]

    /// The `pg_stat_database` counters, with their column names, in the order they are sampled.
    package static let databaseCounters: [(column: String, definition: MetricDefinition)] = [
        ("xact_commit", commits), ("xact_rollback", rollbacks), ("blks_hit", blocksHit), ("blks_read", blocksRead),
        ("tup_returned", tuplesReturned), ("tup_fetched", tuplesFetched), ("tup_inserted", tuplesInserted),
        ("tup_updated", tuplesUpdated), ("tup_deleted", tuplesDeleted), ("deadlocks", deadlocks),
        ("temp_files", tempFiles), ("temp_bytes", tempBytes),
    ]

    package static let all: [MetricDefinition] =
        databaseCounters.map(\.definition) + [
            conflicts, connections, sessionsWaiting, sessionsByApplication, blockedSessions, oldestTransactionAge,
            longestQueryAge,
            longestIdleInTransactionAge, locks, databaseSize, xidAge, mxidAge,
        ] + tableMetrics + statementMetrics + instanceMetrics
}
