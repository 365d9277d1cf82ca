/// A configuration problem, named by where it is (`sources.postgres[0].port`) and what is wrong.
/// Its description is the one line the agent prints before it exits non-zero.
public struct ConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The dotted path of the offending key, or empty for the file as a whole.
    package var path: String
    package var message: String

    package init(_ path: String, _ message: String) {
        self.path = path
        self.message = message
    }

    public var description: String {
        path.isEmpty ? "config: \(message)" : "config: \(path): \(message)"
    }
}
