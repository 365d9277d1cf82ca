import FoundationEssentials
import ObsCatalog
import ObsCore
import ObsSource

#if canImport(Glibc)
    import Glibc
#endif

extension PrometheusSource: Source {
    public var name: String { "prometheus(\(job.service))" }

    /// One more scrape of every instance, so that the counters' final deltas reach the last flush.
    public func finish(within seconds: Double) async {
        await scrapeAll()
    }
}

extension PrometheusSource {
    /// What scraping Spring actuator and Keycloak endpoints yields: pool gauges, API requests and
    /// latencies, login counts, and each scrape's own health.
    package static let metrics: [MetricDefinition] =
        PoolMetrics.all + APIMetrics.all
        + AuthMetrics.all.filter { $0.id != AuthMetrics.failingUsers.id && $0.id != AuthMetrics.failingAddresses.id }
        + [AgentMetrics.scrapeUp, AgentMetrics.scrapeDuration, AgentMetrics.scrapeSamples]

    /// `sources.prometheus`: a list, one entry per scraped service (docs/CONFIG.md).
    package static let registration = SourceRegistration<[ScrapeJob]>(
        key: "prometheus", metrics: metrics,
        parse: { (node, context) throws(ConfigError) -> [ScrapeJob] in
            var jobs: [ScrapeJob] = []
            for entry in try node.sequence() {
                var job = try scrapeJob(entry, defaultInterval: min(15, context.flushInterval))
                job.shard = context.shard
                guard !jobs.contains(where: { $0.service == job.service }) else {
                    throw ConfigError(entry.path + ".service", "service \"\(job.service)\" is listed twice")
                }
                jobs.append(job)
            }
            return jobs
        },
        isEnabled: { !$0.isEmpty },
        emitted: { $0.isEmpty ? [] : metrics },
        targets: { jobs in AlarmTargets(services: jobs.map(\.service), databases: []) },
        describe: { jobs in jobs.map(\.service).joined(separator: ",") },
        make: { jobs, context in
            jobs.map {
                PrometheusSource(
                    job: $0, recorder: context.recorder, logger: context.logger, onSecret: context.onSecret)
            }
        },
        check: { jobs, context in
            var lines: [SourceCheck] = []
            for job in jobs {
                let source = PrometheusSource(
                    job: job, recorder: context.recorder, logger: context.logger, onSecret: context.onSecret)
                for line in await source.check() {
                    lines.append(SourceCheck(target: line.target, ok: line.ok, detail: line.detail))
                }
            }
            return lines
        })

    static let keys = [
        "service", "urls", "dns_a", "dns_srv", "scheme", "path", "interval", "timeout", "refresh_interval",
        "bearer_token_file",
        "basic_auth", "ca_file", "dns_server", "max_response_bytes",
    ]

    /// One `sources.prometheus` entry: `service` and one of `urls`, `dns_a` or `dns_srv`.
    package static func scrapeJob(_ node: ConfigNode, defaultInterval: Double) throws(ConfigError) -> ScrapeJob {
        let keys = try node.mapping(allowed: keys)
        guard let service = try keys["service"]?.string().nonEmpty else {
            throw ConfigError(node.path + ".service", "required")
        }
        let given = ["urls", "dns_a", "dns_srv"].filter { keys[$0] != nil }
        guard given.count == 1 else {
            throw ConfigError(
                node.path,
                "give exactly one of urls, dns_a or dns_srv (got \(given.isEmpty ? "none" : given.joined(separator: ", ")))"
            )
        }
        let discovery: ScrapeJob.Discovery
        if let list = try keys["urls"]?.sequence() {
            var urls: [String] = []
            for entry in list {
                let text = try entry.url()
                let authority =
                    text.split(separator: "/", maxSplits: 3, omittingEmptySubsequences: false).dropFirst(2).first ?? ""
                guard !authority.contains("@") else {
                    throw ConfigError(
                        entry.path, "credentials do not belong in the URL: use basic_auth or bearer_token_file")
                }
                urls.append(text)
            }
            guard !urls.isEmpty else { throw ConfigError(node.path + ".urls", "list at least one URL") }
            discovery = .urls(urls)
        } else if let v = keys["dns_a"] {
            let text = try v.string()
            guard let (host, port) = hostPort(text) else {
                throw ConfigError(v.path, "expected host:port (such as user-service.ecom.local:8080), got \"\(text)\"")
            }
            discovery = .dnsA(host: host, port: port)
        } else {
            let name = try keys["dns_srv"]!.string().trimmingBlanks()
            guard name.contains("."), !name.contains(" ") else {
                throw ConfigError(
                    node.path + ".dns_srv",
                    "expected an SRV name such as _user-service._tcp.ecom.local, got \"\(name)\"")
            }
            discovery = .dnsSRV(name)
        }
        var job = ScrapeJob(service: service, discovery: discovery)
        if let v = keys["scheme"] { job.scheme = try v.oneOf(["http", "https"]) }
        if let v = keys["path"] {
            let path = try v.string()
            guard path.hasPrefix("/") else {
                throw ConfigError(v.path, "expected a path starting with /, got \"\(path)\"")
            }
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
            guard job.bearerTokenFile == nil else {
                throw ConfigError(node.path + ".basic_auth", "give basic_auth or bearer_token_file, not both")
            }
            guard let user = try basic["username"]?.string().nonEmpty else {
                throw ConfigError(node.path + ".basic_auth.username", "required")
            }
            job.basicUsername = user
            job.basicPasswordFile = try basic["password_file"]?.string().nonEmpty
        }
        for (key, file) in [
            ("bearer_token_file", job.bearerTokenFile), ("basic_auth.password_file", job.basicPasswordFile),
        ] {
            if let file, !FileManager.default.isReadableFile(atPath: file) {
                throw ConfigError(node.path + ".\(key)", "cannot read \(file)")
            }
        }
        if let v = keys["ca_file"] {
            let file = try v.string()
            guard FileManager.default.isReadableFile(atPath: file) else {
                throw ConfigError(v.path, "cannot read \(file)")
            }
            job.caFile = file
        }
        // Empty is the system's resolver, as without the key (`dns_server: ${OBS_DNS_SERVER:-}`).
        if let v = keys["dns_server"], case let text = try v.string(), !text.isEmpty {
            guard hostPort(text) != nil else { throw ConfigError(v.path, "expected ip:port, got \"\(text)\"") }
            job.dnsServer = text
        }
        if let v = keys["max_response_bytes"] { job.maxResponseBytes = try v.bytes(in: (64 << 10)...(1 << 30)) }
        return job
    }
}
