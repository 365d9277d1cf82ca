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

    /// Where flushed metrics go, and what ships them.
    public struct Delivery: Sendable {
        public var sink: any MetricSink
        /// Shippers that send spooled batches (none for EMF and dry runs).
        public var shippers: [SpoolShipper] = []
        /// The CloudWatch client, when metrics go to CloudWatch.
        public var cloudWatch: AWSClient?
        /// Where X-Ray segments go, when the X-Ray source is on.
        public var traces: XRayTraceSink?
        /// The X-Ray client, for the sampling proxy.
        public var xray: AWSClient?
        /// Where log events go (statement texts), when CloudWatch Logs can be reached.
        public var logs: CloudWatchLogSink?
        /// The journal source, when `sources.journald` is on (it sends its own batches).
        public var journal: JournalSource?
    }

    /// The delivery this config and environment call for. Opening the spool is part of it, so a
    /// spool directory that cannot be used is a config error, reported before anything starts.
    public func makeDelivery() throws(ConfigError) -> Delivery {
        let aws = awsSettings
        let endpoint = aws.endpoint(for: .cloudWatch)
        if options.dryRun {
            return Delivery(
                sink: DryRunMetricSink(endpoint: endpoint ?? "https://monitoring.<region>.amazonaws.com", selfMetrics: recorder.selfMetrics))
        }
        switch config.sink {
        case .emf:
            return Delivery(sink: EMFMetricSink(selfMetrics: recorder.selfMetrics))
        case .cloudWatch, .auto:
            let provider: (any CredentialProvider)?
            do {
                provider = try CredentialChain.resolve(
                    environment: environment, region: aws.region,
                    transport: CurlTransport(connectTimeout: 1, totalTimeout: 5, label: "credentials"),
                    metadataTransport: CurlTransport(connectTimeout: 1, totalTimeout: 1, label: "imds"))
            } catch {
                throw ConfigError("credentials", error.description)
            }
            guard let provider, let endpoint else {
                if config.xray != nil {
                    throw ConfigError("sources.xray", "X-Ray segments need AWS credentials and a region or endpoint to go to")
                }
                if config.journald?.enabled == true {
                    throw ConfigError("sources.journald", "the journal goes to CloudWatch Logs: it needs AWS credentials and a region or endpoint")
                }
                if config.sink == .cloudWatch {
                    throw ConfigError(
                        "metrics.sink",
                        "cloudwatch needs credentials (environment, profile, web identity, container or instance metadata) and a region or endpoint")
                }
                return Delivery(sink: EMFMetricSink(selfMetrics: recorder.selfMetrics))
            }
            let credentials = RefreshingCredentials(provider, onNewSecret: { SecretRedactor.shared.register($0) })
            let client = AWSClient(
                service: .cloudWatch, endpoint: endpoint, region: aws.region ?? "us-east-1", credentials: credentials,
                transport: CurlTransport(connectTimeout: config.connectTimeout, totalTimeout: config.requestTimeout, label: "cloudwatch"))
            let directory = config.resolvedSpoolDirectory(environment: environment)
            let spool: DiskSpool
            do {
                spool = try DiskSpool(directory: directory, maxBytes: config.spoolMaxBytes, selfMetrics: recorder.selfMetrics)
            } catch {
                throw ConfigError("delivery.spool_directory", "\(error) (set delivery.spool_directory or OBS_SPOOL_DIR)")
            }
            var shippers = [
                SpoolShipper(spool: spool, sender: PutMetricDataSender(client: client), selfMetrics: recorder.selfMetrics, logger: logger)
            ]
            var traces: XRayTraceSink?
            var xray: AWSClient?
            if config.xray != nil, let xrayEndpoint = aws.endpoint(for: .xRay) {
                let sink = XRayTraceSink(spool: spool, selfMetrics: recorder.selfMetrics, logger: logger)
                // Eight requests at once, each on a connection of its own: 50 segments a call, so
                // that tens of thousands of segments a second get through an endpoint's latency.
                let traceWorkers = 8
                let xrayClient = AWSClient(
                    service: .xRay, endpoint: xrayEndpoint, region: aws.region ?? "us-east-1", credentials: credentials,
                    transport: CurlTransportPool(count: traceWorkers) {
                        CurlTransport(connectTimeout: config.connectTimeout, totalTimeout: config.requestTimeout, label: "xray")
                    })
                shippers.append(
                    SpoolShipper(
                        spool: spool, sender: PutTraceSegmentsSender(client: xrayClient, sink: sink), selfMetrics: recorder.selfMetrics,
                        logger: logger, concurrency: traceWorkers))
                traces = sink
                xray = xrayClient
            }
            var logs: CloudWatchLogSink?
            var journal: JournalSource?
            let logsClient = aws.endpoint(for: .cloudWatchLogs).map { logsEndpoint in
                AWSClient(
                    service: .cloudWatchLogs, endpoint: logsEndpoint, region: aws.region ?? "us-east-1", credentials: credentials,
                    transport: CurlTransport(connectTimeout: config.connectTimeout, totalTimeout: config.requestTimeout, label: "logs"))
            }
            if config.postgres.contains(where: { $0.topStatements > 0 }), let logsClient {
                let sink = CloudWatchLogSink(spool: spool, selfMetrics: recorder.selfMetrics, logger: logger)
                shippers.append(
                    SpoolShipper(spool: spool, sender: PutLogEventsSender(client: logsClient), selfMetrics: recorder.selfMetrics, logger: logger))
                logs = sink
            }
            if var settings = config.journald, settings.enabled, let logsClient {
                if settings.stateFile.isEmpty { settings.stateFile = directory + "/journald.state" }
                journal = JournalSource(settings: settings, recorder: recorder, sender: PutLogEventsSender(client: logsClient), logger: logger)
            }
            return Delivery(
                sink: CloudWatchMetricSink(spool: spool, compress: config.compress, selfMetrics: recorder.selfMetrics, logger: logger),
                shippers: shippers, cloudWatch: client, traces: traces, xray: xray, logs: logs, journal: journal)
        }
    }

    /// The PostgreSQL sources; statement texts go to `logs` when given.
    public func makeSources(logs: CloudWatchLogSink? = nil) -> [PostgresSource] {
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
                "version": "\(BuildInfo.version)", "sink": "\(sink.name)", "flush_interval": "\(config.flushInterval)",
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
