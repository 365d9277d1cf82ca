import ObsCatalog

/// The sampling queries for one server, chosen by `server_version_num` (PostgreSQL 12 to 17):
/// columns and views that were added or renamed are picked here, once per connection, so a
/// sampler never sends a query its server cannot run. Every query reads only what `pg_monitor`
/// may read, and the agent's own session is never counted.
public struct PostgresQueries: Sendable, Equatable {
    package let serverVersion: Int

    /// The oldest and newest major versions the queries are written for.
    package static let supported = 120000..<180000

    package init(serverVersion: Int) {
        self.serverVersion = serverVersion
    }

    package var major: Int { serverVersion / 10000 }

    /// `pg_stat_database` of the connected database: its counters, when its statistics were last
    /// reset, and the server's start time (both reset every counter), with the database's
    /// transaction id ages from `pg_database`. Recovery conflicts are summed from
    /// `pg_stat_database_conflicts` (`confl_active_logicalslot` exists from 16).
    package var database: String {
        let counters = PostgresMetrics.databaseCounters.map { "d.\($0.column)" }.joined(separator: ", ")
        let conflicts =
            (["confl_tablespace", "confl_lock", "confl_snapshot", "confl_bufferpin", "confl_deadlock"]
            + (major >= 16 ? ["confl_active_logicalslot"] : [])).map { "c.\($0)" }.joined(separator: " + ")
        return """
            SELECT \(counters), \(conflicts) AS conflicts,
              coalesce(extract(epoch FROM d.stats_reset), 0) AS stats_reset,
              extract(epoch FROM pg_postmaster_start_time()) AS started,
              age(db.datfrozenxid) AS xid_age, mxid_age(db.datminmxid) AS mxid_age
            FROM pg_stat_database d
            JOIN pg_stat_database_conflicts c ON c.datid = d.datid
            JOIN pg_database db ON db.oid = d.datid
            WHERE d.datname = current_database()
            """
    }

    /// The connected database's size on disk. The server finds it by listing every file of the
    /// database (half of what a sample cost it), so it is read at most once a minute.
    package var databaseSize: String {
        "SELECT pg_database_size(current_database()) AS size_bytes"
    }

    /// Client sessions of the connected database by state, wait event type and application, with
    /// how many are blocked by another session's lock and the age of the oldest transaction,
    /// running query and idle transaction in each group.
    package var activity: String {
        """
        SELECT coalesce(state, 'unknown') AS state, coalesce(wait_event_type, 'none') AS wait_event_type,
          coalesce(nullif(application_name, ''), 'unknown') AS application, count(*) AS sessions,
          count(*) FILTER (WHERE cardinality(pg_blocking_pids(pid)) > 0) AS blocked,
          coalesce(max(extract(epoch FROM clock_timestamp() - xact_start)), 0) AS oldest_xact,
          coalesce(max(extract(epoch FROM clock_timestamp() - query_start)) FILTER (WHERE state = 'active'), 0) AS longest_query,
          coalesce(max(extract(epoch FROM clock_timestamp() - state_change)) FILTER (WHERE state LIKE 'idle in transaction%'), 0) AS longest_idle_xact
        FROM pg_stat_activity
        WHERE datname = current_database() AND backend_type = 'client backend' AND pid <> pg_backend_pid()
        GROUP BY 1, 2, 3
        """
    }

    /// Locks held or awaited by the connected database's sessions (row-level waits are waits on a
    /// transaction id, which belong to no database), by mode and whether granted; the agent's own
    /// session excluded.
    package var locks: String {
        """
        SELECT l.mode, l.granted, count(*) AS locks
        FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
        WHERE a.datname = current_database() AND l.pid <> pg_backend_pid()
        GROUP BY 1, 2
        """
    }

    // MARK: Instance-wide views, sampled through one connection per instance

    /// Checkpoints and buffer writes: `pg_stat_checkpointer` from 17 (with the background writer's
    /// `buffers_clean`), `pg_stat_bgwriter` before.
    package var checkpoints: String {
        if major >= 17 {
            return """
                SELECT c.num_timed AS timed, c.num_requested AS requested, c.buffers_written AS checkpoint_buffers,
                  b.buffers_clean AS clean_buffers, coalesce(extract(epoch FROM c.stats_reset), 0) AS stats_reset
                FROM pg_stat_checkpointer c, pg_stat_bgwriter b
                """
        }
        return """
            SELECT checkpoints_timed AS timed, checkpoints_req AS requested, buffers_checkpoint AS checkpoint_buffers,
              buffers_clean AS clean_buffers, coalesce(extract(epoch FROM stats_reset), 0) AS stats_reset
            FROM pg_stat_bgwriter
            """
    }

    /// WAL generated (`pg_stat_wal`, from 14; nil before).
    package var wal: String? {
        major >= 14
            ? "SELECT wal_records, wal_bytes, wal_buffers_full, coalesce(extract(epoch FROM stats_reset), 0) AS stats_reset FROM pg_stat_wal"
            : nil
    }

