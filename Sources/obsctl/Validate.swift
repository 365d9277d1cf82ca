import ArgumentParser
import Foundation
import ObsAgent
import ObsCatalog
import ObsSource

extension ObsctlCommand {
    struct Validate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check that dashboards and alarms read only what the agent emits under a config.",
            discussion: """
                Reads the dashboard bodies and PutMetricAlarm requests in the given directories (as \\
                written by obsctl dashboards and obsctl alarms, or edited by hand) and checks each metric \\
                they name: the namespace and name are in the catalog, the dimension names are the \\
                metric's own or one of its rollups, and a source of the config emits it. Each problem is \\
                one line; the exit status is 1 when there is any.
                """)

        @Option(help: ArgumentHelp("The agent config.", valueName: "file"))
        var config: String = "packaging/obs-agent.yaml"

        @Option(help: ArgumentHelp("Directory of dashboard bodies.", valueName: "dir"))
        var dashboards: String = "dashboards"

        @Option(help: ArgumentHelp("Directory of alarm files.", valueName: "dir"))
        var alerts: String = "alerts"

        func run() throws {
            let emitted = try Deployment(config: config).emitted
            var problems: [String] = []
            var checked = 0
            for file in (try? FileManager.default.contentsOfDirectory(atPath: dashboards))?.sorted() ?? []
            where file.hasSuffix(".json") {
                let path = (dashboards as NSString).appendingPathComponent(file)
                for reference in try MetricReferences.inDashboard(path) {
                    checked += 1
                    if let problem = emitted.problem(with: reference) { problems.append("\(path): \(problem)") }
                }
            }
            let alarms = (alerts as NSString).appendingPathComponent("put-metric-alarm.json")
            if FileManager.default.fileExists(atPath: alarms) {
                for reference in try MetricReferences.inAlarms(alarms) {
                    checked += 1
                    if let problem = emitted.problem(with: reference) { problems.append("\(alarms): \(problem)") }
                }
            }
            for problem in problems { print(problem) }
            guard problems.isEmpty else { throw ExitCode(1) }
            print("ok: \(checked) metric references, all emitted under \(config)")
        }
    }
}

/// A metric named by a dashboard widget or an alarm.
struct MetricReference: Equatable {
    var namespace: String
    var name: String
    var dimensions: Set<String>
    /// Where in the file: the widget title or the alarm name.
    var place: String
}

enum MetricReferences {
    /// Every `SEARCH('{Namespace,Dim,...} MetricName="Name"', ...)` of a dashboard body.
    static func inDashboard(_ path: String) throws -> [MetricReference] {
        try inDashboard(data: try Data(contentsOf: URL(fileURLWithPath: path)))
    }

    /// Every SEARCH of a dashboard body given as its JSON.
    static func inDashboard(data: Data) throws -> [MetricReference] {
        let body = try JSONDecoder().decode(DashboardBody.self, from: data)
        var references: [MetricReference] = []
        for widget in body.widgets {
            for expression in (widget.properties.metrics ?? []).flatMap({ $0 }) {
                guard let open = expression.expression.range(of: "{"), let close = expression.expression.range(of: "}"),
                    let name = expression.expression.range(of: "MetricName=\"")
                else { continue }
                let schema = expression.expression[open.upperBound..<close.lowerBound].split(separator: ",").map {
                    String($0)
                }
                let metric = expression.expression[name.upperBound...].prefix { $0 != "\"" }
                guard let namespace = schema.first else { continue }
                references.append(
                    MetricReference(
                        namespace: namespace, name: String(metric), dimensions: Set(schema.dropFirst()),
                        place: "widget \"\(widget.properties.title ?? "?")\""))
            }
        }
        return references
    }

    /// Every metric of a PutMetricAlarm request list: the alarm's own, or each of its `Metrics`.
    static func inAlarms(_ path: String) throws -> [MetricReference] {
        guard
            let alarms = try JSONSerialization.jsonObject(with: try Data(contentsOf: URL(fileURLWithPath: path)))
                as? [[String: Any]]
        else {
            throw ValidationError("\(path): expected a list of PutMetricAlarm requests")
        }
        var references: [MetricReference] = []
        func names(_ dimensions: Any?) -> Set<String> {
            Set((dimensions as? [[String: String]] ?? []).compactMap { $0["Name"] })
        }
        for alarm in alarms {
            let place = "alarm \(alarm["AlarmName"] as? String ?? "?")"
            if let namespace = alarm["Namespace"] as? String, let name = alarm["MetricName"] as? String {
                references.append(
                    MetricReference(
                        namespace: namespace, name: name, dimensions: names(alarm["Dimensions"]), place: place))
            }
            for query in alarm["Metrics"] as? [[String: Any]] ?? [] {
                guard let stat = query["MetricStat"] as? [String: Any], let metric = stat["Metric"] as? [String: Any],
                    let namespace = metric["Namespace"] as? String, let name = metric["MetricName"] as? String
                else { continue }
                references.append(
                    MetricReference(
                        namespace: namespace, name: name, dimensions: names(metric["Dimensions"]), place: place))
            }
        }
        return references
    }
}

/// What the agent emits under a config: the catalog metrics its configured sources emit, as their
/// registrations say (``SourceRegistry``), with their dimension sets and rollups.
struct EmittedMetrics {
    let catalog: Catalog
    /// The ids of the catalog metrics a configured source emits.
    let emittedIDs: Set<String>
    /// Whether a configured source sends trace segments.
    let traces: Bool
    /// `metrics.api_routes` of the config: whether the per-route API series are published.
    let apiRoutes: Bool

    init(config: AgentConfig) {
        apiRoutes = config.apiRoutes
        catalog = SourceRegistry.catalog
        var ids = Set<String>()
        var traces = false
        for (registration, settings) in config.configuredSources {
            ids.formUnion(registration.emitted(settings).map(\.id))
            if registration.needs(settings).contains(where: { $0.signal == .traces }) { traces = true }
        }
        emittedIDs = ids
        self.traces = traces
    }

    /// Whether `definition` is emitted: a configured source emits it, or no source does (the
    /// agent's own metrics).
    func isEmitted(_ definition: MetricDefinition) -> Bool {
        emittedIDs.contains(definition.id) || SourceRegistry.sources(emitting: definition).isEmpty
    }

    func problem(with reference: MetricReference) -> String? {
        guard
            let definition = catalog.definitions.first(where: {
                $0.namespace == reference.namespace && $0.name == reference.name
            })
        else {
            return "\(reference.place): \(reference.namespace) \(reference.name) is not a catalog metric"
        }
        let sets = definition.publishedDimensionSets(apiRoutes: apiRoutes).map(Set.init)
        guard sets.contains(reference.dimensions) else {
            let shown = sets.map { $0.isEmpty ? "none" : $0.sorted().joined(separator: ",") }.joined(separator: " | ")
            return
                "\(reference.place): \(reference.namespace) \(reference.name) is emitted with dimensions \(shown), not \(reference.dimensions.sorted().joined(separator: ","))"
        }
        if !isEmitted(definition) {
            let needed = SourceRegistry.sources(emitting: definition).joined(separator: " or ")
            return
                "\(reference.place): \(reference.namespace) \(reference.name) needs \(needed), which the config does not have"
        }
        return nil
    }
}
