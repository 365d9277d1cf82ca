import FoundationEssentials

#if canImport(Glibc)
    import Glibc
#endif

/// The header of a batch file, as JSON.
struct SpoolHeader: Codable {
    var kind: String
    var created: Int64
    var items: Int
    var attributes: [String: String]
}

/// A batch's position in the spool: its sequence number, oldest first.
public struct SpoolBatchID: Hashable, Comparable, Sendable, CustomStringConvertible {
    package let sequence: UInt64
    public static func < (lhs: SpoolBatchID, rhs: SpoolBatchID) -> Bool { lhs.sequence < rhs.sequence }
    public var description: String { String(sequence) }
}

/// Why the spool could not do what was asked.
public struct SpoolError: Error, Sendable, CustomStringConvertible {
    package var message: String
    public var description: String { "spool: \(message)" }
}
