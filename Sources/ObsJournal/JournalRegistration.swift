import FoundationEssentials
import ObsCatalog
import ObsCore
import ObsSource

#if canImport(Glibc)
    import Glibc
#endif

extension JournalSource: Source {
    public var name: String { "journald(\(settings.directory ?? "local"))" }
}

extension JournalSource {
    /// What the journal's lines yield: login counts from Keycloak's event lines, API metrics from
    /// access-log lines.
    package static let metrics = AuthMetrics.all + APIMetrics.all.filter { $0.id != APIMetrics.errorRate.id }

    /// `sources.journald`: the journal shipped to CloudWatch Logs (docs/CONFIG.md).
    package static let registration = SourceRegistration<JournalSettings>(
        key: "journald", metrics: metrics,
        parse: { (node, context) throws(ConfigError) -> JournalSettings in
            var settings = try settings(node)
            settings.flushInterval = context.flushInterval
            return settings
        },
        isEnabled: { $0.enabled },
        emitted: { settings in
            (settings.keycloakEvents ? AuthMetrics.all : [])
                + (settings.accessLog != nil ? APIMetrics.all.filter { $0.id != APIMetrics.errorRate.id } : [])
        },
        needs: { _ in
            [SignalNeed(.logBatches, key: "sources.journald", what: "shipping the journal to CloudWatch Logs")]
        },
        logGroups: { settings in [settings.logGroupPattern] },
        describe: { settings in settings.directory ?? "local" },
        make: { (settings, context) throws(ConfigError) -> [any Source] in
            guard let outlet = context.logBatches else {
                throw ConfigError("sources.journald", "no route for the journal's batches")
            }
            var settings = settings
            if settings.stateFile.isEmpty { settings.stateFile = context.stateDirectory + "/journald.state" }
            // A dry run sends nothing, so it saves no cursor: the next real run sends it all.
            if context.dryRun { settings.savesState = false }
            return [
                JournalSource(settings: settings, recorder: context.recorder, outlet: outlet, logger: context.logger)
            ]
        },
        check: { settings, context in
            var settings = settings
            if settings.stateFile.isEmpty { settings.stateFile = context.stateDirectory + "/journald.state" }
            let target = settings.directory ?? "local journal"
            do {
                return [SourceCheck(target: target, ok: true, detail: try JournalSource.check(settings))]
            } catch {
                return [SourceCheck(target: target, ok: false, detail: "\(error)")]
            }
        })

    static let keys = [
        "enabled", "directory", "units", "identifiers", "priority", "format", "fields", "log_group", "log_stream",
        "cluster", "state_file", "start",
        "batch_age", "keycloak_events", "access_log", "metrics_max_age",
    ]
    static let priorities = ["emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"]

    /// The `sources.journald` section.
    package static func settings(_ node: ConfigNode) throws(ConfigError) -> JournalSettings {
        let keys = try node.mapping(allowed: keys)
        var settings = JournalSettings(stateFile: "")
        if let v = keys["enabled"] { settings.enabled = try v.bool() }
        if let v = keys["directory"] {
            let directory = try v.string()
            var status = stat()
            guard !settings.enabled || (stat(directory, &status) == 0 && status.st_mode & S_IFMT == S_IFDIR) else {
                throw ConfigError(v.path, "not a directory: \(directory)")
            }
            settings.directory = directory
        }
        settings.units = try keys["units"]?.names() ?? []
        settings.identifiers = try keys["identifiers"]?.names() ?? []
        if let v = keys["priority"] {
            let text = try v.string()
            if let number = Int(text), (0...7).contains(number) {
                settings.maxPriority = number
            } else {
                settings.maxPriority = priorities.firstIndex(of: try v.oneOf(priorities))
            }
        }
        if let v = keys["format"] {
            settings.format = JournalSettings.Format(rawValue: try v.oneOf(["text", "json"]))!
        }
        if let v = keys["fields"] {
            settings.fields = try v.names()
            guard !settings.fields.isEmpty else { throw ConfigError(node.path + ".fields", "name at least one field") }
        }
        for (key, allowed) in [
            ("log_group", "letters, digits, _ - / . # and {placeholders}"), ("log_stream", "anything but : and *"),
        ] {
            guard let v = keys[key] else { continue }
            let template = try v.string().trimmingBlanks()
            guard !template.isEmpty, template.count <= 512 else {
                throw ConfigError(v.path, "expected 1 to 512 characters: \(allowed)")
            }
            var rest = Substring(template)
            while let open = rest.firstIndex(of: "{") {
                guard let close = rest[open...].firstIndex(of: "}") else {
                    throw ConfigError(v.path, "a { without its }")
                }
                let name = String(rest[rest.index(after: open)..<close])
                guard JournalSettings.placeholders.contains(name) else {
                    throw ConfigError(
                        v.path,
                        "unknown placeholder {\(name)}; known: \(JournalSettings.placeholders.map { "{\($0)}" }.joined(separator: ", "))"
                    )
                }
                rest = rest[rest.index(after: close)...]
            }
            if key == "log_group" { settings.logGroup = template } else { settings.logStream = template }
        }
        if let v = keys["cluster"] { settings.cluster = try v.string() }
        if let v = keys["state_file"] { settings.stateFile = try v.string() }
        if let v = keys["start"] {
            let text = try v.string().trimmingBlanks()
            switch text {
            case "head": settings.start = .head
            case "tail": settings.start = .tail
            default:
                guard let date = RFC3339.seconds(text).map({ Date(timeIntervalSince1970: $0) }) else {
                    throw ConfigError(
                        v.path, "expected head, tail or a time such as 2026-11-27T00:00:00Z, got \"\(text)\"")
                }
                settings.start = .time(UInt64(max(0, date.timeIntervalSince1970) * 1_000_000))
            }
        }
        if let v = keys["batch_age"] { settings.batchAge = try v.seconds(in: 0.1...300) }
        if let v = keys["keycloak_events"] { settings.keycloakEvents = try v.bool() }
        if let v = keys["metrics_max_age"] { settings.metricsMaxAge = try v.seconds(in: 1...(14 * 86400)) }
        if let access = try keys["access_log"]?.mapping(allowed: ["pattern", "service"]) {
            guard let pattern = access["pattern"] else {
                throw ConfigError(node.path + ".access_log.pattern", "required")
            }
            do {
                settings.accessLog = try AccessLogPattern(try pattern.string())
            } catch let error as AccessLogPattern.PatternError {
                throw ConfigError(pattern.path, error.description)
            } catch let error as ConfigError {
                throw error
            } catch {
                throw ConfigError(pattern.path, "\(error)")
            }
            if let v = access["service"] { settings.accessLogService = try v.string() }
        }
        return settings
    }
}
