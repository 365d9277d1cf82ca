import ArgumentParser
import Foundation
import ObsAgent
import ObsCatalog
import ObsCore
import ObsSource

@main
struct ObsctlCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "obsctl",
        abstract: "Generate CloudWatch dashboards, alarms and docs from the metric catalog obs-agent uses.",
        discussion: """
            Everything obsctl writes comes from the same catalog the agent emits from, so dashboards \
            and alarms cannot name a metric or dimension the agent does not send. Generated files are \
            checked in (dashboards/, alerts/, docs/metrics.md); `--check` fails when a checked-in file \
            is stale.
            """,
        version: BuildInfo.version,
        subcommands: [
            CatalogCommand.self, Dashboards.self, Alarms.self, Validate.self, Apply.self, Diff.self,
            IAMPolicyCommand.self, Cost.self, Preview.self,
        ])
}

extension ObsctlCommand {
    struct CatalogCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "catalog",
            abstract: "List the catalog's metrics (tab-separated, Markdown for docs/metrics.md, or JSON).")

        @Option(help: "Output format: table, markdown or json.")
        var format: String = "table"

        func run() throws {
            switch format {
            case "table": print(CatalogDocument.table(SourceRegistry.catalog), terminator: "")
            case "markdown": print(CatalogDocument.markdown(SourceRegistry.catalog), terminator: "")
            case "json": print(try CatalogDocument.json(SourceRegistry.catalog), terminator: "")
            default: throw ValidationError("--format must be table, markdown or json, not \(format)")
            }
        }
    }

    struct Alarms: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write the alarms for a deployment: a CloudFormation template and PutMetricAlarm requests.",
            discussion: """
                Alarms are made for each scraped service (sources.prometheus) and each sampled database \
                (sources.postgres) of the config, plus deployment-wide ones, and grouped into one \
                composite alarm per area (api, connection-pools, database, authentication, agent-health) \
                that notifies the SNS topic given as the template's CriticalTopicArn parameter. Writes \
                alarms.cfn.json, put-metric-alarm.json and put-composite-alarm.json (whose actions hold \
                the placeholder ${CriticalTopicArn}).
                """)

        @Option(
            help: ArgumentHelp("The agent config naming the deployment's services and databases.", valueName: "file"))
        var config: String = "packaging/obs-agent.yaml"

        @Option(help: ArgumentHelp("Directory to write to.", valueName: "dir"))
        var output: String = "alerts"

        @Flag(help: "Write nothing; exit 1 if a file in the directory differs from what would be written.")
        var check = false

        func run() throws {
            let generator = AlarmGenerator(targets: try Deployment(config: config).targets)
            try GeneratedFiles.write(try generator.files(), to: output, check: check, command: "obsctl alarms")
        }
    }

    struct IAMPolicyCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "iam-policy",
            abstract: "Print the least-privilege IAM policy of an agent running with a config.",
            discussion: """
                cloudwatch:PutMetricData limited by the cloudwatch:namespace condition to the namespaces \
                the config's sources emit (sources.statsd's namespace; sources.emf's namespaces, or any \
                when it lists none); cloudwatch:ListMetrics (obs-agent check); the X-Ray calls of \
                the daemon stand-in when sources.xray is on; the CloudWatch Logs calls on the exact log \
                groups the agent writes (PostgreSQL statement texts, the journal). Attach it to the agent's task role (ECS) or \
                service account role (EKS, IRSA).
                """)

        @Option(help: ArgumentHelp("The agent config.", valueName: "file"))
        var config: String = "packaging/obs-agent.yaml"

        func run() throws {
            let deployment = try Deployment(config: config)
            let emitted = deployment.emitted
            let namespaces = Set(emitted.catalog.definitions.filter { emitted.isEmitted($0) }.map(\.namespace))
                .union(deployment.config.configuredSources.flatMap { $0.registration.namespaces($0.settings) })
            let policy = IAMPolicy(
                needs: .init(
                    namespaces: Array(namespaces), xray: emitted.traces,
                    logGroupARNs: deployment.logGroups.map { "arn:aws:logs:*:*:log-group:\($0)" }))
            FileHandle.standardOutput.write(try policy.json())
        }
    }

    struct Cost: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Explain the monthly CloudWatch and X-Ray bill of a config, metric by metric.",
            discussion: """
                Counts every series of every metric the config's sources publish, under each dimension \
                set (a metric's own and its rollups), from the config's services and databases and the \
                assumptions below; prices them with the metric tiers, PutMetricData requests at the flush \
                interval, the alarms of obsctl alarms, the dashboards, traces and logs. Then one line per \
                metric and dimension set: its series, the dimensions that multiply them, its share of the \
                bill, and the dashboard widgets and alarms that read it ("nothing" is a series paid for \
                and never looked at). The same metrics sent as Embedded Metric Format (metrics.sink: emf) \
                are priced beside: log ingestion instead of PutMetricData requests. Prices come from a \
                JSON file (default packaging/cloudwatch-prices.json) that you can update. Dropped and \
                Incidents series exist only when something goes wrong and are not counted.

                Assumptions (--assume NAME=N, values per value of the dimensions before it):
                \(CostAssumptions.meanings.map { "  \($0.0)=\(CostAssumptions.defaults[$0.0] ?? 1): \($0.1)" }.joined(separator: "\n"))
                Table and QueryId default to the config's top_tables and top_statements (the largest \
                of its databases'); --assume overrides them.
                """)

        @Option(help: ArgumentHelp("The agent config.", valueName: "file"))
        var config: String = "packaging/obs-agent.yaml"

        @Option(
            help: ArgumentHelp(
                "A second config, priced beside the first under the same assumptions.", valueName: "file"))
        var compare: String?

        @Option(help: ArgumentHelp("The prices file.", valueName: "file"))
        var prices: String = "packaging/cloudwatch-prices.json"

        @Option(help: "Method and route pairs a service serves (--assume Route=N).")
        var routes: Int?

        @Option(help: "Instances (tasks, pods) per scraped service (--assume Target=N).")
        var instances: Int?

        @Option(help: "Keycloak realms (--assume Realm=N).")
        var realms: Int?

        @Option(help: "Clients per Keycloak realm (--assume Client=N).")
        var clients: Int?

        @Option(
            name: .customLong("assume"),
            help: ArgumentHelp(
                "Values of a dimension, such as Route=30 or Table=20 (repeatable; see the list above).",
                valueName: "name=n"))
        var assume: [String] = []

        @Option(help: "Traces recorded a second (sampled requests).")
        var tracesPerSecond = 0.0

        @Option(help: "Log volume a day, in GB.")
        var logGbPerDay = 0.0

        @Flag(help: "Print JSON (the bill, every metric line, the assumptions) instead of tables.")
        var json = false

        func run() throws {
            let priceTable: Prices
            do {
                priceTable = try JSONDecoder().decode(Prices.self, from: Data(contentsOf: URL(fileURLWithPath: prices)))
            } catch {
                throw ValidationError("\(prices): \(error)")
            }
            var assumptions = CostAssumptions()
            for (name, value) in [("Route", routes), ("Target", instances), ("Realm", realms), ("Client", clients)] {
                if let value {
                    assumptions.values[name] = value
                    assumptions.given.insert(name)
                }
            }
            for item in assume {
                let parts = item.split(separator: "=", maxSplits: 1).map(String.init)
                guard parts.count == 2, let n = Int(parts[1]), n >= 0, !parts[0].isEmpty else {
                    throw ValidationError("--assume takes NAME=N (such as Route=30), not \(item)")
                }
                guard CostAssumptions.defaults[parts[0]] != nil else {
                    throw ValidationError(
                        "--assume: \(parts[0]) is not a dimension the estimate counts; one of "
                            + CostAssumptions.meanings.map(\.0).joined(separator: ", "))
                }
                assumptions.values[parts[0]] = n
                assumptions.given.insert(parts[0])
            }
            assumptions.logGBPerDay = logGbPerDay
            let first = try Bill(
                config: config, assumptions: assumptions, tracesPerSecond: tracesPerSecond, prices: priceTable)
            let second = try compare.map {
                try Bill(config: $0, assumptions: assumptions, tracesPerSecond: tracesPerSecond, prices: priceTable)
            }
            if json {
                var object: [String: Any] = first.jsonObject
                if let second { object = ["config": first.jsonObject, "compare": second.jsonObject] }
                FileHandle.standardOutput.write(try JSONDocument.data(object))
                return
            }
            if let second {
                print(Bill.comparison(first, second), terminator: "")
            } else {
                print("\(config):")
                print(first.estimate.table(prices: priceTable), terminator: "")
                print(first.emfLine)
            }
        }
    }

    struct Dashboards: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write CloudWatch dashboard bodies (PutDashboard JSON) to a directory.",
            discussion: """
                Writes one file per dashboard: \(DashboardID.allCases.map(\.fileName).joined(separator: ", ")). \
                Each area's dashboard shows the alarms obsctl alarms makes for the config's services and \
                databases; their ARNs hold the placeholder \(DashboardGenerator.accountPlaceholder), which \
                obsctl apply replaces with the account's id.
                """)

        @Option(
            help: ArgumentHelp("The agent config naming the deployment's services and databases.", valueName: "file"))
        var config: String = "packaging/obs-agent.yaml"

        @Option(help: ArgumentHelp("Directory to write to.", valueName: "dir"))
        var output: String = "dashboards"

        @Option(help: "AWS region the widgets query.")
        var region: String = "us-east-1"

        @Flag(help: "Write nothing; exit 1 if a file in the directory differs from what would be written.")
        var check = false

        func run() throws {
            let deployment = try Deployment(config: config)
            let generator = DashboardGenerator(
                catalog: SourceRegistry.catalog, region: region, alarms: AlarmGenerator(targets: deployment.targets),
                apiRoutes: deployment.config.apiRoutes)
            let files = try DashboardID.allCases.map { ($0.fileName, try generator.json(for: $0)) }
            try GeneratedFiles.write(files, to: output, check: check, command: "obsctl dashboards")
        }
    }
}

