#if canImport(Glibc)
import Glibc
#endif
import FoundationEssentials
import Logging
import ObsAWS
import ObsCatalog
import ObsCore
import ObsDelivery
import ObsJournal
import ObsPostgres
import ObsPrometheus
import ObsXRay

/// The agent: its sources, the recorder and aggregator between them and the sink, run as one
/// service group with graceful shutdown on SIGTERM and SIGINT.
public struct Agent: Sendable {
    /// How this run differs from a plain one.
    public struct RunOptions: Sendable {
        /// Run the sources for one flush interval, flush, and exit.
        public var once = false
        /// Print the requests instead of sending them.
        public var dryRun = false
        /// The longest graceful shutdown before the group is cancelled (ECS allows 30 s).
        public var shutdownDeadline: Double = 25

        public init(once: Bool = false, dryRun: Bool = false) {
            self.once = once
            self.dryRun = dryRun
        }
    }

    public let config: AgentConfig
    public let environment: [String: String]
    public let options: RunOptions
    public let logger: Logger
    public let recorder: Recorder
    public let aggregator: Aggregator

    public init(config: AgentConfig, environment: [String: String], options: RunOptions, logger: Logger) {
        self.config = config
        self.environment = environment
        self.options = options
        self.logger = logger
        self.recorder = Recorder(cardinalityLimit: config.cardinalityLimit)
        self.aggregator = Aggregator(recorder: recorder, rollups: Catalog.builtIn.rollups)
    }

    public var awsSettings: AWSSettings {
        AWSSettings.resolve(
            environment: environment, configRegion: config.region, configEndpoint: config.endpoint,
            configEndpoints: config.endpoints)
    }

    /// Where each signal goes, each chosen on its own: metrics (CloudWatch, EMF or the dry run),
    /// trace segments (X-Ray or the dry run) and log events (CloudWatch Logs or the dry run; the
    /// statement texts also standard output when metrics go out as EMF without AWS), and what
    /// ships the spooled ones. A signal a configured source makes always has a route: the metric
    /// sink never decides whether traces or logs are sent.
    public struct Delivery: Sendable {
        public var sink: any MetricSink
        /// Shippers that send spooled batches (none when nothing goes to AWS).
        public var shippers: [SpoolShipper] = []
        /// The CloudWatch client, when metrics go to CloudWatch (`obs-agent check` asks it).
        public var cloudWatch: AWSClient?
        /// Where X-Ray segments go, when the X-Ray source is on.
        public var traces: (any TraceSink)?
        /// The X-Ray client, for the sampling proxy (not in dry runs).
        public var xray: AWSClient?
        /// Where PostgreSQL statement texts go, when a database samples statements.
        public var logs: (any LogSink)?
        /// What sends the journal's batches, when `sources.journald` is on.
        public var journalSender: (any BatchSender)?
        /// The journal source, when `sources.journald` is on.
        public var journal: JournalSource?

        /// Each signal's route, for the start log line: `metrics=cloudwatch traces=xray ...`.
        public var routes: [String: String] {
            var routes = ["metrics": sink.name]
            if let traces { routes["traces"] = traces.name }
            if let logs { routes["statement_texts"] = logs.name }
            if let journalSender { routes["journal"] = journalSender is DryRunBatchSender ? "dry-run" : "cloudwatch-logs" }
            return routes
        }
    }

    /// Whether a database of the config sends statement texts to a log route.
    var sendsStatementTexts: Bool { config.postgres.contains { $0.topStatements > 0 } }

