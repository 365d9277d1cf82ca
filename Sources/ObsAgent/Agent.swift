import FoundationEssentials
import Logging
import ObsAWS
import ObsCatalog
import ObsCore
import ObsDelivery
import ObsNet
import ObsSource
import ObsXRay

#if canImport(Glibc)
    import Glibc
#endif

/// The agent: its sources, the recorder and aggregator between them and the sink, run as one
/// service group with graceful shutdown on SIGTERM and SIGINT.
public struct Agent: Sendable {
    /// How this run differs from a plain one.
    public struct RunOptions: Sendable {
        /// Run the sources for a short window (``window``, else ``onceWindow``, whatever the flush
        /// interval), take the last samples, flush, and exit.
        package var once = false
        /// How long `once` runs the sources (`--for`); nil for the default.
        package var window: Double?
        /// The default window of `once`: long enough for every source's first sample, short
        /// enough to wait for.
        public static let onceWindow: Double = 5
        /// Print the requests instead of sending them.
        package var dryRun = false
        /// The longest graceful shutdown before the group is cancelled (ECS allows 30 s).
        package var shutdownDeadline: Double = 25

        package init(once: Bool = false, dryRun: Bool = false) {
            self.once = once
            self.dryRun = dryRun
        }
    }

    package let config: AgentConfig
    package let environment: [String: String]
    package let options: RunOptions
    package let logger: Logger
    package let recorder: Recorder
    package let aggregator: Aggregator

    package init(config: AgentConfig, environment: [String: String], options: RunOptions, logger: Logger) {
        self.config = config
        self.environment = environment
        self.options = options
        self.logger = logger
        self.recorder = Recorder(cardinalityLimit: config.cardinalityLimit)
        self.aggregator = Aggregator(
            recorder: recorder, rollups: SourceRegistry.catalog.rollups,
            rollupsOnly: SourceRegistry.catalog.rollupsOnly(apiRoutes: config.apiRoutes))
    }

    package var awsSettings: AWSSettings {
        AWSSettings.resolve(
            environment: environment, configRegion: config.region, configEndpoint: config.endpoint,
            configEndpoints: config.endpoints)
    }

    /// Where each signal goes, each chosen on its own: metrics (CloudWatch, EMF or the dry run),
    /// trace segments (X-Ray or the dry run), log events (CloudWatch Logs, standard output beside
    /// EMF lines, or the dry run) and log batches of a source that is its own spool (CloudWatch
    /// Logs or the dry run), and what ships the spooled ones. A signal a configured source makes
    /// always has a route: the metric sink never decides whether traces or logs are sent.
    public struct Delivery: Sendable {
        package var sink: any MetricSink
        /// Shippers that send spooled batches (none when nothing goes to AWS).
        package var shippers: [SpoolShipper] = []
        /// The CloudWatch client, when metrics go to CloudWatch (`obs-agent check` asks it).
        package var cloudWatch: AWSClient?
        /// Where trace segments go, when a source makes them.
        package var traces: (any TraceSink)?
        /// The X-Ray client, for the sampling proxy (not in dry runs).
        package var xray: AWSClient?
        /// Where log events go (PostgreSQL statement texts), when a source makes them.
        package var logs: (any LogSink)?
        /// What sends the log batches of a source that is its own spool (the journal).
        package var logBatches: (any BatchOutlet)?

        /// Each signal's route, for the start log line: `metrics=cloudwatch traces=xray ...`.
        package var routes: [String: String] {
            var routes = ["metrics": sink.name]
            if let traces { routes["traces"] = traces.name }
            if let logs { routes["log_events"] = logs.name }
            if let logBatches { routes["log_batches"] = logBatches.name }
            return routes
        }
    }

    /// What the config's sources make besides metrics, each with the key that asks for it.
    var signalNeeds: [SignalNeed] {
        config.enabledSources.flatMap { $0.registration.needs($0.settings) }
    }

