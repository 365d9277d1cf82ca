import CLibPQ
import FoundationEssentials

#if canImport(Glibc)
    import Glibc
#endif

/// One libpq connection. Every call blocks: use it from one thread at a time (``PostgresSource``
/// runs it on a ``BlockingExecutor``). The connection is closed when the value goes away.
public final class PostgresConnection: @unchecked Sendable {
    private let connection: OpaquePointer
    package let settings: PostgresConnectionSettings
    /// The name each query was prepared under on this connection (nil: run as it is).
    private var prepared: [String: String?] = [:]
    /// Set when the server lost a prepared statement (a pooler in transaction mode hands the
    /// session's statements to other clients): from then on every query runs as it is.
    private var preparing = true

    /// Connects, or throws ``PostgresError/connectFailed(target:message:)`` with libpq's reason.
    public init(_ settings: PostgresConnectionSettings) throws(PostgresError) {
        self.settings = settings
        let parameters = settings.libpqParameters
        let keywords = parameters.map { strdup($0.0) }
        let values = parameters.map { strdup($0.1) }
        defer {
            for keyword in keywords { free(keyword) }
            for value in values { free(value) }
        }
        let keywordArray = keywords.map { UnsafePointer($0) } + [nil]
        let valueArray = values.map { UnsafePointer($0) } + [nil]
        guard let connection = PQconnectdbParams(keywordArray, valueArray, 0) else {
            throw .connectFailed(target: settings.target, message: "out of memory")
        }
        guard PQstatus(connection) == CONNECTION_OK else {
            let message = PostgresError.oneLine(String(cString: PQerrorMessage(connection)))
            PQfinish(connection)
            throw .connectFailed(target: settings.target, message: message)
        }
        self.connection = connection
    }

    deinit {
        PQfinish(connection)
    }

    /// Whether the connection is still usable.
    package var isHealthy: Bool { PQstatus(connection) == CONNECTION_OK }

    /// The server's version as an integer (150004 for 15.4).
    package var serverVersion: Int { Int(PQserverVersion(connection)) }

    /// Runs `sql` (no parameters) and returns its rows as text. The first time a query runs on a
    /// connection it is prepared, and then executed by name: the server parses and plans it once
    /// instead of at every sample (the planning of the catalog views was half of what a sample
    /// cost the server). A query the server will not prepare runs as it is, and so does every
    /// query once the server lost one (a pooler in transaction mode).
    /// `prepare: false` runs a one-off query as it is.
    public func query(_ sql: String, prepare: Bool = true) throws(PostgresError) -> PostgresRows {
        let name = preparing && prepare ? statementName(sql) : nil
        let result: OpaquePointer?
        if let name {
            result = PQexecPrepared(connection, name, 0, nil, nil, nil, 0)
            if let result, PQresultStatus(result) == PGRES_FATAL_ERROR, Self.sqlState(result) == "26000" {
                PQclear(result)
                preparing = false
                return try query(sql)
            }
        } else {
            result = PQexec(connection, sql)
        }
        guard let result else {
            throw .connectionLost(message: PostgresError.oneLine(String(cString: PQerrorMessage(connection))))
        }
        return try rows(of: result)
    }

    /// The name `sql` is prepared under, preparing it now if it is new; nil when the server
    /// refused it (the caller runs it as it is, and so gets the server's reason if it is wrong).
    private func statementName(_ sql: String) -> String? {
        if let known = prepared[sql] { return known }
        let name = "obs_\(prepared.count)"
        let result = PQprepare(connection, name, sql, 0, nil)
        let ok = result.map { PQresultStatus($0) == PGRES_COMMAND_OK } ?? false
        PQclear(result)
        guard ok || PQstatus(connection) != CONNECTION_OK else {
            prepared[sql] = .some(nil)
            return nil
        }
        prepared[sql] = name
        return name
    }

    private static func sqlState(_ result: OpaquePointer) -> String? {
        PQresultErrorField(result, Int32(UInt8(ascii: "C"))).map { String(cString: $0) }
    }

    private func rows(of result: OpaquePointer) throws(PostgresError) -> PostgresRows {
        defer { PQclear(result) }
        let status = PQresultStatus(result)
        guard status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK else {
            let message = PostgresError.oneLine(String(cString: PQresultErrorMessage(result)))
            if PQstatus(connection) != CONNECTION_OK { throw .connectionLost(message: message) }
            throw .queryFailed(sqlState: Self.sqlState(result), message: message)
        }
        let rowCount = Int(PQntuples(result))
        let columnCount = Int(PQnfields(result))
        let columns = (0..<columnCount).map { String(cString: PQfname(result, Int32($0))) }
        var rows: [[String?]] = []
        rows.reserveCapacity(rowCount)
        for r in 0..<rowCount {
            var row: [String?] = []
            row.reserveCapacity(columnCount)
            for c in 0..<columnCount {
                if PQgetisnull(result, Int32(r), Int32(c)) != 0 {
                    row.append(nil)
                } else {
                    row.append(String(cString: PQgetvalue(result, Int32(r), Int32(c))))
                }
            }
            rows.append(row)
        }
        return PostgresRows(columns: columns, rows: rows)
    }
}

/// A query's result, as text values by row and column.
public struct PostgresRows: Sendable, Equatable {
    package var columns: [String]
    public var rows: [[String?]]

    /// The value of `column` in row `row`, as a number; nil when NULL or not a number.
    package func double(_ row: Int, _ column: String) -> Double? {
        guard let c = columns.firstIndex(of: column), let text = rows[row][c] else { return nil }
        return Double(text)
    }

    package func string(_ row: Int, _ column: String) -> String? {
        guard let c = columns.firstIndex(of: column) else { return nil }
        return rows[row][c]
    }
}
