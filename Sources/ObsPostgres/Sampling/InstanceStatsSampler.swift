import ObsCatalog
import ObsCore

/// Samples the views that describe the whole server rather than one database: checkpoints and
/// buffer writes, WAL, archiving, replication (lag per standby as the primary sees it, or the
/// replay lag of this server when it is a standby) and replication slots. One source per instance
/// does this (the first configured database of it), so nothing is counted twice.
struct InstanceStatsSampler {
    let dimensions: Dimensions
    let recorder: Recorder
    let producer: Producer
    private(set) var queries = PostgresQueries(serverVersion: 150000)
    private var counters = CounterTracker<String>()
    private var resetEpochs: [String: Double] = [:]
    private var cache: SeriesCache

    init(instance: String, recorder: Recorder, producer: Producer) {
        self.dimensions = Dimensions([("DBInstance", instance)])
        self.recorder = recorder
        self.producer = producer
        self.cache = SeriesCache(recorder: recorder, dimensions: dimensions)
    }

    mutating func connected(serverVersion: Int) {
        queries = PostgresQueries(serverVersion: serverVersion)
        counters.reset()
        resetEpochs = [:]
    }

    private mutating func series(_ definition: MetricDefinition, _ extra: [(String, String)] = []) -> SeriesID {
        cache.id(definition, extra)
    }

    @discardableResult
    mutating func sample(_ connection: PostgresConnection) throws(PostgresError) -> Int {
        var recorded = 0
        recorded += try counterView(
            connection, queries.checkpoints, "checkpoints",
            [
                ("timed", PostgresMetrics.checkpointsTimed), ("requested", PostgresMetrics.checkpointsRequested),
                ("checkpoint_buffers", PostgresMetrics.checkpointBuffers),
                ("clean_buffers", PostgresMetrics.cleanBuffers),
            ])
        if let wal = queries.wal {
            recorded += try counterView(
                connection, wal, "wal",
                [
                    ("wal_records", PostgresMetrics.walRecords), ("wal_bytes", PostgresMetrics.walBytes),
                    ("wal_buffers_full", PostgresMetrics.walBuffersFull),
                ])
        }
        recorded += try counterView(
            connection, queries.archiver, "archiver",
            [
                ("archived_count", PostgresMetrics.archived), ("failed_count", PostgresMetrics.archiveFailures),
            ])

        let replication = try connection.query(queries.replication)
        for row in replication.rows.indices {
            let replica = replication.string(row, "replica") ?? "unknown"
            for (column, definition) in [
                ("write_lag", PostgresMetrics.replicationWriteLag), ("flush_lag", PostgresMetrics.replicationFlushLag),
                ("replay_lag", PostgresMetrics.replicationReplayLag),
                ("bytes_behind", PostgresMetrics.replicationBytesBehind),
            ] {
                guard let value = replication.double(row, column) else { continue }
                producer.record(series(definition, [("Replica", replica)]), value)
                recorded += 1
            }
        }
        let recovery = try connection.query(queries.recovery)
        if recovery.string(0, "standby") == "t", let lag = recovery.double(0, "replay_lag") {
            producer.record(series(PostgresMetrics.replicaReplayLag), lag)
            recorded += 1
        }
        let slots = try connection.query(queries.slots)
        for row in slots.rows.indices {
            guard let slot = slots.string(row, "slot_name"), let retained = slots.double(row, "retained_bytes") else {
                continue
            }
            producer.record(series(PostgresMetrics.slotRetainedBytes, [("Slot", slot)]), retained)
            recorded += 1
        }
        return recorded
    }

    /// A one-row view of counters with a `stats_reset` column: deltas, with the baselines dropped
    /// when `stats_reset` changed.
    private mutating func counterView(
        _ connection: PostgresConnection, _ sql: String, _ view: String, _ columns: [(String, MetricDefinition)]
    ) throws(PostgresError) -> Int {
        let rows = try connection.query(sql)
        guard !rows.rows.isEmpty else { return 0 }
        let reset = rows.double(0, "stats_reset") ?? 0
        if let previous = resetEpochs[view], previous != reset {
            for (column, _) in columns { counters.forget("\(view).\(column)") }
            recorder.selfMetrics.count(.counterReset)
        }
        resetEpochs[view] = reset
        var recorded = 0
        for (column, definition) in columns {
            guard let value = rows.double(0, column) else { continue }
            let resetsBefore = counters.resets
            if let delta = counters.delta("\(view).\(column)", value) {
                producer.record(series(definition), delta)
                recorded += 1
            }
            if counters.resets > resetsBefore { recorder.selfMetrics.count(.counterReset) }
        }
        return recorded
    }
}