    /// The delivery this config and environment call for. Opening the spool is part of it, so a
    /// spool directory that cannot be used is a config error, reported before anything starts; so
    /// is a configured source whose signal cannot go where it must (no credentials, no region).
    package func makeDelivery() throws(ConfigError) -> Delivery {
        let aws = awsSettings
        let needs = signalNeeds
        func need(_ signal: SignalNeed.Signal) -> SignalNeed? { needs.first { $0.signal == signal } }
        let selfMetrics = recorder.selfMetrics
        if options.dryRun {
            let region = aws.region ?? "<region>"
            func printer(_ service: AWSService) -> DryRunPrinter {
                DryRunPrinter(endpoint: aws.endpoint(for: service) ?? service.defaultEndpoint(region: region))
            }
            var delivery = Delivery(sink: DryRunMetricSink(printer: printer(.cloudWatch), selfMetrics: selfMetrics))
            if need(.traces) != nil {
                delivery.traces = DryRunTraceSink(printer: printer(.xRay), selfMetrics: selfMetrics)
            }
            if need(.logEvents) != nil {
                delivery.logs = DryRunLogSink(printer: printer(.cloudWatchLogs), selfMetrics: selfMetrics)
            }
            if need(.logBatches) != nil {
                delivery.logBatches = BatchDeliverer(
                    name: "dry-run", sender: DryRunBatchSender(printer: printer(.cloudWatchLogs)), recorder: recorder,
                    healthName: "dry-run", logger: logger)
            }
            return delivery
        }

        // AWS is set up once, and only when a route needs it.
        var access: Result<AWSAccess, AWSAccess.Problem>?
        func resolveAccess() -> Result<AWSAccess, AWSAccess.Problem> {
            if let access { return access }
            let resolved = Result { () throws(AWSAccess.Problem) -> AWSAccess in
                try AWSAccess.resolve(
                    settings: aws, environment: environment, onNewSecret: { SecretRedactor.shared.register($0) })
            }
            access = resolved
            return resolved
        }
        /// A client for `service`, or the config error naming what needs it and what is missing.
        func client(_ service: AWSService, for need: SignalNeed, transport: @autoclosure () -> any HTTPTransport)
            throws(ConfigError)
            -> AWSClient
        {
            // The region first: without one nothing can be sent, and the credential chain (which
            // starts libcurl and OpenSSL for instance metadata) is not worth setting up.
            guard aws.endpoint(for: service) != nil else {
                throw ConfigError(
                    need.key,
                    "\(need.what) needs a region (aws.region, AWS_REGION) or an endpoint (aws.endpoint, \(service.endpointVariable))"
                )
            }
            switch resolveAccess() {
            case .success(let access): return access.client(for: service, transport: transport())!
            case .failure(let problem): throw ConfigError(need.key, "\(need.what) needs AWS: \(problem)")
            }
        }
        var spool: DiskSpool?
        func openSpool() throws(ConfigError) -> DiskSpool {
            if let spool { return spool }
            do {
                let opened = try DiskSpool(
                    directory: config.resolvedSpoolDirectory(environment: environment), maxBytes: config.spoolMaxBytes,
                    selfMetrics: selfMetrics)
                spool = opened
                return opened
            } catch {
                throw ConfigError(
                    "delivery.spool_directory", "\(error) (set delivery.spool_directory or OBS_SPOOL_DIR)")
            }
        }
        func transport(_ label: String) -> CurlTransport {
            CurlTransport(connectTimeout: config.connectTimeout, totalTimeout: config.requestTimeout, label: label)
        }
        var shippers: [SpoolShipper] = []

        // Metrics.
        // Metrics are not a SignalNeed (every source makes them); the key and words are the sink's.
        let metricsNeed = SignalNeed(.metrics, key: "metrics.sink", what: "cloudwatch")
        let metricsClient: AWSClient?
        switch config.sink {
        case .emf: metricsClient = nil
        case .cloudWatch: metricsClient = try client(.cloudWatch, for: metricsNeed, transport: transport("cloudwatch"))
        // CloudWatch when AWS can be reached, else EMF on standard output (said in the start line).
        case .auto: metricsClient = try? client(.cloudWatch, for: metricsNeed, transport: transport("cloudwatch"))
        }
        var delivery: Delivery
        if let metricsClient {
            let spool = try openSpool()
            delivery = Delivery(
                sink: CloudWatchMetricSink(
                    spool: spool, compress: config.compress, selfMetrics: selfMetrics, logger: logger),
                cloudWatch: metricsClient)
            shippers.append(
                SpoolShipper(
                    spool: spool, sender: PutMetricDataSender(client: metricsClient), selfMetrics: selfMetrics,
                    logger: logger))
        } else {
            delivery = Delivery(sink: EMFMetricSink(selfMetrics: selfMetrics))
        }

        // Traces.
        if let need = need(.traces) {
            // Eight requests at once, each on a connection of its own: 50 segments a call, so that
            // tens of thousands of segments a second get through an endpoint's latency.
            let traceWorkers = 8
            let xrayClient = try client(
                .xRay, for: need, transport: CurlTransportPool(count: traceWorkers) { transport("xray") })
            let spool = try openSpool()
            let traces = XRayTraceSink(spool: spool, selfMetrics: selfMetrics, logger: logger)
            shippers.append(
                SpoolShipper(
                    spool: spool, sender: PutTraceSegmentsSender(client: xrayClient, sink: traces),
                    selfMetrics: selfMetrics, logger: logger,
                    concurrency: traceWorkers))
            delivery.traces = traces
            delivery.xray = xrayClient
        }

        // Logs: events (statement texts) and batches (the journal), one client for both.
        var logsClient: AWSClient?
        func logs(for need: SignalNeed) throws(ConfigError) -> AWSClient {
            if let logsClient { return logsClient }
            let made = try client(.cloudWatchLogs, for: need, transport: transport("logs"))
            logsClient = made
            return made
        }
        if let need = need(.logEvents) {
            // With metrics as EMF on standard output, events CloudWatch Logs cannot take (no
            // credentials, no region or endpoint) go there too, where the container's log driver
            // takes the EMF lines; with metrics going to CloudWatch, a missing logs route is an error.
            let client = metricsClient == nil ? try? logs(for: need) : try logs(for: need)
            if let client {
                let spool = try openSpool()
                shippers.append(
                    SpoolShipper(
                        spool: spool, sender: PutLogEventsSender(client: client), selfMetrics: selfMetrics,
                        logger: logger))
                delivery.logs = CloudWatchLogSink(spool: spool, selfMetrics: selfMetrics, logger: logger)
            } else {
                delivery.logs = StandardOutputLogSink(selfMetrics: selfMetrics)
            }
        }
        if let need = need(.logBatches) {
            delivery.logBatches = BatchDeliverer(
                name: "cloudwatch-logs", sender: PutLogEventsSender(client: try logs(for: need)), recorder: recorder,
                healthName: need.key, logger: logger)
        }
        delivery.shippers = shippers
        return delivery
    }