    /// The delivery this config and environment call for. Opening the spool is part of it, so a
    /// spool directory that cannot be used is a config error, reported before anything starts; so
    /// is a configured source whose signal cannot go where it must (no credentials, no region).
    public func makeDelivery() throws(ConfigError) -> Delivery {
        let aws = awsSettings
        let journalEnabled = config.journald?.enabled == true
        if options.dryRun {
            let region = aws.region ?? "<region>"
            func endpoint(_ service: AWSService) -> String { aws.endpoint(for: service) ?? service.defaultEndpoint(region: region) }
            var delivery = Delivery(
                sink: DryRunMetricSink(endpoint: endpoint(.cloudWatch), selfMetrics: recorder.selfMetrics))
            if config.xray != nil { delivery.traces = DryRunTraceSink(endpoint: endpoint(.xRay), selfMetrics: recorder.selfMetrics) }
            if sendsStatementTexts { delivery.logs = DryRunLogSink(endpoint: endpoint(.cloudWatchLogs), selfMetrics: recorder.selfMetrics) }
            if var settings = config.journald, settings.enabled {
                // A dry run sends nothing, so it saves no cursor: the next real run sends it all.
                settings.savesState = false
                if settings.stateFile.isEmpty { settings.stateFile = config.resolvedSpoolDirectory(environment: environment) + "/journald.state" }
                let sender = DryRunBatchSender(endpoint: endpoint(.cloudWatchLogs))
                delivery.journalSender = sender
                delivery.journal = JournalSource(settings: settings, recorder: recorder, sender: sender, logger: logger)
            }
            return delivery
        }

        // AWS is set up once, and only when a route needs it.
        var access: Result<AWSAccess, AWSAccess.Problem>?
        func resolveAccess() -> Result<AWSAccess, AWSAccess.Problem> {
            if let access { return access }
            let resolved = Result { () throws(AWSAccess.Problem) -> AWSAccess in
                try AWSAccess.resolve(settings: aws, environment: environment, onNewSecret: { SecretRedactor.shared.register($0) })
            }
            access = resolved
            return resolved
        }
        /// A client for `service`, or the config error naming `key`: what needs it, and what is missing.
        func client(_ service: AWSService, for key: String, _ what: String, transport: @autoclosure () -> any HTTPTransport)
            throws(ConfigError) -> AWSClient
        {
            let access: AWSAccess
            switch resolveAccess() {
            case .success(let resolved): access = resolved
            case .failure(let problem): throw ConfigError(key, "\(what) needs AWS: \(problem)")
            }
            guard let client = access.client(for: service, transport: transport()) else {
                throw ConfigError(
                    key, "\(what) needs a region (aws.region, AWS_REGION) or an endpoint (aws.endpoint, \(service.endpointVariable))")
            }
            return client
        }
        var spool: DiskSpool?
        func openSpool() throws(ConfigError) -> DiskSpool {
            if let spool { return spool }
            do {
                let opened = try DiskSpool(
                    directory: config.resolvedSpoolDirectory(environment: environment), maxBytes: config.spoolMaxBytes,
                    selfMetrics: recorder.selfMetrics)
                spool = opened
                return opened
            } catch {
                throw ConfigError("delivery.spool_directory", "\(error) (set delivery.spool_directory or OBS_SPOOL_DIR)")
            }
        }
        func transport(_ label: String) -> CurlTransport {
            CurlTransport(connectTimeout: config.connectTimeout, totalTimeout: config.requestTimeout, label: label)
        }
        let selfMetrics = recorder.selfMetrics
        var shippers: [SpoolShipper] = []

        // Metrics.
        let sink: any MetricSink
        let metricsClient: AWSClient?
        switch config.sink {
        case .emf:
            metricsClient = nil
        case .cloudWatch:
            metricsClient = try client(.cloudWatch, for: "metrics.sink", "cloudwatch", transport: transport("cloudwatch"))
        case .auto:
            // CloudWatch when AWS can be reached, else EMF on standard output (said in the start line).
            metricsClient = try? client(.cloudWatch, for: "metrics.sink", "cloudwatch", transport: transport("cloudwatch"))
        }
        if let metricsClient {
            let spool = try openSpool()
            sink = CloudWatchMetricSink(spool: spool, compress: config.compress, selfMetrics: selfMetrics, logger: logger)
            shippers.append(SpoolShipper(spool: spool, sender: PutMetricDataSender(client: metricsClient), selfMetrics: selfMetrics, logger: logger))
        } else {
            sink = EMFMetricSink(selfMetrics: selfMetrics)
        }
        var delivery = Delivery(sink: sink, cloudWatch: metricsClient)

        // Traces.
        if config.xray != nil {
            // Eight requests at once, each on a connection of its own: 50 segments a call, so that
            // tens of thousands of segments a second get through an endpoint's latency.
            let traceWorkers = 8
            let xrayClient = try client(
                .xRay, for: "sources.xray", "sending trace segments to X-Ray",
                transport: CurlTransportPool(count: traceWorkers) { transport("xray") })
            let spool = try openSpool()
            let traces = XRayTraceSink(spool: spool, selfMetrics: selfMetrics, logger: logger)
            shippers.append(
                SpoolShipper(
                    spool: spool, sender: PutTraceSegmentsSender(client: xrayClient, sink: traces), selfMetrics: selfMetrics, logger: logger,
                    concurrency: traceWorkers))
            delivery.traces = traces
            delivery.xray = xrayClient
        }

        // Logs: statement texts and the journal.
        var logsClient: AWSClient?
        func logs(for key: String, _ what: String) throws(ConfigError) -> AWSClient {
            if let logsClient { return logsClient }
            let made = try client(.cloudWatchLogs, for: key, what, transport: transport("logs"))
            logsClient = made
            return made
        }
        if sendsStatementTexts {
            let index = config.postgres.firstIndex { $0.topStatements > 0 } ?? 0
            let key = "sources.postgres[\(index)].top_statements"
            let what = "sending statement texts to CloudWatch Logs"
            if metricsClient == nil, case .failure = resolveAccess() {
                // Metrics go out as EMF on standard output and AWS cannot be reached: the texts go
                // there too, where the container's log driver takes the EMF lines.
                delivery.logs = StandardOutputLogSink(selfMetrics: selfMetrics)
            } else {
                let spool = try openSpool()
                let client = try logs(for: key, what)
                shippers.append(SpoolShipper(spool: spool, sender: PutLogEventsSender(client: client), selfMetrics: selfMetrics, logger: logger))
                delivery.logs = CloudWatchLogSink(spool: spool, selfMetrics: selfMetrics, logger: logger)
            }
        }
        if var settings = config.journald, journalEnabled {
            let sender = PutLogEventsSender(client: try logs(for: "sources.journald", "shipping the journal to CloudWatch Logs"))
            if settings.stateFile.isEmpty { settings.stateFile = config.resolvedSpoolDirectory(environment: environment) + "/journald.state" }
            delivery.journalSender = sender
            delivery.journal = JournalSource(settings: settings, recorder: recorder, sender: sender, logger: logger)
        }
        delivery.shippers = shippers
        return delivery
    }

