import Foundation
import Logging
import ObsAWS
import ObsCore
import ObsNet
import Synchronization
import Testing

@testable import ObsDelivery
@testable import ObsJournal

/// Journal files for the tests, written by systemd-journal-remote from export-format data that
/// the tests generate (text and binary fields).
enum JournalFixture {
    static let journalRemote = "/lib/systemd/systemd-journal-remote"
    static var available: Bool { FileManager.default.isExecutableFile(atPath: journalRemote) }
    static let bootID = "1234567890abcdef1234567890abcdef"
    /// When the fixtures' machine booted (microseconds since the epoch).
    static let bootedAt: UInt64 = 1_700_000_000_000_000

    /// One entry: its fields in order (a value with bytes that are not printable text is written
    /// in the binary form of the export format).
    struct Entry {
        var realtime: UInt64
        var fields: [(String, [UInt8])]

        init(realtime: UInt64, _ fields: [(String, String)]) {
            self.realtime = realtime
            self.fields = fields.map { ($0.0, Array($0.1.utf8)) }
        }

        init(realtime: UInt64, bytes fields: [(String, [UInt8])]) {
            self.realtime = realtime
            self.fields = fields
        }
    }

    /// A typical service entry.
    static func entry(
        _ n: Int, unit: String, message: String, realtime: UInt64, priority: Int = 6, host: String = "host-a"
    ) -> Entry {
        Entry(
            realtime: realtime,
            [
                ("_HOSTNAME", host), ("_SYSTEMD_UNIT", unit), ("PRIORITY", "\(priority)"),
                ("SYSLOG_IDENTIFIER", unit.split(separator: ".").first.map(String.init) ?? unit),
                ("_PID", "\(1000 + n % 7)"),
                ("MESSAGE", message),
            ])
    }

    /// The export-format text of `entries` (one boot: the monotonic clock moves with the wall clock).
    static func export(_ entries: [Entry]) -> [UInt8] {
        var out: [UInt8] = []
        for entry in entries {
            JournalExportFormat.append(
                realtime: entry.realtime, monotonic: entry.realtime - bootedAt, bootID: bootID, fields: entry.fields,
                to: &out)
        }
        return out
    }

    /// Appends `entries` to `directory/name` (a new file, or one that grows).
    static func write(_ entries: [Entry], to directory: String, name: String = "test.journal") throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let input = directory + "/.export-\(UUID().uuidString)"
        try Data(export(entries)).write(to: URL(fileURLWithPath: input))
        defer { try? FileManager.default.removeItem(atPath: input) }
        let status = try spawn(journalRemote, ["--output=\(directory)/\(name)", "-"], stdin: input)
        #expect(status == 0, "systemd-journal-remote exited with \(status)")
    }

    /// Runs `path` with `arguments`, standard input from `stdin`, and waits (posix_spawn and
    /// waitpid: Foundation's Process can hang in async tests).
    static func spawn(_ path: String, _ arguments: [String], stdin: String) throws -> Int32 {
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        defer { for argument in argv { free(argument) } }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, stdin, O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        var pid = pid_t()
        guard posix_spawn(&pid, path, &actions, nil, argv, environ) == 0 else { return -1 }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0, errno == EINTR {}
        return (status >> 8) & 0xFF
    }

    static func temporaryDirectory() -> String {
        NSTemporaryDirectory() + "obs-journal-\(UUID().uuidString.prefix(8))"
    }

    /// Microseconds since the epoch, now.
    static var now: UInt64 { UInt64(Date().timeIntervalSince1970 * 1_000_000) }
}

/// A PutLogEvents stand-in: keeps what it accepted, decoded, and fails while told to.
final class RecordingLogSender: BatchSender, @unchecked Sendable {
    let kind = CloudWatchLogSink.batchKind
    struct Sent: Sendable {
        var group: String
        var stream: String
        var events: [(timestamp: Int64, message: String)]
        var bodyValid: Bool
    }

    private let state = Mutex<(sent: [Sent], failuresLeft: Int, attempts: Int)>(([], 0, 0))

    /// The next `count` sends fail with a retryable error.
    func fail(next count: Int) { state.withLock { $0.failuresLeft = count } }
    var sent: [Sent] { state.withLock { $0.sent } }
    var attempts: Int { state.withLock { $0.attempts } }
    var messages: [String] { sent.flatMap { $0.events.map(\.message) } }

    func send(_ batch: SpooledBatch) async -> SendOutcome {
        let failing = state.withLock { state -> Bool in
            state.attempts += 1
            guard state.failuresLeft > 0 else { return false }
            state.failuresLeft -= 1
            return true
        }
        if failing { return .retry(reason: "HTTP 503", afterTimeout: false) }
        let object = try? JSONSerialization.jsonObject(with: Data(batch.payload)) as? [String: Any]
        let events = (object?["logEvents"] as? [[String: Any]] ?? []).map {
            (timestamp: ($0["timestamp"] as? NSNumber)?.int64Value ?? -1, message: $0["message"] as? String ?? "")
        }
        let sent = Sent(
            group: object?["logGroupName"] as? String ?? "", stream: object?["logStreamName"] as? String ?? "",
            events: events,
            bodyValid: object != nil && events.count == batch.items)
        state.withLock { $0.sent.append(sent) }
        return .delivered
    }
}

/// Waits up to `seconds` for `condition`.
func eventually(_ seconds: Double = 10, _ condition: () -> Bool) async -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return condition()
}

extension JournalSource {
    /// A source whose batches go to `sender` through the agent's outlet (``BatchDeliverer``), as
    /// the agent builds it.
    convenience init(
        settings: JournalSettings, recorder: Recorder, sender: any BatchSender, retry: RetryPolicy, logger: Logger
    ) {
        self.init(
            settings: settings, recorder: recorder,
            outlet: BatchDeliverer(
                name: "test", sender: sender, retry: retry, recorder: recorder, healthName: "journald", logger: logger),
            logger: logger)
    }
}
