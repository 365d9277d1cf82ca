import FoundationEssentials
import Logging
import ObsAWS
import ObsCore
import ObsJournal
import ObsPostgres
import ObsPrometheus
import ObsSource
import ObsXRay

#if canImport(Glibc)
    import Glibc
#endif

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
    package var flushInterval: Double = 60
    /// `agent.log_level`. Default info.
    public var logLevel: Logger.Level = .info
    /// `agent.cardinality_limit`: series a metric may have before the rest fold into one. Default 2000.
    package var cardinalityLimit: Int = 2000
    /// `agent.health_address`: where `/healthz` and `/metrics` listen (`host:port`), or nil
    /// (`off`). Default 127.0.0.1:9099.
    package var healthAddress: (host: String, port: Int)? = ("127.0.0.1", 9099)
    /// `metrics.sink`. Default auto.
    package var sink: SinkChoice = .auto
    /// `metrics.api_routes`: whether API requests, faults and latency are published per route
    /// (Service, Method, Route) beside per service. Default true.
    package var apiRoutes = true
    /// `agent.shard`: this replica's share of the scrape targets and databases; nil for all.
    package var shard: Shard?
    /// `aws.region`, else `AWS_REGION`, else `AWS_DEFAULT_REGION`.
    package var region: String?
    /// `aws.endpoint`: one endpoint for every service (a local stand-in, a VPC endpoint).
    package var endpoint: String?
    /// `aws.endpoints.<service>`: per-service endpoints.
    package var endpoints: [AWSService: String] = [:]
    /// `delivery.spool_directory`: where batches wait until the service accepted them. Default
    /// `OBS_SPOOL_DIR`, else systemd's `STATE_DIRECTORY`, else `/var/lib/obs-agent/spool`.
    package var spoolDirectory: String?
    /// `delivery.spool_max_bytes`: the spool's bound; past it the oldest batches are dropped and
    /// counted. Default 256 MiB.
    package var spoolMaxBytes: Int = 256 << 20
    /// `delivery.shutdown_timeout`: how long, at shutdown, the agent keeps sending what is spooled
    /// before it leaves the rest for the next start. Default 10 s.
    package var shutdownTimeout: Double = 10
    /// `delivery.compress`: gzip request bodies. Default true.
    public var compress = true
    /// `delivery.request_timeout`: the longest one request to AWS may take. Default 30 s.
    package var requestTimeout: Double = 30
    /// `delivery.connect_timeout`: the longest a connection to AWS may take to open. Default 5 s.
    package var connectTimeout: Double = 5
    /// `sources.<key>`: each registered source's settings, by key (``SourceRegistry``).
    package var sources: [String: any Sendable] = [:]
    /// Values never to print (passwords), collected while reading.
    package var secrets: [String] = []

    package init() {}

    /// Whether the config turns on at least one source.
    package var hasSources: Bool { !enabledSources.isEmpty }

    /// The registered sources this config turns on, in the registry's order, with their settings.
    package var enabledSources: [(registration: AnySourceRegistration, settings: any Sendable)] {
        configuredSources.filter { $0.registration.isEnabled($0.settings) }
    }

    /// The registered sources whose section the config has, on or not (a section a variable
    /// switches on at deploy time, such as `enabled: ${OBS_JOURNALD:-false}`): what obsctl plans
    /// dashboards, alarms and the IAM policy for.
    package var configuredSources: [(registration: AnySourceRegistration, settings: any Sendable)] {
        SourceRegistry.builtIn.compactMap { registration in
            guard let settings = sources[registration.key] else { return nil }
            return (registration, settings)
        }
    }

    package static let topLevelKeys = ["agent", "metrics", "aws", "delivery", "sources"]

    /// Reads the config file at `path`.
    package static func load(path: String, environment: [String: String]) throws(ConfigError) -> AgentConfig {
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

        if let agent = try root["agent"]?.mapping(allowed: [
            "flush_interval", "log_level", "cardinality_limit", "health_address", "shard",
        ]) {
            if let v = agent["shard"] {
                let text = try v.string().trimmingBlanks()
                guard let shard = Shard.parse(text) else {
                    throw ConfigError(
                        v.path,
                        "expected INDEX/COUNT with 0 <= INDEX < COUNT (such as 2/3, or obs-agent-2/3), got \"\(text)\"")
                }
                config.shard = shard.count > 1 ? shard : nil
            }
            if let v = agent["health_address"] {
                let text = try v.string()
                if text == "off" {
                    config.healthAddress = nil
                } else {
                    guard let address = XRaySource.Settings.parseAddress(text) else {
                        throw ConfigError(
                            v.path,
                            "expected host:port (such as 127.0.0.1:9099 or 0.0.0.0:9099) or off, got \"\(text)\"")
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
        if let metrics = try root["metrics"]?.mapping(allowed: ["sink", "api_routes"]) {
            if let v = metrics["api_routes"] { config.apiRoutes = try v.bool() }
            if let v = metrics["sink"] {
                config.sink = SinkChoice(rawValue: try v.oneOf(["auto", "cloudwatch", "emf"]))!
            }
        }
        if let aws = try root["aws"]?.mapping(allowed: ["region", "endpoint", "endpoints"]) {
            if let v = aws["region"] { config.region = try v.string().nonEmpty }
            if let v = aws["endpoint"] { config.endpoint = try v.url() }
            if let endpoints = try aws["endpoints"]?.mapping(allowed: AWSService.allCases.map(\.configKey)) {
                for service in AWSService.allCases {
                    if let v = endpoints[service.configKey] { config.endpoints[service] = try v.url() }
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
        if let sections = try root["sources"]?.mapping(allowed: SourceRegistry.builtIn.map(\.key)) {
            let context = SourceParseContext(flushInterval: config.flushInterval, shard: config.shard)
            for registration in SourceRegistry.builtIn {
                guard let node = sections[registration.key] else { continue }
                config.sources[registration.key] = try registration.parse(node, context)
            }
            config.secrets += context.secrets
        }
        return config
    }

}

extension AgentConfig {
    /// The spool directory in force: the config's, else `OBS_SPOOL_DIR`, else systemd's
    /// `STATE_DIRECTORY` (its first entry) plus `/spool`, else `/var/lib/obs-agent/spool`.
    package func resolvedSpoolDirectory(environment: [String: String]) -> String {
        if let spoolDirectory { return spoolDirectory }
        if let directory = environment["OBS_SPOOL_DIR"], !directory.isEmpty { return directory }
        if let state = environment["STATE_DIRECTORY"]?.split(separator: ":").first { return "\(state)/spool" }
        return "/var/lib/obs-agent/spool"
    }
}

extension AgentConfig {
    /// `sources.xray`: the X-Ray daemon stand-in, when configured.
    package var xray: XRaySource.Settings? {
        get { sources[XRaySource.registration.key] as? XRaySource.Settings }
        set { sources[XRaySource.registration.key] = newValue }
    }
    /// `sources.journald`: the journal shipped to CloudWatch Logs, when configured. An empty
    /// ``JournalSettings/stateFile`` means `journald.state` in the spool directory.
    package var journald: JournalSettings? {
        get { sources[JournalSource.registration.key] as? JournalSettings }
        set { sources[JournalSource.registration.key] = newValue }
    }
    /// `sources.postgres`: one entry per database.
    package var postgres: [PostgresSource.Settings] {
        get { sources[PostgresSource.registration.key] as? [PostgresSource.Settings] ?? [] }
        set { sources[PostgresSource.registration.key] = newValue }
    }
    /// `sources.prometheus`: one entry per scraped service.
    package var prometheus: [ScrapeJob] {
        get { sources[PrometheusSource.registration.key] as? [ScrapeJob] ?? [] }
        set { sources[PrometheusSource.registration.key] = newValue }
    }
}
