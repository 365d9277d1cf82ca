import Foundation
import Logging
import ObsAgent
import ObsJournal
import ObsPostgres
import ObsSource
import ObsXRay
import Testing

/// Each signal's route is chosen on its own (issue 18): every metric sink × the sources that make
/// traces and logs × dry run × AWS reachable or not. A configured source's signal always has a
/// route, or the agent refuses to start naming the key and what is missing.
@Suite struct RoutesTests {
    enum Signals: String, CaseIterable {
        case none, xray, journald, statements, all
    }

    static func config(sink: AgentConfig.SinkChoice, signals: Signals, journal: String) -> AgentConfig {
        var config = AgentConfig()
        config.sink = sink
        if signals == .xray || signals == .all { config.xray = XRaySource.Settings(host: "127.0.0.1", port: 0) }
        if signals == .journald || signals == .all {
            var settings = JournalSettings(stateFile: "")
            settings.directory = journal
            config.journald = settings
        }
        let connection = PostgresConnectionSettings(
            host: "127.0.0.1", port: 5432, database: "d", user: "u", password: nil)
        config.postgres = [
            PostgresSource.Settings(
                instance: "db", connection: connection,
                topStatements: signals == .statements || signals == .all ? 10 : 0)
        ]
        return config
    }

    /// An environment with credentials, a region and a local endpoint, or with none of them (and
    /// instance metadata off, so that nothing is asked of the network).
    static func environment(aws: Bool, spool: String) -> [String: String] {
        var environment = ["AWS_EC2_METADATA_DISABLED": "true", "OBS_SPOOL_DIR": spool]
        if aws {
            environment["AWS_ACCESS_KEY_ID"] = "AKIDEXAMPLE"
            environment["AWS_SECRET_ACCESS_KEY"] = "secret-for-routes"
            environment["AWS_REGION"] = "eu-west-1"
            environment["AWS_ENDPOINT_URL"] = "http://127.0.0.1:9"
        }
        return environment
    }