    /// WAL archiving.
    package var archiver: String {
        "SELECT archived_count, failed_count, coalesce(extract(epoch FROM stats_reset), 0) AS stats_reset FROM pg_stat_archiver"
    }

    /// Each standby's lag as the primary sees it (on a standby, no rows), and bytes of WAL not yet
    /// replayed there.
    package var replication: String {
        """
        SELECT coalesce(nullif(application_name, ''), client_addr::text, 'unknown') AS replica,
          coalesce(extract(epoch FROM write_lag), 0) AS write_lag, coalesce(extract(epoch FROM flush_lag), 0) AS flush_lag,
          coalesce(extract(epoch FROM replay_lag), 0) AS replay_lag,
          CASE WHEN pg_is_in_recovery() THEN 0 ELSE coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn), 0) END AS bytes_behind
        FROM pg_stat_replication
        """
    }

    /// Whether this server is a standby, and then how long ago it replayed the last transaction.
    package var recovery: String {
        """
        SELECT pg_is_in_recovery() AS standby,
          CASE WHEN pg_is_in_recovery() THEN coalesce(extract(epoch FROM clock_timestamp() - pg_last_xact_replay_timestamp()), 0) END AS replay_lag
        """
    }

    /// WAL each replication slot keeps on the primary's disk.
    package var slots: String {
        """
        SELECT slot_name, active,
          CASE WHEN pg_is_in_recovery() OR restart_lsn IS NULL THEN 0 ELSE pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn) END AS retained_bytes
        FROM pg_replication_slots
        """
    }

    // MARK: Tables

    /// User tables with their scan, row and vacuum statistics and block I/O, the busiest first
    /// (at most `limit`, so a database with thousands of tables costs no more than a few hundred).
    package func tables(limit: Int) -> String {
        """
        SELECT s.schemaname || '.' || s.relname AS table_name, s.seq_scan, s.seq_tup_read,
          coalesce(s.idx_scan, 0) AS idx_scan, coalesce(s.idx_tup_fetch, 0) AS idx_tup_fetch,
          s.n_tup_ins + s.n_tup_upd + s.n_tup_del AS rows_written, s.n_live_tup, s.n_dead_tup,
          coalesce(extract(epoch FROM clock_timestamp() - greatest(s.last_vacuum, s.last_autovacuum)), -1) AS since_vacuum,
          coalesce(extract(epoch FROM clock_timestamp() - greatest(s.last_analyze, s.last_autoanalyze)), -1) AS since_analyze,
          coalesce(io.heap_blks_hit, 0) + coalesce(io.idx_blks_hit, 0) AS blks_hit,
          coalesce(io.heap_blks_read, 0) + coalesce(io.idx_blks_read, 0) AS blks_read
        FROM pg_stat_user_tables s JOIN pg_statio_user_tables io ON io.relid = s.relid
        ORDER BY s.seq_tup_read + coalesce(s.idx_tup_fetch, 0) + s.n_tup_ins + s.n_tup_upd + s.n_tup_del DESC
        LIMIT \(limit)
        """
    }

    // MARK: Statements

    /// `pg_stat_statements` of the connected database, summed over users by `queryid`, the most
    /// time-consuming first (at most `limit`): `total_exec_time` from 13, `total_time` before.
    /// Block columns are the same in every supported version. Without the statements' texts
    /// (`pg_stat_statements(false)`): the server keeps them in a file it would read whole at
    /// every sample; ``statementTexts(_:)`` fetches the few that are new.
    package func statements(limit: Int) -> String {
        let total = major >= 13 ? "total_exec_time" : "total_time"
        return """
            SELECT queryid::text AS queryid, sum(calls) AS calls, sum(\(total)) AS total_ms, sum(rows) AS rows,
              sum(shared_blks_hit) AS blks_hit, sum(shared_blks_read) AS blks_read
            FROM pg_stat_statements(false)
            WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) AND queryid IS NOT NULL
            GROUP BY queryid
            ORDER BY sum(\(total)) DESC
            LIMIT \(limit)
            """
    }

    /// The normalised texts of the statements `queryIDs` (decimal, as ``statements(limit:)``
    /// gives them; anything else is left out) in the connected database.
    package func statementTexts(_ queryIDs: [String]) -> String? {
        let valid = queryIDs.filter { id in
            !id.isEmpty && id.utf8.count <= 21
                && id.utf8.enumerated().allSatisfy { $1 >= 0x30 && $1 <= 0x39 || ($0 == 0 && $1 == 0x2D) }
        }
        guard !valid.isEmpty else { return nil }
        return """
            SELECT queryid::text AS queryid, min(query) AS query
            FROM pg_stat_statements
            WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
              AND queryid IN (\(valid.joined(separator: ", ")))
            GROUP BY queryid
            """
    }

    /// Whether pg_stat_statements is installed in the connected database.
    package var hasStatements: String {
        "SELECT count(*) AS installed FROM pg_extension WHERE extname = 'pg_stat_statements'"
    }
}
