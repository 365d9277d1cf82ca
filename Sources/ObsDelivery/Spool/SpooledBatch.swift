#if canImport(Glibc)
import Glibc
#endif
import FoundationEssentials

/// A batch as the spool keeps it: what kind of request it is, what it carries, and the bytes.
public struct SpooledBatch: Sendable, Equatable {
    /// The kind of request the payload is (`put-metric-data`, `put-log-events`, `put-trace-segments`).
    public var kind: String
    /// Seconds since the epoch when the batch was accepted.
    public var created: Int64
    /// How many items (datums, log events, segments) it carries: what a drop of it loses.
    public var items: Int
    /// What the sender needs besides the payload (a namespace, a log group and stream).
    public var attributes: [String: String]
    public var payload: [UInt8]

    public init(kind: String, created: Int64, items: Int, attributes: [String: String] = [:], payload: [UInt8]) {
        self.kind = kind
        self.created = created
        self.items = items
        self.attributes = attributes
        self.payload = payload
    }
}

/// The header of a batch file, as JSON.
struct SpoolHeader: Codable {
    var kind: String
    var created: Int64
    var items: Int
    var attributes: [String: String]
}

/// A batch's position in the spool: its sequence number, oldest first.
public struct SpoolBatchID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let sequence: UInt64
    public static func < (lhs: SpoolBatchID, rhs: SpoolBatchID) -> Bool { lhs.sequence < rhs.sequence }
    public var description: String { String(sequence) }
}

/// Why the spool could not do what was asked.
public struct SpoolError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { "spool: \(message)" }
}
