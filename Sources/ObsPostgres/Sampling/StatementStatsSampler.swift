import ObsCatalog
import ObsCore

/// A statement's normalised text, as pg_stat_statements keeps it: sent to CloudWatch Logs once,
/// never used as a dimension (the dimension is its queryid).
public struct StatementText: Sendable, Equatable {
    package var instance: String
    package var database: String
    package var queryID: String
    public var query: String
}

/// Samples `pg_stat_statements`: each interval, the `top` statements that took the most execution
/// time get series of their own (QueryId=<queryid>), every other statement is summed into
/// QueryId=other. A statement's text is handed to `onNewText` the first time the statement gets a
/// series. `pg_stat_statements_reset()` (counters gone or lower) never yields a negative.
struct StatementStatsSampler {
    struct Counters {
        var calls, totalMilliseconds, rows, blocksHit, blocksRead: Double
    }

    static let other = "other"

    let instance: String
    let database: String
    let dimensions: Dimensions
    let recorder: Recorder
    let producer: Producer
    let top: Int
    let limit: Int
    let onNewText: @Sendable ([StatementText]) -> Void
    private(set) var queries = PostgresQueries(serverVersion: 150000)
    private var installed: Bool?
    private var previous: [String: Counters] = [:]
    /// Whether the last sample saw every statement (fewer rows than the limit): then a queryid
    /// not in it is new, and all its counts belong to this interval.
    private var previousWasComplete = false
    private var hasPrevious = false
    private var textSent = Set<String>()
    private var cache: SeriesCache

    init(
        instance: String, database: String, top: Int, limit: Int = 1000, recorder: Recorder, producer: Producer,
        onNewText: @escaping @Sendable ([StatementText]) -> Void
    ) {
        self.instance = instance
        self.database = database
        self.dimensions = Dimensions([("DBInstance", instance), ("Database", database)])
        self.top = top
        self.limit = max(limit, top)
        self.recorder = recorder
        self.producer = producer
        self.onNewText = onNewText
        self.cache = SeriesCache(recorder: recorder, dimensions: dimensions)
    }

    mutating func connected(serverVersion: Int) {
        queries = PostgresQueries(serverVersion: serverVersion)
        previous = [:]
        hasPrevious = false
        installed = nil
    }

    private mutating func series(_ definition: MetricDefinition, _ queryID: String) -> SeriesID {
        cache.id(definition, [("QueryId", queryID)])
    }

    @discardableResult
    mutating func sample(_ connection: PostgresConnection) throws(PostgresError) -> Int {
        if installed == nil {
            installed = (try connection.query(queries.hasStatements).double(0, "installed") ?? 0) > 0
        }
        guard installed == true else { return 0 }
        let rows = try connection.query(queries.statements(limit: limit))
        var current: [String: Counters] = [:]
        var deltas: [(id: String, counters: Counters)] = []
        for row in rows.rows.indices {
            guard let id = rows.string(row, "queryid") else { continue }
            func value(_ column: String) -> Double { rows.double(row, column) ?? 0 }
            let now = Counters(
                calls: value("calls"), totalMilliseconds: value("total_ms"), rows: value("rows"),
                blocksHit: value("blks_hit"),
                blocksRead: value("blks_read"))
            current[id] = now
            // A statement the last complete sample did not have is new: all its counts are this
            // interval's. Otherwise a statement without a baseline only sets one.
            let zero = Counters(calls: 0, totalMilliseconds: 0, rows: 0, blocksHit: 0, blocksRead: 0)
            guard let before = previous[id] ?? (hasPrevious && previousWasComplete ? zero : nil) else { continue }
            if now.calls < before.calls || now.totalMilliseconds < before.totalMilliseconds {
                recorder.selfMetrics.count(.counterReset)
                continue
            }
            deltas.append(
                (
                    id,
                    Counters(
                        calls: now.calls - before.calls,
                        totalMilliseconds: now.totalMilliseconds - before.totalMilliseconds,
                        rows: max(0, now.rows - before.rows), blocksHit: max(0, now.blocksHit - before.blocksHit),
                        blocksRead: max(0, now.blocksRead - before.blocksRead))
                ))
        }
        previous = current
        previousWasComplete = rows.rows.count < limit
        hasPrevious = true
        let active = deltas.filter { $0.counters.calls > 0 }.sorted {
            $0.counters.totalMilliseconds != $1.counters.totalMilliseconds
                ? $0.counters.totalMilliseconds > $1.counters.totalMilliseconds : $0.id < $1.id
        }
        var groups: [(String, Counters)] = active.prefix(top).map { ($0.id, $0.counters) }
        if active.count > top {
            var other = Counters(calls: 0, totalMilliseconds: 0, rows: 0, blocksHit: 0, blocksRead: 0)
            for statement in active.dropFirst(top) {
                other.calls += statement.counters.calls
                other.totalMilliseconds += statement.counters.totalMilliseconds
                other.rows += statement.counters.rows
                other.blocksHit += statement.counters.blocksHit
                other.blocksRead += statement.counters.blocksRead
            }
            groups.append((Self.other, other))
        }
        var recorded = 0
        for (id, counters) in groups {
            producer.record(series(PostgresMetrics.statementCalls, id), counters.calls)
            producer.record(series(PostgresMetrics.statementTotalTime, id), counters.totalMilliseconds)
            producer.record(
                series(PostgresMetrics.statementMeanTime, id), counters.totalMilliseconds / counters.calls,
                weight: counters.calls)
            producer.record(series(PostgresMetrics.statementRows, id), counters.rows)
            producer.record(series(PostgresMetrics.statementBlocksHit, id), counters.blocksHit)
            producer.record(series(PostgresMetrics.statementBlocksRead, id), counters.blocksRead)
            recorded += 6
        }
        try sendNewTexts(of: groups.map(\.0).filter { $0 != Self.other && !textSent.contains($0) }, connection)
        return recorded
    }

    /// Reads the texts of the statements that got a series for the first time, and hands them on.
    private mutating func sendNewTexts(of ids: [String], _ connection: PostgresConnection) throws(PostgresError) {
        guard let sql = queries.statementTexts(ids) else { return }
        let rows = try connection.query(sql, prepare: false)
        var newTexts: [StatementText] = []
        for row in rows.rows.indices {
            guard let id = rows.string(row, "queryid"), let text = rows.string(row, "query"),
                textSent.insert(id).inserted
            else { continue }
            newTexts.append(StatementText(instance: instance, database: database, queryID: id, query: text))
        }
        if !newTexts.isEmpty { onNewText(newTexts) }
    }
}