    /// The PostgreSQL sources; statement texts go to `logs` when given.
    public func makeSources(logs: (any LogSink)? = nil) -> [PostgresSource] {
        config.postgres.map { settings in
            PostgresSource(settings: settings, recorder: recorder, logger: logger) { texts in
                guard let logs else { return }
                let now = Int64(Date().timeIntervalSince1970 * 1000)
                let events = texts.map { text in
                    CloudWatchLogEvent(
                        timestamp: now,
                        message: "{\"dbInstance\":\(JSONText.quoted(text.instance)),\"database\":\(JSONText.quoted(text.database)),\"queryId\":\(JSONText.quoted(text.queryID)),\"query\":\(JSONText.quoted(text.query))}")
                }
                logs.publish(group: settings.statementsLogGroup, stream: "\(settings.instance)/\(settings.connection.database)", events: events, now: now)
            }
        }
    }

    /// Runs until SIGTERM or SIGINT (or, with `once`, for one flush interval), then flushes.
    /// - Parameter prepared: the delivery from ``makeDelivery()``, when the caller made it already
    ///   (to report config errors before starting).
    public func run(delivery prepared: Delivery? = nil) async throws {
        let delivery = try prepared ?? makeDelivery()
        let sink = delivery.sink
        let sources = makeSources(logs: delivery.logs)
        logger.info(
            "obs-agent starting",
            metadata: [
                "version": "\(BuildInfo.version)", "sink": "\(sink.name)",
                "routes": "\(delivery.routes.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))", "flush_interval": "\(config.flushInterval)",
                "sources.postgres": "\(sources.map { "\($0.settings.instance)/\($0.settings.connection.database)" })",
                "sources.prometheus": "\(config.prometheus.map(\.service))",
                "sources.journald": "\(config.journald.flatMap { $0.enabled ? $0.directory ?? "local" : nil } ?? "off")",
            ])
        let flusher = FlushService(
            aggregator: aggregator, sink: sink, interval: config.flushInterval,
            highResolution: Catalog.builtIn.definitions.contains { $0.descriptor.isHighResolution },
            reporter: SelfMetricsReporter(recorder: recorder, shippers: delivery.shippers), logger: logger)
        var services: [ServiceGroup.Entry] = []
        if let address = config.healthAddress {
            services.append(
                .init(
                    service: HealthService(
                        host: address.host, port: address.port, recorder: recorder, shippers: delivery.shippers, heartbeat: flusher.heartbeat,
                        stuckAfter: 3 * config.flushInterval + 30, logger: logger),
                    // An address in use must not stop the agent: the endpoint is missing, which the
                    // log says, and everything else runs.
                    ignoresTermination: true))
        }
        services += delivery.shippers.map {
            .init(service: ShipperService(shipper: $0, shutdownTimeout: config.shutdownTimeout))
        }
        services.append(.init(service: flusher))
        services += sources.map { .init(service: PostgresService(source: $0)) }
        services += config.prometheus.map { job in
            .init(
                service: PrometheusService(
                    source: PrometheusSource(job: job, recorder: recorder, logger: logger, onSecret: { SecretRedactor.shared.register($0) })))
        }
        if let settings = config.xray, let traces = delivery.traces {
            let source: XRaySource
            do {
                source = try XRaySource(settings: settings, recorder: recorder, logger: logger) { traces.publish($0) }
            } catch {
                throw ConfigError("sources.xray.address", error.description)
            }
            services.append(.init(service: XRayService(source: source, sink: traces)))
            if let client = delivery.xray {
                do {
                    services.append(.init(service: try XRaySamplingProxy(host: settings.host, port: source.port, client: client)))
                } catch {
                    throw ConfigError("sources.xray.address", "\(error) (TCP, for sampling)")
                }
            }
        }
        if let journal = delivery.journal {
            services.append(.init(service: JournalService(source: journal, shutdownTimeout: config.shutdownTimeout)))
        }
        if options.once {
            services.append(.init(service: OnceTrigger(interval: config.flushInterval), shutsDownGroupOnSuccess: true))
        }
        try await ServiceGroup(
            entries: services, signals: [SIGTERM, SIGINT], maximumGracefulShutdownDuration: options.shutdownDeadline, logger: logger
        ).run()
        let counts = recorder.selfMetrics.snapshot(ringDrops: recorder.ringDrops).map { "\($0.key.rawValue)=\($0.value)" }.sorted()
        logger.info("obs-agent stopped", metadata: ["self.counts": "\(counts)"])
    }
}
