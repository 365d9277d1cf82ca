/// What the journal source reads and where it sends it (`sources.journald` in the config).
public struct JournalSettings: Sendable {
    /// Where reading starts when no cursor was saved yet.
    public enum Start: Sendable, Equatable {
        /// The oldest entry the journal has.
        case head
        /// Entries written from now on.
        case tail
        /// The first entry written at or after this time (microseconds since the epoch).
        case time(UInt64)
    }

    /// How an entry becomes a log event's message.
    public enum Format: String, Sendable {
        /// The `MESSAGE` field as it is.
        case text
        /// A JSON object of the chosen fields (``fields``).
        case json
    }

    /// `enabled`: whether the agent reads the journal. A config may describe the source and leave
    /// it off where there is no journal (Fargate): obsctl still makes its dashboards, alarms and
    /// policy. Default true.
    package var enabled = true
    /// `directory`: a directory of journal files (a host's journal mounted into a container),
    /// or nil for the local journal.
    public var directory: String?
    /// `units`: only entries of these systemd units (`_SYSTEMD_UNIT`).
    package var units: [String] = []
    /// `identifiers`: only entries with these syslog identifiers (`SYSLOG_IDENTIFIER`); with
    /// `units` too, entries of either.
    package var identifiers: [String] = []
    /// `priority`: only entries of this priority or more urgent (0 emerg ... 7 debug).
    package var maxPriority: Int?
    package var format: Format = .text
    /// `fields`: the fields of a JSON message.
    package var fields = ["MESSAGE", "PRIORITY", "_SYSTEMD_UNIT", "SYSLOG_IDENTIFIER", "_PID", "_HOSTNAME"]
    /// `log_group`: a template; `{unit}`, `{identifier}`, `{host}`, `{cluster}`, `{container}`
    /// and `{machine}` are replaced by the entry's values (`unknown` when it has none) and
    /// characters CloudWatch does not allow in a name become `_`.
    package var logGroup = "/obs/journal/{unit}"
    /// `log_stream`: a template, as `log_group`.
    package var logStream = "{host}/{unit}"
    /// `cluster`: the value of `{cluster}`.
    package var cluster = ""
    /// `state_file`: where the cursor of what CloudWatch Logs accepted is kept.
    package var stateFile: String
    /// Whether the cursor is saved once entries are accepted. Off for `--dry-run`, which sends
    /// nothing: the saved state is read but never written, so a later run sends what it printed.
    package var savesState = true
    public var start: Start = .tail
    /// `batch_age`: the longest an entry waits in a batch that is not full, in seconds.
    package var batchAge: Double = 5
    /// `keycloak_events`: read Keycloak event lines (`org.keycloak.events`) into auth metrics.
    package var keycloakEvents = true
    /// `access_log`: read lines that match into API metrics.
    package var accessLog: AccessLogPattern?
    /// `access_log.service`: the Service dimension of access-log metrics, a template as
    /// `log_group`.
    package var accessLogService = "{unit}"
    /// `metrics_max_age`: entries older than this (seconds) are shipped but give no metrics, so
    /// a backlog read at the first start does not look like a storm now.
    public var metricsMaxAge: Double = 300
    /// The agent's flush interval (distinct counts are per interval).
    package var flushInterval: Double = 60

    /// The placeholders a template may use.
    package static let placeholders = ["unit", "identifier", "host", "cluster", "container", "machine"]

    public init(stateFile: String) {
        self.stateFile = stateFile
    }

    /// The log group names a config can produce, for the IAM policy: the template with
    /// `{cluster}` filled in and every other placeholder replaced by `*`.
    package var logGroupPattern: String {
        var pattern = ""
        var name: String?
        for character in logGroup {
            if character == "{" {
                name = ""
            } else if character == "}", let placeholder = name {
                let value = placeholder == "cluster" && !cluster.isEmpty ? cluster : "*"
                if !(value == "*" && pattern.hasSuffix("*")) { pattern += value }
                name = nil
            } else if name != nil {
                name!.append(character)
            } else {
                pattern.append(character)
            }
        }
        return pattern
    }
}