/// What obsctl reads of an agent config, read once. Variables the file uses need not be set:
/// their defaults (or empty values) stand in, since only names are read.
struct Deployment {
    let config: AgentConfig

    init(config path: String) throws {
        config = try Self.load(path)
    }

    /// The services and databases the config's sources name.
    var targets: AlarmTargets {
        var targets = AlarmTargets(services: [], databases: [])
        for (registration, settings) in config.configuredSources {
            let more = registration.targets(settings)
            targets.services += more.services
            targets.databases += more.databases
            targets.values.merge(more.values) { max($0, $1) }
        }
        return targets
    }

    /// The catalog metrics the config's sources emit.
    var emitted: EmittedMetrics { EmittedMetrics(config: config) }

    /// The log groups the agent writes (a `*` for each part only known at run time).
    var logGroups: [String] {
        Array(Set(config.configuredSources.flatMap { $0.registration.logGroups($0.settings) })).sorted()
    }

    private static func load(_ path: String) throws -> AgentConfig {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ValidationError("cannot read \(path)")
        }
        // Unset variables read as empty: only names matter here, never passwords or hosts.
        var environment = ProcessInfo.processInfo.environment
        var rest = Substring(text)
        while let start = rest.range(of: "${") {
            rest = rest[start.upperBound...]
            let name = rest.prefix { $0.isLetter || $0.isNumber || $0 == "_" }
            if environment[String(name)] == nil { environment[String(name)] = "" }
        }
        do {
            return try AgentConfig.parse(yaml: text, environment: environment)
        } catch {
            throw ValidationError("\(path): \(error)")
        }
    }
}

/// Writes generated files, or with `check` reports the stale ones and exits 1.
enum GeneratedFiles {
    static func write(_ files: [(name: String, data: Data)], to directory: String, check: Bool, command: String) throws
    {
        var stale: [String] = []
        if !check { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
        for file in files {
            let path = (directory as NSString).appendingPathComponent(file.name)
            if check {
                if FileManager.default.contents(atPath: path) != file.data { stale.append(path) }
            } else {
                try file.data.write(to: URL(fileURLWithPath: path))
                print("wrote \(path)")
            }
        }
        if !stale.isEmpty {
            for path in stale { print("stale: \(path) (run \(command))") }
            throw ExitCode(1)
        }
    }
}
