import ObsCatalog
import ObsCore

/// Samples `pg_stat_user_tables` and `pg_statio_user_tables`: each interval, the `top` tables with
/// the most rows read and written get series of their own (Table=schema.name) and every other
/// table is summed into Table=other, so the cost in custom metrics stays bounded however many
/// tables the database has.
struct TableStatsSampler {
    struct Counters {
        var seqScans, seqRows, indexScans, indexRows, rowsWritten, blocksHit, blocksRead: Double
    }

    /// What one series (a table, or `other`) gets this interval.
    struct Group {
        var seqScans = 0.0, seqRows = 0.0, indexScans = 0.0, rowsWritten = 0.0
        var live = 0.0, dead = 0.0
        var sinceVacuum: Double?
        var sinceAnalyze: Double?
        var hit = 0.0, read = 0.0
        var hasDeltas = false
    }

    static let other = "other"

    let dimensions: Dimensions
    let recorder: Recorder
    let producer: Producer
    /// Tables with series of their own each interval.
    let top: Int
    /// Tables read per sample at most (the busiest by cumulative activity).
    let limit: Int
    private(set) var queries = PostgresQueries(serverVersion: 150000)
    private var previous: [String: Counters] = [:]
    private var cache: SeriesCache

    init(instance: String, database: String, top: Int, limit: Int = 500, recorder: Recorder, producer: Producer) {
        self.dimensions = Dimensions([("DBInstance", instance), ("Database", database)])
        self.top = top
        self.limit = max(limit, top)
        self.recorder = recorder
        self.producer = producer
        self.cache = SeriesCache(recorder: recorder, dimensions: dimensions)
    }

    mutating func connected(serverVersion: Int) {
        queries = PostgresQueries(serverVersion: serverVersion)
        previous = [:]
    }

    private mutating func series(_ definition: MetricDefinition, table: String) -> SeriesID {
        cache.id(definition, [("Table", table)])
    }

    @discardableResult
    mutating func sample(_ connection: PostgresConnection) throws(PostgresError) -> Int {
        let rows = try connection.query(queries.tables(limit: limit))
        var tables: [(name: String, activity: Double, group: Group)] = []
        var seen: [String: Counters] = [:]
        for row in rows.rows.indices {
            guard let name = rows.string(row, "table_name") else { continue }
            func value(_ column: String) -> Double { rows.double(row, column) ?? 0 }
            let now = Counters(
                seqScans: value("seq_scan"), seqRows: value("seq_tup_read"), indexScans: value("idx_scan"),
                indexRows: value("idx_tup_fetch"),
                rowsWritten: value("rows_written"), blocksHit: value("blks_hit"), blocksRead: value("blks_read"))
            seen[name] = now
            var group = Group(live: value("n_live_tup"), dead: value("n_dead_tup"))
            if value("since_vacuum") >= 0 { group.sinceVacuum = value("since_vacuum") }
            if value("since_analyze") >= 0 { group.sinceAnalyze = value("since_analyze") }
            var activity = 0.0
            if let before = previous[name] {
                // A counter that went down (a reset, a truncate) restarts from its new value.
                func delta(_ a: Double, _ b: Double) -> Double { a >= b ? a - b : a }
                group.seqScans = delta(now.seqScans, before.seqScans)
                group.seqRows = delta(now.seqRows, before.seqRows)
                group.indexScans = delta(now.indexScans, before.indexScans)
                group.rowsWritten = delta(now.rowsWritten, before.rowsWritten)
                group.hit = delta(now.blocksHit, before.blocksHit)
                group.read = delta(now.blocksRead, before.blocksRead)
                group.hasDeltas = true
                activity = group.seqRows + delta(now.indexRows, before.indexRows) + group.rowsWritten
            }
            tables.append((name, activity, group))
        }
        previous = seen
        // The busiest by this interval's activity; on the first sample, the query's own order.
        let ranked = tables.enumerated().sorted { a, b in
            a.element.activity != b.element.activity ? a.element.activity > b.element.activity : a.offset < b.offset
        }.map(\.element)
        var groups: [(String, Group)] = ranked.prefix(top).map { ($0.name, $0.group) }
        if ranked.count > top {
            var other = Group()
            for table in ranked.dropFirst(top) {
                let g = table.group
                other.seqScans += g.seqScans
                other.seqRows += g.seqRows
                other.indexScans += g.indexScans
                other.rowsWritten += g.rowsWritten
                other.live += g.live
                other.dead += g.dead
                other.hit += g.hit
                other.read += g.read
                other.hasDeltas = other.hasDeltas || g.hasDeltas
                if let v = g.sinceVacuum { other.sinceVacuum = max(other.sinceVacuum ?? 0, v) }
                if let a = g.sinceAnalyze { other.sinceAnalyze = max(other.sinceAnalyze ?? 0, a) }
            }
            groups.append((Self.other, other))
        }
        var recorded = 0
        for (name, group) in groups {
            func record(_ definition: MetricDefinition, _ value: Double, weight: Double = 1) {
                producer.record(series(definition, table: name), value, weight: weight)
                recorded += 1
            }
            if group.hasDeltas {
                record(PostgresMetrics.tableSeqScans, group.seqScans)
                record(PostgresMetrics.tableSeqRowsRead, group.seqRows)
                record(PostgresMetrics.tableIndexScans, group.indexScans)
                record(PostgresMetrics.tableRowsWritten, group.rowsWritten)
                if group.hit + group.read > 0 {
                    record(
                        PostgresMetrics.tableCacheHitRatio, group.hit / (group.hit + group.read) * 100,
                        weight: group.hit + group.read)
                }
            }
            if group.live + group.dead > 0 {
                record(PostgresMetrics.tableDeadTupleRatio, group.dead / (group.live + group.dead) * 100)
            }
            if let v = group.sinceVacuum { record(PostgresMetrics.tableSinceVacuum, v) }
            if let a = group.sinceAnalyze { record(PostgresMetrics.tableSinceAnalyze, a) }
        }
        return recorded
    }
}
