/// An encoded request batch: what kind of request it is, what it carries, and the bytes. The disk
/// spool keeps these, the senders send them, and a source that is its own spool (the journal)
/// hands them to its batch outlet the same way.
public struct SpooledBatch: Sendable, Equatable {
    /// The kind of request the payload is (`put-metric-data`, `put-log-events`, `put-trace-segments`).
    public var kind: String
    /// Seconds since the epoch when the batch was accepted.
    package var created: Int64
    /// How many items (datums, log events, segments) it carries: what a drop of it loses.
    public var items: Int
    /// What the sender needs besides the payload (a namespace, a log group and stream).
    package var attributes: [String: String]
    package var payload: [UInt8]

    package init(kind: String, created: Int64, items: Int, attributes: [String: String] = [:], payload: [UInt8]) {
        self.kind = kind
        self.created = created
        self.items = items
        self.attributes = attributes
        self.payload = payload
    }
}
