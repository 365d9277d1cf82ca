/// One CloudWatch Logs event: milliseconds since the epoch and a message (CR and LF are data).
public struct CloudWatchLogEvent: Sendable, Equatable, Codable {
    package var timestamp: Int64
    package var message: String

    package init(timestamp: Int64, message: String) {
        self.timestamp = timestamp
        self.message = message
    }
}
