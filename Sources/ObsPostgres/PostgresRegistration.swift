import FoundationEssentials
import ObsCatalog
import ObsCore
import ObsSource

#if canImport(Glibc)
    import Glibc
#endif

extension PostgresSource: Source {
    public var name: String { "postgres(\(settings.instance)/\(settings.connection.database))" }

    /// One last sample, so that the counters' final deltas reach the last flush.
    public func finish(within seconds: Double) async {
        _ = try? await sample(final: true)
    }
}

extension PostgresSource {
    /// `sources.postgres`: a list, one entry per database (docs/CONFIG.md).
    package static let registration = SourceRegistration<[Settings]>(
        key: "postgres", metrics: PostgresMetrics.all,
        parse: { (node, context) throws(ConfigError) -> [Settings] in
            var list: [Settings] = []
            for entry in try node.sequence() {
                var settings = try settings(entry, defaultInterval: min(15, context.flushInterval))
                settings.flushInterval = context.flushInterval
                settings.shard = context.shard
                if let password = settings.connection.password { context.secret(password) }
                // The instance-wide views are sampled once per instance, by its first database.
                settings.samplesInstance = !list.contains { $0.instance == settings.instance }
                list.append(settings)
            }
            return list
        },
        isEnabled: { !$0.isEmpty },
        emitted: { $0.isEmpty ? [] : PostgresMetrics.all },
        needs: { list in
            guard let index = list.firstIndex(where: { $0.topStatements > 0 }) else { return [] }
            return [
                SignalNeed(
                    .logEvents, key: "sources.postgres[\(index)].top_statements",
                    what: "sending statement texts to CloudWatch Logs")
            ]
        },
        logGroups: { list in Array(Set(list.filter { $0.topStatements > 0 }.map(\.statementsLogGroup))).sorted() },
        targets: { list in
            var targets = AlarmTargets(
                services: [],
                databases: list.map { AlarmTargets.Database(instance: $0.instance, database: $0.connection.database) })
            // The largest of the databases' settings: what obsctl cost counts for each.
            targets.values["Table"] = list.map(\.topTables).max() ?? 0
            targets.values["QueryId"] = list.map(\.topStatements).max() ?? 0
            return targets
        },
        describe: { list in list.map { "\($0.instance)/\($0.connection.database)" }.joined(separator: ",") },
        make: { list, context in
            list.filter(\.isOwned).map { settings in
                PostgresSource(settings: settings, recorder: context.recorder, logger: context.logger) { texts in
                    guard let logs = context.logs else { return }
                    let now = Int64(Date().timeIntervalSince1970 * 1000)
                    let events = texts.map { text in
                        CloudWatchLogEvent(
                            timestamp: now,
                            message:
                                "{\"dbInstance\":\(JSONText.quoted(text.instance)),\"database\":\(JSONText.quoted(text.database)),"
                                + "\"queryId\":\(JSONText.quoted(text.queryID)),\"query\":\(JSONText.quoted(text.query))}"
                        )
                    }
                    logs.publish(
                        group: settings.statementsLogGroup,
                        stream: "\(settings.instance)/\(settings.connection.database)", events: events, now: now)
                }
            }
        },
        check: { list, context in
            var lines: [SourceCheck] = []
            for settings in list {
                let target = "\(settings.instance)/\(settings.connection.database)"
                do {
                    let version = try await PostgresSource(
                        settings: settings, recorder: context.recorder, logger: context.logger
                    ).check()
                    lines.append(SourceCheck(target: target, ok: true, detail: version))
                } catch {
                    lines.append(SourceCheck(target: target, ok: false, detail: "\(error)"))
                }
            }
            return lines
        })

    static let keys = [
        "instance", "host", "port", "database", "user", "password", "password_file", "sslmode", "interval",
        "connect_timeout", "statement_timeout", "lock_timeout", "top_tables", "top_statements", "statements_log_group",
        "sslrootcert",
    ]

    /// One `sources.postgres` entry. `interval` defaults to 15 s, or the flush interval when that is shorter.
    package static func settings(_ node: ConfigNode, defaultInterval: Double) throws(ConfigError) -> Settings {
        let keys = try node.mapping(allowed: keys)
        func required(_ key: String) throws(ConfigError) -> String {
            guard let value = try keys[key]?.string().nonEmpty else {
                throw ConfigError(node.path + ".\(key)", "required")
            }
            return value
        }
        let host = try required("host")
        var password = try keys["password"]?.string()
        if let file = try keys["password_file"]?.string() {
            guard password == nil else {
                throw ConfigError(node.path + ".password_file", "give password or password_file, not both")
            }
            do {
                password = try String(contentsOfFile: file, encoding: .utf8).trimmingNewlines()
            } catch {
                throw ConfigError(node.path + ".password_file", "cannot read \(file)")
            }
        }
        var connection = PostgresConnectionSettings(
            host: host, port: try keys["port"]?.int(in: 1...65535) ?? 5432, database: try required("database"),
            user: try required("user"), password: password)
        if let v = keys["sslmode"] {
            connection.sslMode = try v.oneOf(["disable", "allow", "prefer", "require", "verify-ca", "verify-full"])
        }
        if let v = keys["sslrootcert"] {
            let file = try v.string()
            guard FileManager.default.isReadableFile(atPath: file) else {
                throw ConfigError(v.path, "cannot read \(file)")
            }
            connection.sslRootCert = file
        }
        if ["verify-ca", "verify-full"].contains(connection.sslMode), connection.sslRootCert == nil {
            throw ConfigError(
                node.path + ".sslrootcert",
                "sslmode \(connection.sslMode) needs sslrootcert (for RDS, the global-bundle.pem AWS publishes)")
        }
        if let v = keys["connect_timeout"] {
            connection.connectTimeoutSeconds = Int(try v.seconds(in: 1...300).rounded(.up))
        }
        if let v = keys["statement_timeout"] {
            connection.statementTimeoutMilliseconds = Int(try v.seconds(in: 0.001...600) * 1000)
        }
        if let v = keys["lock_timeout"] {
            connection.lockTimeoutMilliseconds = Int(try v.seconds(in: 0.001...600) * 1000)
        }
        var settings = Settings(
            instance: try keys["instance"]?.string().nonEmpty ?? host, connection: connection,
            interval: try keys["interval"]?.seconds(in: 1...3600) ?? defaultInterval,
            topTables: try keys["top_tables"]?.int(in: 0...100) ?? 10,
            topStatements: try keys["top_statements"]?.int(in: 0...100) ?? 10)
        if let v = keys["statements_log_group"] {
            let group = try v.string()
            guard (1...512).contains(group.count),
                group.allSatisfy({ $0.isLetter || $0.isNumber || "_-/.#".contains($0) })
            else {
                throw ConfigError(v.path, "a log group name is 1 to 512 of letters, digits and _-/.#, got \"\(group)\"")
            }
            settings.statementsLogGroup = group
        }
        return settings
    }
}
