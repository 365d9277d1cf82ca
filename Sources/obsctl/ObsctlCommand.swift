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
            IAMPolicyCommand.self, Cost.self,
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
            abstract: "Estimate the monthly CloudWatch and X-Ray bill of a config.",
            discussion: """
                Counts every series of every metric the config's sources emit (rollups included) from \
                the config's services and databases and the assumptions below, then prices them with the \
                metric tiers, PutMetricData requests at the flush interval, the alarms of obsctl alarms, \
                the dashboards, traces and logs. Prices come from a JSON file (default \
                packaging/cloudwatch-prices.json) that you can update. Dropped and Incidents series \
                exist only when something goes wrong and are not counted.
                """)

        @Option(help: ArgumentHelp("The agent config.", valueName: "file"))
        var config: String = "packaging/obs-agent.yaml"

        @Option(help: ArgumentHelp("The prices file.", valueName: "file"))
        var prices: String = "packaging/cloudwatch-prices.json"

        @Option(help: "Method and route pairs a service serves.")
        var routes = 20

        @Option(help: "Status classes seen per route.")
        var statusClasses = 3

        @Option(help: "Instances (tasks, pods) per scraped service.")
        var instances = 2

        @Option(help: "Keycloak realms.")
        var realms = 1

        @Option(help: "Clients per Keycloak realm.")
        var clients = 3

        @Option(help: "Traces recorded a second (sampled requests).")
        var tracesPerSecond = 0.0

        @Option(help: "Log volume a day, in GB.")
        var logGbPerDay = 0.0

        func run() throws {
            let priceTable: Prices
            do {
                priceTable = try JSONDecoder().decode(Prices.self, from: Data(contentsOf: URL(fileURLWithPath: prices)))
            } catch {
                throw ValidationError("\(prices): \(error)")
            }
            let deployment = try Deployment(config: config)
            let agentConfig = deployment.config
            let emitted = deployment.emitted
            let targets = deployment.targets
            var assumptions = CostAssumptions()
            assumptions.routesPerService = routes
            assumptions.statusClasses = statusClasses
            assumptions.instancesPerService = instances
            assumptions.realms = realms
            assumptions.clientsPerRealm = clients
            assumptions.tracesPerSecond = emitted.traces ? tracesPerSecond : 0
            assumptions.logGBPerDay = logGbPerDay
            let estimate = CostEstimate(
                metrics: emitted.catalog.definitions.filter { emitted.isEmitted($0) }, targets: targets,
                flushInterval: agentConfig.flushInterval, alarms: AlarmGenerator(targets: targets),
                dashboards: DashboardID.allCases.count,
                assumptions: assumptions, prices: priceTable)
            print(estimate.table(prices: priceTable), terminator: "")
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
            let generator = DashboardGenerator(
                catalog: SourceRegistry.catalog, region: region,
                alarms: AlarmGenerator(targets: try Deployment(config: config).targets))
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
