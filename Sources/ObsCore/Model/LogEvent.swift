/// One CloudWatch Logs event: milliseconds since the epoch and a message (CR and LF are data).
public struct CloudWatchLogEvent: Sendable, Equatable, Codable {
    public var timestamp: Int64
    public var message: String

    public init(timestamp: Int64, message: String) {
        self.timestamp = timestamp
        self.message = message
    }
}
