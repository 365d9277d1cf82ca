import ArgumentParser
import FoundationEssentials
import Logging
import ObsAWS
import ObsAgent
import ObsCore
import ObsNet
import ObsSource

#if canImport(Glibc)
    import Glibc
#endif

@main
struct ObsAgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "obs-agent",
        abstract:
            "Samples PostgreSQL, scrapes Spring and Keycloak, stands in for the X-Ray daemon and ships the journal, to CloudWatch and X-Ray.",
        discussion: """
            The agent samples each configured PostgreSQL database (the pg_stat_* views), scrapes the \
            services' Prometheus endpoints (HikariCP pools, request latencies, Keycloak logins), receives \
            X-Ray segments on UDP 2000 (sent on with PutTraceSegments, API metrics derived), reads the \
            journal (shipped with PutLogEvents, Keycloak event lines and access logs turned into metrics), and \
            takes applications' StatsD lines (UDP 8125) and EMF events (TCP and UDP 25888) as the CloudWatch \
            agent does. It aggregates the observations per flush interval and sends them to CloudWatch with PutMetricData. \
            With no AWS credentials and no region or endpoint it writes the metrics as CloudWatch Embedded \
            Metric Format lines on stdout (metrics.sink: emf does so always); traces and the journal go to \
            X-Ray and CloudWatch Logs whatever the metric sink, and a source whose signal cannot be sent \
            stops the start (exit status 2, naming its key). Logs are JSON lines on stdout. SIGTERM and SIGINT flush what was \
            collected before the agent exits.

            CONFIGURATION
              --config FILE is YAML (keys: agent, metrics, aws, delivery, sources: postgres, prometheus, xray, \
            journald, statsd, emf; see docs/CONFIG.md). Values may use \
            ${VAR} and ${VAR:-default}. Without --config the agent reads DB_HOST, DB_PORT, DB_NAME, DB_USER, \
            DB_PASSWORD (and Keycloak's KC_DB_URL_HOST, KC_DB_URL_PORT, KC_DB_URL_DATABASE or KC_DB_URL, \
            KC_DB_USERNAME, KC_DB_PASSWORD; OBS_DB_INSTANCE, OBS_FLUSH_INTERVAL).

            AWS
              Region: aws.region, AWS_REGION, AWS_DEFAULT_REGION. Endpoint: aws.endpoints.cloudwatch, \
            aws.endpoint, AWS_ENDPOINT_URL_CLOUDWATCH, AWS_ENDPOINT_URL, else the regional endpoint. \
            Credentials: the SDKs' chain: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN; \
            AWS_PROFILE (AWS_SHARED_CREDENTIALS_FILE, AWS_CONFIG_FILE); AWS_WEB_IDENTITY_TOKEN_FILE with \
            AWS_ROLE_ARN; AWS_CONTAINER_CREDENTIALS_RELATIVE_URI or _FULL_URI; EC2 instance metadata (IMDSv2; \
            AWS_EC2_METADATA_DISABLED=true turns it off).

            DELIVERY
              Requests wait in a disk spool (delivery.spool_directory, OBS_SPOOL_DIR, else \
            /var/lib/obs-agent/spool) until AWS accepted them; what is left at exit is sent at the next start. \
            The journal is its own spool: its cursor (journald.state in the spool directory) is saved only \
            after CloudWatch Logs accepted the entries.

            EXIT STATUS
              0 after a clean shutdown; 1 when the agent failed while running; 2 for a configuration error \
            (reported in one line on stderr before anything starts).
            """,
        version: BuildInfo.version,
        subcommands: [Check.self, Healthcheck.self])

    @OptionGroup var options: ConfigOptions

    @Flag(
        help: """
            Take the samples counters need (one at start, one at the end, \(Int(Agent.RunOptions.onceWindow)) s \
            apart whatever the flush interval), flush once, and exit: a quick look at what the config \
            sends.
            """)
    var once = false

    @Option(
        name: .customLong("for"),
        help: ArgumentHelp(
            "Like --once, but run the sources this long (such as 30s or 2m) before the last sample and the flush.",
            valueName: "duration"))
    var runFor: String?

    @Flag(
        help: """
            Send nothing and need no credentials: print every request the agent would make instead \
            (PutMetricData, PutTraceSegments, PutLogEvents), each with its endpoint, size and body. \
            The journal's cursor is not saved.
            """)
    var dryRun = false

    func run() async throws {
        AgentLaunch.tuneMemory()
        let (config, environment) = try options.load()
        guard config.hasSources else {
            let keys = SourceRegistry.builtIn.map { "sources.\($0.key)" }
            AgentLaunch.fail(
                "obs-agent",
                "config: no sources: give --config FILE with \(keys.dropLast().joined(separator: ", ")) or \(keys.last ?? ""), "
                    + "or set DB_HOST, DB_NAME and DB_USER (or OBS_SCRAPE_URLS)")
            throw ExitCode(2)
        }
        var window: Double?
        if let runFor {
            do {
                window = try ConfigNode(node: .scalar(runFor), path: "--for", environment: [:]).seconds(
                    in: 0.1...86_400)
            } catch {
                AgentLaunch.fail("obs-agent", "\(error)")
                throw ExitCode(2)
            }
        }
        AgentLaunch.bootstrapLogging(level: config.logLevel)
        let logger = Logger(label: "obs-agent")
        var runOptions = Agent.RunOptions(once: once || window != nil, dryRun: dryRun)
        runOptions.window = window
        let agent = Agent(config: config, environment: environment, options: runOptions, logger: logger)
        let delivery: Agent.Delivery
        do {
            delivery = try agent.makeDelivery()
        } catch {
            AgentLaunch.fail("obs-agent", "\(error)")
            throw ExitCode(2)
        }
        do {
            try await agent.run(delivery: delivery)
        } catch {
            logger.critical("obs-agent failed", metadata: ["error": "\(error)"])
            throw ExitCode(1)
        }
    }
}

