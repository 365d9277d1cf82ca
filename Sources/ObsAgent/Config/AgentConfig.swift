#if canImport(Glibc)
import Glibc
#endif
import FoundationEssentials
import ObsCore
import Logging
import ObsAWS
import ObsJournal
import ObsPostgres
import ObsPrometheus
import ObsXRay

/// Everything the agent runs with, read from a YAML file or, with no file, from the deployment's
/// environment variables (`DB_*`, `KC_DB_*`). Every key is documented in docs/CONFIG.md.
public struct AgentConfig: Sendable {
    /// Which sink receives flushed metrics.
    public enum SinkChoice: String, Sendable {
        /// CloudWatch when a region (or endpoint) and credentials are known, else EMF on stdout.
        case auto
        /// PutMetricData to CloudWatch.
        case cloudWatch = "cloudwatch"
        /// Embedded Metric Format lines on stdout.
        case emf
    }

    /// `agent.flush_interval`: seconds between flushes. Default 60.
    public var flushInterval: Double = 60
    /// `agent.log_level`. Default info.
    public var logLevel: Logger.Level = .info
    /// `agent.cardinality_limit`: series a metric may have before the rest fold into one. Default 2000.
    public var cardinalityLimit: Int = 2000
    /// `agent.health_address`: where `/healthz` and `/metrics` listen (`host:port`), or nil
    /// (`off`). Default 127.0.0.1:9099.
    public var healthAddress: (host: String, port: Int)? = ("127.0.0.1", 9099)
    /// `metrics.sink`. Default auto.
    public var sink: SinkChoice = .auto
    /// `aws.region`, else `AWS_REGION`, else `AWS_DEFAULT_REGION`.
    public var region: String?
    /// `aws.endpoint`: one endpoint for every service (a local stand-in, a VPC endpoint).
    public var endpoint: String?
    /// `aws.endpoints.<service>`: per-service endpoints.
    public var endpoints: [AWSService: String] = [:]
    /// `delivery.spool_directory`: where batches wait until the service accepted them. Default
    /// `OBS_SPOOL_DIR`, else systemd's `STATE_DIRECTORY`, else `/var/lib/obs-agent/spool`.
    public var spoolDirectory: String?
    /// `delivery.spool_max_bytes`: the spool's bound; past it the oldest batches are dropped and
    /// counted. Default 256 MiB.
    public var spoolMaxBytes: Int = 256 << 20
    /// `delivery.shutdown_timeout`: how long, at shutdown, the agent keeps sending what is spooled
    /// before it leaves the rest for the next start. Default 10 s.
    public var shutdownTimeout: Double = 10
    /// `delivery.compress`: gzip request bodies. Default true.
    public var compress = true
    /// `delivery.request_timeout`: the longest one request to AWS may take. Default 30 s.
    public var requestTimeout: Double = 30
    /// `delivery.connect_timeout`: the longest a connection to AWS may take to open. Default 5 s.
    public var connectTimeout: Double = 5
    /// `sources.xray`: the X-Ray daemon stand-in, when enabled.
    public var xray: XRaySource.Settings?
    /// `sources.journald`: the journal shipped to CloudWatch Logs, when enabled. An empty
    /// ``JournalSettings/stateFile`` means `journald.state` in the spool directory.
    public var journald: JournalSettings?
    /// `sources.postgres`: one entry per database.
    public var postgres: [PostgresSource.Settings] = []
    /// `sources.prometheus`: one entry per scraped service.
    public var prometheus: [ScrapeJob] = []
    /// Values never to print (passwords), collected while reading.
    public var secrets: [String] = []

    public init() {}

    /// Whether the config turns on at least one source.
    public var hasSources: Bool {
        !postgres.isEmpty || !prometheus.isEmpty || xray != nil || journald?.enabled == true
    }

    public static let topLevelKeys = ["agent", "metrics", "aws", "delivery", "sources"]