    /// What the sources are given: the recorder, the routes of their signals, where state is kept.
    func sourceContext(_ delivery: Delivery?) -> SourceContext {
        SourceContext(
            recorder: recorder, logger: logger, traces: delivery?.traces, logs: delivery?.logs,
            logBatches: delivery?.logBatches,
            stateDirectory: config.resolvedSpoolDirectory(environment: environment), dryRun: options.dryRun,
            onSecret: { SecretRedactor.shared.register($0) })
    }

    /// The running sources of the config, in the registry's order.
    package func makeSources(delivery: Delivery) throws(ConfigError) -> [any Source] {
        let context = sourceContext(delivery)
        var sources: [any Source] = []
        for (registration, settings) in config.enabledSources { sources += try registration.make(settings, context) }
        return sources
    }

    /// Runs until SIGTERM or SIGINT (or, with `once`, for one flush interval), then flushes.
    /// - Parameter prepared: the delivery from ``makeDelivery()``, when the caller made it already
    ///   (to report config errors before starting).
    public func run(delivery prepared: Delivery? = nil) async throws {
        let delivery = try prepared ?? makeDelivery()
        let sink = delivery.sink
        let sources = try makeSources(delivery: delivery)
        var started: Logger.Metadata = [
            "version": "\(BuildInfo.version)", "sink": "\(sink.name)",
            "routes":
                "\(delivery.routes.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))",
            "flush_interval": "\(config.flushInterval)",
        ]
        if let shard = config.shard { started["shard"] = "\(shard)" }
        for (registration, settings) in config.enabledSources {
            started["sources.\(registration.key)"] = "\(registration.describe(settings))"
        }
        logger.info("obs-agent starting", metadata: started)
        let flusher = FlushService(
            aggregator: aggregator, sink: sink, interval: config.flushInterval,
            highResolution: SourceRegistry.catalog.definitions.contains { $0.descriptor.isHighResolution },
            reporter: SelfMetricsReporter(recorder: recorder, shippers: delivery.shippers), logger: logger)
        var services: [ServiceGroup.Entry] = []
        if let address = config.healthAddress {
            services.append(
                .init(
                    service: HealthService(
                        host: address.host, port: address.port, recorder: recorder, shippers: delivery.shippers,
                        heartbeat: flusher.heartbeat,
                        stuckAfter: 3 * config.flushInterval + 30, logger: logger),
                    // An address in use must not stop the agent: the endpoint is missing, which the
                    // log says, and everything else runs.
                    ignoresTermination: true))
        }
        services += delivery.shippers.map {
            .init(service: ShipperService(shipper: $0, shutdownTimeout: config.shutdownTimeout))
        }
        services.append(.init(service: flusher))
        for source in sources {
            services.append(.init(service: SourceService(source: source, shutdownTimeout: config.shutdownTimeout)))
            // The daemon's TCP side: sampling rules and targets, forwarded to X-Ray.
            if let xray = source as? XRaySource, let client = delivery.xray {
                do {
                    services.append(
                        .init(service: try XRaySamplingProxy(host: xray.settings.host, port: xray.port, client: client))
                    )
                } catch {
                    throw ConfigError("sources.xray.address", "\(error) (TCP, for sampling)")
                }
            }
        }
        if options.once {
            let window = options.window ?? RunOptions.onceWindow
            logger.info(
                "once: running the sources, then a last sample of each, one flush, and exit",
                metadata: [
                    "seconds": "\(window)",
                    "why": "counters are sent as the change between two samples: one at start, one at the end",
                ])
            services.append(.init(service: OnceTrigger(interval: window), shutsDownGroupOnSuccess: true))
        }
        try await ServiceGroup(
            entries: services, signals: [SIGTERM, SIGINT], maximumGracefulShutdownDuration: options.shutdownDeadline,
            logger: logger
        ).run()
        let counts = recorder.selfMetrics.snapshot(ringDrops: recorder.ringDrops).map {
            "\($0.key.rawValue)=\($0.value)"
        }.sorted()
        logger.info("obs-agent stopped", metadata: ["self.counts": "\(counts)"])
    }
}