/// Options both subcommands take.
struct ConfigOptions: ParsableArguments {
    @Option(
        name: .long, help: ArgumentHelp("YAML config file. Without it, the DB_* variables are read.", valueName: "file")
    )
    var config: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Log level: trace, debug, info, notice, warning, error, critical (overrides agent.log_level).",
            valueName: "level"))
    var logLevel: String?

    func load() throws -> (AgentConfig, [String: String]) {
        let environment = ProcessInfo.processInfo.environment
        do {
            var config = try AgentLaunch.loadConfig(path: config, environment: environment)
            if let logLevel {
                guard let level = Logger.Level(rawValue: logLevel) else {
                    throw ConfigError(
                        "--log-level",
                        "expected one of trace, debug, info, notice, warning, error, critical, got \"\(logLevel)\"")
                }
                config.logLevel = level
            }
            return (config, environment)
        } catch {
            AgentLaunch.fail("obs-agent", "\(error)")
            throw ExitCode(2)
        }
    }
}

extension ObsAgentCommand {
    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Validate the config and report whether each source and sink can be reached.",
            discussion:
                "Prints one line per source and sink. Exits 0 when all are reachable, 1 when one is not, 2 on a config error."
        )

        @OptionGroup var options: ConfigOptions

        func run() async throws {
            let (config, environment) = try options.load()
            AgentLaunch.bootstrapLogging(level: .error)
            let agent = Agent(
                config: config, environment: environment, options: .init(), logger: Logger(label: "obs-agent"))
            print(
                "config ok: \(config.postgres.count) postgres source(s), \(config.prometheus.count) scrape job(s), x-ray \(config.xray == nil ? "off" : "on"), flush interval \(Int(config.flushInterval)) s"
            )
            let results = await agent.check()
            for result in results { print(result) }
            if results.contains(where: { !$0.ok }) { throw ExitCode(1) }
        }
    }

    struct Healthcheck: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Ask a running agent's /healthz; exit 0 when it answers 200, 1 otherwise.",
            discussion: """
                For container health checks (the image has no curl): degraded sources still answer \
                200, so only a stuck or unreachable agent fails.
                """)

        @Option(help: "The health URL.")
        var url: String = "http://127.0.0.1:9099/healthz"

        @Option(help: "Seconds to wait for the answer.")
        var timeout: Double = 5

        func run() async throws {
            let transport = CurlTransport(connectTimeout: min(timeout, 2), totalTimeout: timeout, label: "healthcheck")
            do {
                let response = try await transport.send(HTTPRequest(method: "GET", url: url))
                print(response.text.trimmingWhitespace())
                if response.status != 200 { throw ExitCode(1) }
            } catch let error as TransportError {
                print("unreachable: \(error)")
                throw ExitCode(1)
            }
        }
    }
}
