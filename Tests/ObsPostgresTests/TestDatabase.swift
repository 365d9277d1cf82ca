import Foundation
import Logging
import Synchronization
import Testing

@testable import ObsPostgres

/// The PostgreSQL that scripts/test starts (OBS_TEST_PG_*); tests that need it are skipped, with
/// that reason, when run outside it.
enum TestDatabase {
    static let environment = ProcessInfo.processInfo.environment
    static let isAvailable = environment["OBS_TEST_PG_PORT"] != nil
    static let skipReason: Comment = "needs the PostgreSQL that scripts/test starts (OBS_TEST_PG_*)"

    static var port: Int { Int(environment["OBS_TEST_PG_PORT"] ?? "") ?? 5432 }
    static var password: String { environment["OBS_TEST_PG_PASSWORD"] ?? "" }

    /// The agent's role (pg_monitor) on `database`.
    static func agentSettings(database: String = "microservices_ecom") -> PostgresConnectionSettings {
        PostgresConnectionSettings(
            host: "127.0.0.1", port: port, database: database, user: environment["OBS_TEST_PG_USER"] ?? "obs_agent",
            password: password)
    }

    /// The superuser, for creating load and databases.
    static func superuser(database: String = "microservices_ecom") throws -> PostgresConnection {
        try PostgresConnection(
            PostgresConnectionSettings(
                host: "127.0.0.1", port: port, database: database, user: "postgres",
                password: environment["OBS_TEST_PG_SUPERPASSWORD"]))
    }
}

/// Keeps every log message and its metadata as one line, for tests to search.
final class RecordingLogHandler: LogHandler, @unchecked Sendable {
    let lines = Mutex([String]())
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let all = metadata.merging(event.metadata ?? [:]) { $1 }
        lines.withLock { $0.append("\(event.level) \(event.message) \(all.sorted { $0.key < $1.key })") }
    }

    var all: [String] { lines.withLock { $0 } }
}
