/// How to reach one database, and the limits every sampling query runs under.
public struct PostgresConnectionSettings: Sendable, Equatable {
    public var host: String
    public var port: Int
    package var database: String
    public var user: String
    /// Never logged; the description shows `<redacted>`.
    package var password: String?
    /// libpq's `sslmode` (`disable`, `prefer`, `require`, `verify-full`, ...).
    package var sslMode: String
    /// libpq's `sslrootcert`: the CA bundle a `verify-ca` or `verify-full` connection checks the
    /// server against (for RDS, AWS's global bundle, `global-bundle.pem`).
    package var sslRootCert: String?
    package var connectTimeoutSeconds: Int
    /// `statement_timeout` of every sampling query, in milliseconds: sampling can never hold the
    /// database for longer.
    package var statementTimeoutMilliseconds: Int
    /// `lock_timeout`, in milliseconds: sampling never queues behind a lock for longer.
    package var lockTimeoutMilliseconds: Int

    public init(
        host: String, port: Int = 5432, database: String, user: String, password: String? = nil,
        sslMode: String = "prefer", connectTimeoutSeconds: Int = 5, statementTimeoutMilliseconds: Int = 5000,
        lockTimeoutMilliseconds: Int = 1000
    ) {
        self.host = host
        self.port = port
        self.database = database
        self.user = user
        self.password = password
        self.sslMode = sslMode
        self.connectTimeoutSeconds = connectTimeoutSeconds
        self.statementTimeoutMilliseconds = statementTimeoutMilliseconds
        self.lockTimeoutMilliseconds = lockTimeoutMilliseconds
    }

    /// The application name the agent's sessions carry, so they can be told apart (and left out
    /// of the agent's own counts).
    package static let applicationName = "obs-agent"

    /// `user@host:port/database`, for messages.
    package var target: String { "\(user)@\(host):\(port)/\(database)" }

    /// libpq keyword/value pairs.
    var libpqParameters: [(String, String)] {
        var parameters: [(String, String)] = [
            ("host", host), ("port", String(port)), ("dbname", database), ("user", user),
            ("sslmode", sslMode), ("connect_timeout", String(connectTimeoutSeconds)),
            ("application_name", Self.applicationName),
            (
                "options",
                "-c statement_timeout=\(statementTimeoutMilliseconds) -c lock_timeout=\(lockTimeoutMilliseconds)"
            ),
        ]
        if let sslRootCert { parameters.append(("sslrootcert", sslRootCert)) }
        if let password { parameters.append(("password", password)) }
        return parameters
    }
}

extension PostgresConnectionSettings: CustomStringConvertible {
    public var description: String {
        "PostgresConnectionSettings(\(target), password: \(password == nil ? "none" : "<redacted>"), sslmode: \(sslMode))"
    }
}
