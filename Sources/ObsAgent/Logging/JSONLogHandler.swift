import FoundationEssentials
import Logging
import ObsCore

#if canImport(Glibc)
    import Glibc
#endif

/// A swift-log handler that writes one JSON object a line to standard output:
/// `{"ts":"2026-11-26T23:00:00.123Z","level":"info","logger":"obs-agent","msg":"...", <metadata>}`.
/// Every string goes through the ``SecretRedactor`` first.
public struct JSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    package let label: String
    private let redactor: SecretRedactor
    private let write: @Sendable (String) -> Void

    package init(
        label: String, level: Logger.Level = .info, redactor: SecretRedactor = .shared,
        write: @escaping @Sendable (String) -> Void = StandardOutput.writeLine
    ) {
        self.label = label
        self.logLevel = level
        self.redactor = redactor
        self.write = write
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let extra = event.metadata { merged.merge(extra) { _, new in new } }
        var line = "{\"ts\":\(JSONText.quoted(Self.timestamp())),\"level\":\(JSONText.quoted(event.level.rawValue))"
        line +=
            ",\"logger\":\(JSONText.quoted(label)),\"msg\":\(JSONText.quoted(redactor.redact(event.message.description)))"
        for (key, value) in merged.sorted(by: { $0.key < $1.key }) {
            line += ",\(JSONText.quoted(key)):\(JSONText.quoted(redactor.redact(value.description)))"
        }
        write(line + "}")
    }

    static func timestamp() -> String {
        let now = Date().timeIntervalSince1970
        var t = time_t(now.rounded(.down))
        let milliseconds = min(999, Int((now - now.rounded(.down)) * 1000))
        var parts = tm()
        gmtime_r(&t, &parts)
        return String(
            cFormat: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1,
            Int(parts.tm_mday), Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec), milliseconds)
    }
}
