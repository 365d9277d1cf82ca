import FoundationEssentials
import ObsCore

#if canImport(Glibc)
    import Glibc
#endif

/// A libpq failure, with the server's or libpq's message. Messages never contain the password:
/// libpq does not echo it, and the agent's log handler redacts every configured secret besides.
public enum PostgresError: Error, Sendable, CustomStringConvertible, Equatable {
    /// The connection could not be made (host unreachable, wrong password, no such database).
    case connectFailed(target: String, message: String)
    /// A query failed; `sqlState` is the five-character SQLSTATE when the server sent one.
    case queryFailed(sqlState: String?, message: String)
    /// The connection dropped and must be made again.
    case connectionLost(message: String)

    public var description: String {
        switch self {
        case .connectFailed(let target, let message): return "postgres \(target): connect failed: \(message)"
        case .queryFailed(let state, let message):
            return "postgres query failed (\(state ?? "no SQLSTATE")): \(message)"
        case .connectionLost(let message): return "postgres connection lost: \(message)"
        }
    }

    /// libpq messages end with a newline and may span lines; keep one line.
    static func oneLine(_ message: String) -> String {
        message.split(whereSeparator: \.isNewline).map { $0.trimmingBlanks() }
            .filter { !$0.isEmpty }.joined(separator: " ")
    }
}
