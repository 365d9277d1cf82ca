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

    /// Runs `sql` (no parameters) and returns its rows as text.
    public func query(_ sql: String) throws(PostgresError) -> PostgresRows {
        guard let result = PQexec(connection, sql) else {
            throw .connectionLost(message: PostgresError.oneLine(String(cString: PQerrorMessage(connection))))
        }
        defer { PQclear(result) }
        let status = PQresultStatus(result)
        guard status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK else {
            let message = PostgresError.oneLine(String(cString: PQresultErrorMessage(result)))
            if PQstatus(connection) != CONNECTION_OK { throw .connectionLost(message: message) }
            let state = PQresultErrorField(result, Int32(UInt8(ascii: "C"))).map { String(cString: $0) }
            throw .queryFailed(sqlState: state, message: message)
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