    @Test(arguments: [AgentConfig.SinkChoice.auto, .cloudWatch, .emf], Signals.allCases)
    func everyCombinationRunsOrRefusesByName(sink: AgentConfig.SinkChoice, signals: Signals) throws {
        let journal = NSTemporaryDirectory() + "obs-routes-journal-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: journal, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: journal) }
        let traces = signals == .xray || signals == .all
        let journald = signals == .journald || signals == .all
        let statements = signals == .statements || signals == .all
        for dryRun in [false, true] {
            for aws in [true, false] {
                let spool = NSTemporaryDirectory() + "obs-routes-spool-\(UUID().uuidString)"
                defer { try? FileManager.default.removeItem(atPath: spool) }
                let agent = Agent(
                    config: Self.config(sink: sink, signals: signals, journal: journal),
                    environment: Self.environment(aws: aws, spool: spool),
                    options: .init(dryRun: dryRun), logger: .init(label: "t"))
                let label = "sink \(sink.rawValue), \(signals), dry run \(dryRun), AWS \(aws)"
                if dryRun {
                    let delivery = try agent.makeDelivery()
                    #expect(
                        delivery.routes
                            == expected(
                                metrics: "dry-run", traces: traces, journald: journald, statements: statements,
                                "dry-run", "dry-run", "dry-run"), "\(label)")
                    #expect(delivery.shippers.isEmpty, "\(label): a dry run ships nothing")
                    #expect(!FileManager.default.fileExists(atPath: spool), "\(label): a dry run opens no spool")
                    continue
                }
                if aws {
                    let delivery = try agent.makeDelivery()
                    #expect(
                        delivery.routes
                            == expected(
                                metrics: sink == .emf ? "emf" : "cloudwatch", traces: traces, journald: journald,
                                statements: statements, "xray",
                                "cloudwatch-logs", "cloudwatch-logs"), "\(label)")
                    continue
                }
                // No AWS: metrics can go out as EMF (and statement texts beside them), but nothing
                // else can, and the error names the key that asked for it.
                let refusedKey: String? =
                    sink == .cloudWatch ? "metrics.sink" : traces ? "sources.xray" : journald ? "sources.journald" : nil
                if let refusedKey {
                    do {
                        _ = try agent.makeDelivery()
                        Issue.record("\(label): started without AWS")
                    } catch {
                        #expect(error.path == refusedKey, "\(label): \(error)")
                        #expect(error.message.contains("needs a region (aws.region, AWS_REGION)"), "\(label): \(error)")
                    }
                } else {
                    let delivery = try agent.makeDelivery()
                    #expect(
                        delivery.routes
                            == expected(
                                metrics: "emf", traces: false, journald: false, statements: statements, "", "stdout", ""
                            ), "\(label)")
                }
            }
        }
    }

    func expected(
        metrics: String, traces: Bool, journald: Bool, statements: Bool, _ traceRoute: String, _ statementRoute: String,
        _ journalRoute: String
    ) -> [String: String] {
        var routes = ["metrics": metrics]
        if traces { routes["traces"] = traceRoute }
        if statements { routes["log_events"] = statementRoute }
        if journald { routes["log_batches"] = journalRoute }
        return routes
    }

    @Test func aDryRunSavesNoJournalCursorAndARealRunDoes() throws {
        let journal = NSTemporaryDirectory() + "obs-routes-journal-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: journal, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: journal) }
        for dryRun in [true, false] {
            let spool = NSTemporaryDirectory() + "obs-routes-spool-\(UUID().uuidString)"
            defer { try? FileManager.default.removeItem(atPath: spool) }
            let agent = Agent(
                config: Self.config(sink: .emf, signals: .journald, journal: journal),
                environment: Self.environment(aws: true, spool: spool),
                options: .init(dryRun: dryRun), logger: .init(label: "t"))
            let sources = try agent.makeSources(delivery: try agent.makeDelivery())
            let source = try #require(sources.compactMap { $0 as? JournalSource }.first)
            #expect(source.settings.savesState == !dryRun)
            #expect(source.settings.stateFile == spool + "/journald.state")
        }
    }

    /// Credentials (instance metadata is found on any EC2 host) but no region: metrics as EMF,
    /// statement texts beside them on standard output, and a trace source refused by name.
    @Test func withCredentialsButNoRegionStatementTextsGoToStandardOutput() throws {
        let spool = NSTemporaryDirectory() + "obs-routes-spool-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: spool) }
        let environment = [
            "AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b", "AWS_EC2_METADATA_DISABLED": "true",
            "OBS_SPOOL_DIR": spool,
        ]
        for sink in [AgentConfig.SinkChoice.emf, .auto] {
            let agent = Agent(
                config: Self.config(sink: sink, signals: .statements, journal: "/"), environment: environment,
                options: .init(),
                logger: .init(label: "t"))
            #expect(try agent.makeDelivery().routes == ["metrics": "emf", "log_events": "stdout"], "\(sink)")
        }
    }

    @Test func aSignalWithARegionButNoCredentialsIsRefusedByName() throws {
        var config = AgentConfig()
        config.sink = .emf
        config.xray = XRaySource.Settings(host: "127.0.0.1", port: 0)
        let agent = Agent(
            config: config, environment: ["AWS_REGION": "eu-west-1", "AWS_EC2_METADATA_DISABLED": "true"],
            options: .init(),
            logger: .init(label: "t"))
        #expect(
            throws: ConfigError(
                "sources.xray",
                "sending trace segments to X-Ray needs AWS: no AWS credentials found (environment, profile, web identity, container or instance metadata)"
            )
        ) {
            try agent.makeDelivery()
        }
    }

    @Test func aSignalWithCredentialsButNoRegionOrEndpointIsRefusedByName() throws {
        var config = AgentConfig()
        config.sink = .emf
        config.xray = XRaySource.Settings(host: "127.0.0.1", port: 0)
        let spool = NSTemporaryDirectory() + "obs-routes-spool-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: spool) }
        let agent = Agent(
            config: config,
            environment: [
                "AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b", "AWS_EC2_METADATA_DISABLED": "true",
                "OBS_SPOOL_DIR": spool,
            ],
            options: .init(), logger: .init(label: "t"))
        #expect(
            throws: ConfigError(
                "sources.xray",
                "sending trace segments to X-Ray needs a region (aws.region, AWS_REGION) or an endpoint (aws.endpoint, AWS_ENDPOINT_URL_XRAY)"
            )
        ) {
            try agent.makeDelivery()
        }
    }
}