    /// Reads the config file at `path`.
    public static func load(path: String, environment: [String: String]) throws(ConfigError) -> AgentConfig {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigError("", "cannot read \(path): \(error.fileErrorText)")
        }
        return try parse(yaml: text, environment: environment)
    }

    /// Parses a YAML config.
    public static func parse(yaml: String, environment: [String: String]) throws(ConfigError) -> AgentConfig {
        let node: YAMLNode?
        do {
            node = try YAMLReader.parse(yaml)
        } catch {
            throw ConfigError("", "not valid YAML: \(error)")
        }
        var config = AgentConfig()
        guard let node else { throw ConfigError("", "the file is empty") }
        let root = try ConfigNode(node: node, path: "", environment: environment).mapping(allowed: topLevelKeys)

        if let agent = try root["agent"]?.mapping(allowed: ["flush_interval", "log_level", "cardinality_limit", "health_address"]) {
            if let v = agent["health_address"] {
                let text = try v.string()
                if text == "off" {
                    config.healthAddress = nil
                } else {
                    guard let address = XRaySource.Settings.parseAddress(text) else {
                        throw ConfigError(v.path, "expected host:port (such as 127.0.0.1:9099 or 0.0.0.0:9099) or off, got \"\(text)\"")
                    }
                    config.healthAddress = address
                }
            }
            if let v = agent["flush_interval"] { config.flushInterval = try v.seconds(in: 1...3600) }
            if let v = agent["log_level"] {
                config.logLevel = Logger.Level(rawValue: try v.oneOf(Logger.Level.allCases.map(\.rawValue)))!
            }
            if let v = agent["cardinality_limit"] { config.cardinalityLimit = try v.int(in: 1...1_000_000) }
        }
        if let metrics = try root["metrics"]?.mapping(allowed: ["sink"]) {
            if let v = metrics["sink"] { config.sink = SinkChoice(rawValue: try v.oneOf(["auto", "cloudwatch", "emf"]))! }
        }
        if let aws = try root["aws"]?.mapping(allowed: ["region", "endpoint", "endpoints"]) {
            if let v = aws["region"] { config.region = try v.string().nonEmpty }
            if let v = aws["endpoint"] { config.endpoint = try url(v) }
            if let endpoints = try aws["endpoints"]?.mapping(allowed: AWSService.allCases.map(\.configKey)) {
                for service in AWSService.allCases {
                    if let v = endpoints[service.configKey] { config.endpoints[service] = try url(v) }
                }
            }
        }
        if let delivery = try root["delivery"]?.mapping(allowed: [
            "spool_directory", "spool_max_bytes", "shutdown_timeout", "request_timeout", "connect_timeout", "compress",
        ]) {
            if let v = delivery["spool_directory"] { config.spoolDirectory = try v.string().nonEmpty }
            if let v = delivery["spool_max_bytes"] { config.spoolMaxBytes = try v.bytes(in: (1 << 20)...(1 << 40)) }
            if let v = delivery["shutdown_timeout"] { config.shutdownTimeout = try v.seconds(in: 0...300) }
            if let v = delivery["compress"] { config.compress = try v.bool() }
            if let v = delivery["request_timeout"] { config.requestTimeout = try v.seconds(in: 0.1...300) }
            if let v = delivery["connect_timeout"] { config.connectTimeout = try v.seconds(in: 0.1...60) }
        }
        if let sources = try root["sources"]?.mapping(allowed: ["postgres", "prometheus", "xray", "journald"]) {
            if let node = sources["journald"] {
                var settings = try journaldSettings(node)
                settings.flushInterval = config.flushInterval
                config.journald = settings
            }
            if let xray = try sources["xray"]?.mapping(allowed: ["address", "receive_buffer_bytes", "batch_delay", "api_metrics"]) {
                var settings = XRaySource.Settings()
                if let v = xray["api_metrics"] { settings.apiMetrics = try v.bool() }
                if let v = xray["address"] {
                    let text = try v.string()
                    guard let (host, port) = XRaySource.Settings.parseAddress(text) else {
                        throw ConfigError(v.path, "expected host:port (such as 0.0.0.0:2000 or [::]:2000), got \"\(text)\"")
                    }
                    (settings.host, settings.port) = (host, port)
                }
                if let v = xray["receive_buffer_bytes"] { settings.receiveBufferBytes = try v.bytes(in: (64 << 10)...(1 << 30)) }
                if let v = xray["batch_delay"] { settings.batchDelay = try v.seconds(in: 0.01...60) }
                config.xray = settings
            }
            if let list = try sources["prometheus"]?.sequence() {
                for entry in list {
                    let job = try scrapeJob(entry, defaultInterval: min(15, config.flushInterval))
                    guard !config.prometheus.contains(where: { $0.service == job.service }) else {
                        throw ConfigError(entry.path + ".service", "service \"\(job.service)\" is listed twice")
                    }
                    config.prometheus.append(job)
                }
            }
            if let list = try sources["postgres"]?.sequence() {
                for entry in list {
                    var settings = try postgresSettings(entry, defaultInterval: min(15, config.flushInterval))
                    if let password = settings.connection.password, !password.isEmpty { config.secrets.append(password) }
                    settings.samplesInstance = !config.postgres.contains { $0.instance == settings.instance }
                    config.postgres.append(settings)
                }
            }
        }
        return config
    }

    static let journaldKeys = [
        "enabled", "directory", "units", "identifiers", "priority", "format", "fields", "log_group", "log_stream", "cluster", "state_file", "start",
        "batch_age", "keycloak_events", "access_log", "metrics_max_age",
    ]
    static let priorities = ["emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"]

    /// The `sources.journald` section.
    static func journaldSettings(_ node: ConfigNode) throws(ConfigError) -> JournalSettings {
        let keys = try node.mapping(allowed: journaldKeys)
        var settings = JournalSettings(stateFile: "")
        if let v = keys["enabled"] { settings.enabled = try v.bool() }
        func names(_ key: String) throws(ConfigError) -> [String] {
            guard let list = try keys[key]?.sequence() else { return [] }
            var names: [String] = []
            for item in list {
                guard let name = try item.string().nonEmpty else { throw ConfigError(item.path, "must not be empty") }
                names.append(name)
            }
            return names
        }
        if let v = keys["directory"] {
            let directory = try v.string()
            var status = stat()
            guard !settings.enabled || (stat(directory, &status) == 0 && status.st_mode & S_IFMT == S_IFDIR) else {
                throw ConfigError(v.path, "not a directory: \(directory)")
            }
            settings.directory = directory
        }
        settings.units = try names("units")
        settings.identifiers = try names("identifiers")
        if let v = keys["priority"] {
            let text = try v.string()
            if let number = Int(text), (0...7).contains(number) {
                settings.maxPriority = number
            } else {
                settings.maxPriority = priorities.firstIndex(of: try v.oneOf(priorities))
            }
        }
        if let v = keys["format"] { settings.format = JournalSettings.Format(rawValue: try v.oneOf(["text", "json"]))! }
        if keys["fields"] != nil {
            settings.fields = try names("fields")
            guard !settings.fields.isEmpty else { throw ConfigError(node.path + ".fields", "name at least one field") }
        }
        for (key, allowed) in [("log_group", "letters, digits, _ - / . # and {placeholders}"), ("log_stream", "anything but : and *")] {
            guard let v = keys[key] else { continue }
            let template = try v.string().trimmingBlanks()
            guard !template.isEmpty, template.count <= 512 else { throw ConfigError(v.path, "expected 1 to 512 characters: \(allowed)") }
            var rest = Substring(template)
            while let open = rest.firstIndex(of: "{") {
                guard let close = rest[open...].firstIndex(of: "}") else { throw ConfigError(v.path, "a { without its }") }
                let name = String(rest[rest.index(after: open)..<close])
                guard JournalSettings.placeholders.contains(name) else {
                    throw ConfigError(v.path, "unknown placeholder {\(name)}; known: \(JournalSettings.placeholders.map { "{\($0)}" }.joined(separator: ", "))")
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
                    throw ConfigError(v.path, "expected head, tail or a time such as 2026-11-27T00:00:00Z, got \"\(text)\"")
                }
                settings.start = .time(UInt64(max(0, date.timeIntervalSince1970) * 1_000_000))
            }
        }
        if let v = keys["batch_age"] { settings.batchAge = try v.seconds(in: 0.1...300) }
        if let v = keys["keycloak_events"] { settings.keycloakEvents = try v.bool() }
        if let v = keys["metrics_max_age"] { settings.metricsMaxAge = try v.seconds(in: 1...(14 * 86400)) }
        if let access = try keys["access_log"]?.mapping(allowed: ["pattern", "service"]) {
            guard let pattern = access["pattern"] else { throw ConfigError(node.path + ".access_log.pattern", "required") }
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

    static let postgresKeys = [
        "instance", "host", "port", "database", "user", "password", "password_file", "sslmode", "interval",
        "connect_timeout", "statement_timeout", "lock_timeout", "top_tables", "top_statements", "statements_log_group", "sslrootcert",
    ]

    /// One `sources.postgres` entry. `interval` defaults to 15 s, or the flush interval when that is shorter.
    static func postgresSettings(_ node: ConfigNode, defaultInterval: Double) throws(ConfigError) -> PostgresSource.Settings {
        let keys = try node.mapping(allowed: postgresKeys)
        func required(_ key: String) throws(ConfigError) -> String {
            guard let value = try keys[key]?.string().nonEmpty else { throw ConfigError(node.path + ".\(key)", "required") }
            return value
        }
        let host = try required("host")
        var password = try keys["password"]?.string()
        if let file = try keys["password_file"]?.string() {
            guard password == nil else { throw ConfigError(node.path + ".password_file", "give password or password_file, not both") }
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
            guard FileManager.default.isReadableFile(atPath: file) else { throw ConfigError(v.path, "cannot read \(file)") }
            connection.sslRootCert = file
        }
        if ["verify-ca", "verify-full"].contains(connection.sslMode), connection.sslRootCert == nil {
            throw ConfigError(node.path + ".sslrootcert", "sslmode \(connection.sslMode) needs sslrootcert (for RDS, the global-bundle.pem AWS publishes)")
        }
        if let v = keys["connect_timeout"] { connection.connectTimeoutSeconds = Int(try v.seconds(in: 1...300).rounded(.up)) }
        if let v = keys["statement_timeout"] { connection.statementTimeoutMilliseconds = Int(try v.seconds(in: 0.001...600) * 1000) }
        if let v = keys["lock_timeout"] { connection.lockTimeoutMilliseconds = Int(try v.seconds(in: 0.001...600) * 1000) }
        var settings = PostgresSource.Settings(
            instance: try keys["instance"]?.string().nonEmpty ?? host, connection: connection,
            interval: try keys["interval"]?.seconds(in: 1...3600) ?? defaultInterval,
            topTables: try keys["top_tables"]?.int(in: 0...100) ?? 10, topStatements: try keys["top_statements"]?.int(in: 0...100) ?? 10)
        if let v = keys["statements_log_group"] {
            let group = try v.string()
            guard (1...512).contains(group.count), group.allSatisfy({ $0.isLetter || $0.isNumber || "_-/.#".contains($0) }) else {
                throw ConfigError(v.path, "a log group name is 1 to 512 of letters, digits and _-/.#, got \"\(group)\"")
            }
            settings.statementsLogGroup = group
        }
        return settings
    }

    static let prometheusKeys = [
        "service", "urls", "dns_a", "dns_srv", "scheme", "path", "interval", "timeout", "refresh_interval", "bearer_token_file",
        "basic_auth", "ca_file", "dns_server", "max_response_bytes",
    ]

    /// One `sources.prometheus` entry: `service` and one of `urls`, `dns_a` or `dns_srv`.
    static func scrapeJob(_ node: ConfigNode, defaultInterval: Double) throws(ConfigError) -> ScrapeJob {
        let keys = try node.mapping(allowed: prometheusKeys)
        guard let service = try keys["service"]?.string().nonEmpty else { throw ConfigError(node.path + ".service", "required") }
        let given = ["urls", "dns_a", "dns_srv"].filter { keys[$0] != nil }
        guard given.count == 1 else {
            throw ConfigError(node.path, "give exactly one of urls, dns_a or dns_srv (got \(given.isEmpty ? "none" : given.joined(separator: ", ")))")
        }
        let discovery: ScrapeJob.Discovery
        if let list = try keys["urls"]?.sequence() {
            var urls: [String] = []
            for entry in list {
                let text = try url(entry)
                let authority = text.split(separator: "/", maxSplits: 3, omittingEmptySubsequences: false).dropFirst(2).first ?? ""
                guard !authority.contains("@") else {
                    throw ConfigError(entry.path, "credentials do not belong in the URL: use basic_auth or bearer_token_file")
                }
                urls.append(text)
            }
            guard !urls.isEmpty else { throw ConfigError(node.path + ".urls", "list at least one URL") }
            discovery = .urls(urls)
        } else if let v = keys["dns_a"] {
            let text = try v.string()
            guard let (host, port) = PrometheusSource.hostPort(text) else {
                throw ConfigError(v.path, "expected host:port (such as user-service.ecom.local:8080), got \"\(text)\"")
            }
            discovery = .dnsA(host: host, port: port)
        } else {
            let name = try keys["dns_srv"]!.string().trimmingBlanks()
            guard name.contains("."), !name.contains(" ") else {
                throw ConfigError(node.path + ".dns_srv", "expected an SRV name such as _user-service._tcp.ecom.local, got \"\(name)\"")
            }
            discovery = .dnsSRV(name)
        }
        var job = ScrapeJob(service: service, discovery: discovery)
        if let v = keys["scheme"] { job.scheme = try v.oneOf(["http", "https"]) }
        if let v = keys["path"] {
            let path = try v.string()
            guard path.hasPrefix("/") else { throw ConfigError(v.path, "expected a path starting with /, got \"\(path)\"") }
            job.path = path
        }
        job.interval = try keys["interval"]?.seconds(in: 1...3600) ?? defaultInterval
        job.timeout = try keys["timeout"]?.seconds(in: 0.1...300) ?? min(10, job.interval)
        guard job.timeout <= job.interval else {
            throw ConfigError(node.path + ".timeout", "must not be longer than the interval (\(job.interval) s)")
        }
        if let v = keys["refresh_interval"] { job.refreshInterval = try v.seconds(in: 1...86400) }
        if let v = keys["bearer_token_file"] { job.bearerTokenFile = try v.string().nonEmpty }
        if let basic = try keys["basic_auth"]?.mapping(allowed: ["username", "password_file"]) {
            guard job.bearerTokenFile == nil else { throw ConfigError(node.path + ".basic_auth", "give basic_auth or bearer_token_file, not both") }
            guard let user = try basic["username"]?.string().nonEmpty else { throw ConfigError(node.path + ".basic_auth.username", "required") }
            job.basicUsername = user
            job.basicPasswordFile = try basic["password_file"]?.string().nonEmpty
        }
        for (key, file) in [("bearer_token_file", job.bearerTokenFile), ("basic_auth.password_file", job.basicPasswordFile)] {
            if let file, !FileManager.default.isReadableFile(atPath: file) {
                throw ConfigError(node.path + ".\(key)", "cannot read \(file)")
            }
        }
        if let v = keys["ca_file"] {
            let file = try v.string()
            guard FileManager.default.isReadableFile(atPath: file) else { throw ConfigError(v.path, "cannot read \(file)") }
            job.caFile = file
        }
        if let v = keys["dns_server"] {
            let text = try v.string()
            guard PrometheusSource.hostPort(text) != nil else { throw ConfigError(v.path, "expected ip:port, got \"\(text)\"") }
            job.dnsServer = text
        }
        if let v = keys["max_response_bytes"] { job.maxResponseBytes = try v.bytes(in: (64 << 10)...(1 << 30)) }
        return job
    }

    static func url(_ node: ConfigNode) throws(ConfigError) -> String {
        let text = try node.string().trimmingBlanks()
        guard text.hasPrefix("http://") || text.hasPrefix("https://"), text.count > 8 else {
            throw ConfigError(node.path, "expected an http:// or https:// URL, got \"\(text)\"")
        }
        return text
    }
}

extension String {
    var nonEmpty: String? { isEmpty ? nil : self }
}

extension AgentConfig {
    /// The spool directory in force: the config's, else `OBS_SPOOL_DIR`, else systemd's
    /// `STATE_DIRECTORY` (its first entry) plus `/spool`, else `/var/lib/obs-agent/spool`.
    public func resolvedSpoolDirectory(environment: [String: String]) -> String {
        if let spoolDirectory { return spoolDirectory }
        if let directory = environment["OBS_SPOOL_DIR"], !directory.isEmpty { return directory }
        if let state = environment["STATE_DIRECTORY"]?.split(separator: ":").first { return "\(state)/spool" }
        return "/var/lib/obs-agent/spool"
    }
}
