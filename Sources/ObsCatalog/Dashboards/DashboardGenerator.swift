import FoundationEssentials
import ObsCore

#if canImport(Glibc)
    import Glibc
#endif

/// Draws a catalog's metrics onto CloudWatch dashboards: one metric widget per placement title, the
/// metrics found by SEARCH expressions over the catalog's namespace, name and dimension names, so
/// the dashboard shows every service, instance and database the agents report without naming them.
/// Distributions are drawn as p50, p90 and p99; ratios as metric math over their terms; each area's
/// alarms as an alarm-status widget beside the runbook of each.
public struct DashboardGenerator: Sendable {
    /// Grid constants of CloudWatch dashboards.
    package static let gridColumns = 24
    static let widgetWidth = 12
    static let widgetHeight = 6
    static let textHeight = 3

    package let catalog: Catalog
    /// The region the widgets query; `${AWS::Region}`-style placeholders are not supported by
    /// dashboards, so it is a parameter of generation.
    package let region: String
    /// The period of every metric widget, in seconds.
    package let period: Int
    /// The deployment's alarms (for the alarm-status widgets), when known.
    package let alarms: AlarmGenerator?
    /// `metrics.api_routes`: whether the API widgets draw per route or per service.
    package let apiRoutes: Bool

    /// Where `obsctl apply` puts the account id in alarm ARNs.
    package static let accountPlaceholder = "${AWS::AccountId}"
    /// What the Service variable replaces in the SEARCH expressions of per-service dashboards.
    package static let servicePattern = "__SERVICE__"

    /// Dashboards that show one service at a time, chosen with the Service variable.
    package static func isPerService(_ id: DashboardID) -> Bool { id == .api || id == .pools }

    package init(
        catalog: Catalog, region: String = "us-east-1", period: Int = 60, alarms: AlarmGenerator? = nil,
        apiRoutes: Bool = true
    ) {
        self.catalog = catalog
        self.apiRoutes = apiRoutes
        self.region = region
        self.period = period
        self.alarms = alarms
    }

    /// A metric widget's content before it is placed.
    struct Panel {
        var title: String
        var stat: String
        var expressions: [DashboardBody.MetricExpression]
    }

    /// A ratio drawn as metric math: `100*SUM(a)/(SUM(a)+SUM(b))`-style over SEARCH terms.
    struct Ratio {
        var dashboard: DashboardID
        var title: String
        var label: String
        /// The terms, read with their statistic; `e1`, `e2`, ... in `expression`.
        var terms: [(MetricDefinition, String)]
        var expression: String
        /// The dimension set the terms are read under; nil for each metric's most detailed one.
        var dimensions: [String]? = nil
    }

    static let ratios: [Ratio] = [
        Ratio(
            dashboard: .api, title: "Server error ratio", label: "5xx %",
            terms: [(APIMetrics.faults, "Sum"), (APIMetrics.requests, "Sum")], expression: "100*SUM(e1)/SUM(e2)",
            dimensions: ["Service"]),
        Ratio(
            dashboard: .database, title: "Buffer cache hit ratio", label: "hit %",
            terms: [(PostgresMetrics.blocksHit, "Sum"), (PostgresMetrics.blocksRead, "Sum")],
            expression: "100*SUM(e1)/(SUM(e1)+SUM(e2))"),
        Ratio(
            dashboard: .database, title: "Rollback ratio", label: "rollback %",
            terms: [(PostgresMetrics.rollbacks, "Sum"), (PostgresMetrics.commits, "Sum")],
            expression: "100*SUM(e1)/(SUM(e1)+SUM(e2))"),
        Ratio(
            dashboard: .auth, title: "Login failure ratio, all realms", label: "failed %",
            terms: [(AuthMetrics.loginFailure, "Sum"), (AuthMetrics.loginSuccess, "Sum")],
            expression: "100*SUM(e1)/(SUM(e1)+SUM(e2))"),
    ]

    /// Metrics drawn on a second dashboard beside the ones they pair with: PostgreSQL's sessions
    /// by application_name are the database side of each service's connection pool.
    static let pairs: [(DashboardID, MetricDefinition, String)] = [
        (
            .pools, PostgresMetrics.sessionsByApplication,
            "Database sessions by application (the pools seen from PostgreSQL)"
        )
    ]

    /// The Overview: each area's headline, per service where it has one, read from the rollups.
    static let overview: [(MetricDefinition, [String], String, String)] = [
        (APIMetrics.requests, ["Service"], "Sum", "Requests by service"),
        (APIMetrics.latency, ["Service"], "p99", "p99 latency by service"),
        (APIMetrics.errorRate, ["Service"], "Average", "5xx rate by service"),
        (PoolMetrics.utilization, ["Service"], "Maximum", "Connection pool utilization by service"),
        (
            PostgresMetrics.connections, PostgresMetrics.connections.dimensions, "Average",
            "Database connections by state"
        ),
        (AuthMetrics.failureRate, [], "Average", "Login failure rate"),
        (AgentMetrics.dropped, [], "Sum", "Agent: data dropped"),
        (AgentMetrics.scrapeUp, ["Service"], "Minimum", "Agent: scrape targets up"),
    ]

    /// The body of dashboard `id`.
    public func body(for id: DashboardID) -> DashboardBody {
        var widgets: [DashboardBody.Widget] = [
            .init(
                type: "text", x: 0, y: 0, width: Self.gridColumns, height: Self.textHeight,
                properties: .init(markdown: introduction(for: id)))
        ]
        var y = Self.textHeight
        if let alarms, let status = alarmWidgets(id, alarms) {
            for widget in status {
                var placed = widget
                placed.y = y
                widgets.append(placed)
            }
            y += Self.widgetHeight
        }
        for (n, panel) in panels(for: id).enumerated() {
            widgets.append(
                .init(
                    type: "metric", x: (n % 2) * Self.widgetWidth, y: y + (n / 2) * Self.widgetHeight,
                    width: Self.widgetWidth, height: Self.widgetHeight,
                    properties: .init(
                        title: panel.title, view: "timeSeries", stacked: false, region: region, period: period,
                        stat: panel.stat, metrics: panel.expressions.map { [$0] })))
        }
        guard Self.isPerService(id) else { return DashboardBody(widgets: widgets) }
        // The values come from a set every config publishes: the API's per-service rollup.
        let (source, dimensions) =
            id == .api ? (APIMetrics.requests, ["Service"]) : (PoolMetrics.active, PoolMetrics.dimensions)
        let variable = DashboardBody.Variable(
            type: "pattern", pattern: Self.servicePattern, inputType: "select", id: "Service", label: "Service",
            defaultValue: "__FIRST",
            visible: true,
            search: "{\(source.namespace),\(dimensions.joined(separator: ","))} MetricName=\"\(source.name)\"",
            populateFrom: "Service")
        return DashboardBody(widgets: widgets, variables: [variable])
    }

    func panels(for id: DashboardID) -> [Panel] {
        if id == .overview {
            return Self.overview.map { definition, dimensions, stat, title in
                Panel(
                    title: title, stat: stat,
                    expressions: [
                        .init(
                            expression: searchExpression(definition, dimensions: dimensions, statistic: stat), id: "e1",
                            label: definition.name)
                    ])
            }
        }
        var groups: [(title: String, metrics: [MetricDefinition])] = []
        for definition in catalog.definitions {
            guard let placement = definition.placement, placement.dashboard == id else { continue }
            if let index = groups.firstIndex(where: { $0.title == placement.widget }) {
                groups[index].metrics.append(definition)
            } else {
                groups.append((placement.widget, [definition]))
            }
        }
        var panels = groups.map { group -> Panel in
            var expressions: [DashboardBody.MetricExpression] = []
            for definition in group.metrics {
                let stats =
                    definition.kind == .distribution
                    ? ["p50", "p90", "p99"] : [definition.placement?.statistic ?? "Average"]
                for stat in stats {
                    expressions.append(
                        .init(
                            expression: searchExpression(
                                definition, dimensions: detailed(definition), statistic: stat,
                                perService: Self.isPerService(id)),
                            id: "e\(expressions.count + 1)",
                            label: stats.count > 1 ? "\(definition.name) \(stat)" : definition.name))
                }
            }
            return Panel(
                title: group.title, stat: group.metrics[0].placement?.statistic ?? "Average", expressions: expressions)
        }
        for (dashboard, definition, title) in Self.pairs where dashboard == id {
            let stat = definition.placement?.statistic ?? "Average"
            panels.append(
                Panel(
                    title: title, stat: stat,
                    expressions: [
                        .init(
                            expression: searchExpression(
                                definition, dimensions: definition.dimensions, statistic: stat), id: "e1",
                            label: definition.name)
                    ]))
        }
        for ratio in Self.ratios where ratio.dashboard == id {
            var expressions = ratio.terms.enumerated().map { i, term in
                DashboardBody.MetricExpression(
                    expression: searchExpression(
                        term.0, dimensions: ratio.dimensions ?? detailed(term.0), statistic: term.1,
                        perService: Self.isPerService(id)),
                    id: "e\(i + 1)",
                    label: term.0.name, visible: false)
            }
            expressions.append(.init(expression: ratio.expression, id: "r1", label: ratio.label))
            panels.append(Panel(title: ratio.title, stat: "Average", expressions: expressions))
        }
        return panels
    }

    /// The most detailed dimension set `definition` is published under: its own, or (when its full
    /// series are not published) its first rollup.
    func detailed(_ definition: MetricDefinition) -> [String] {
        definition.publishedDimensionSets(apiRoutes: apiRoutes).first ?? definition.dimensions
    }

    /// The alarm-status widget of an area (the Overview: every area's composite) and the text
    /// widget saying what to do when one is red.
    func alarmWidgets(_ id: DashboardID, _ alarms: AlarmGenerator) -> [DashboardBody.Widget]? {
        let areas = alarms.areas()
        let names: [String]
        let help: String
        if id == .overview {
            names = areas.map { alarms.compositeName($0.area) }
            help =
                "## When an area is red\nOpen its dashboard: each lists its alarms and what to do about each.\n\n"
                + areas.map { "- **\($0.area.title)**: \(alarms.compositeName($0.area))" }.joined(separator: "\n")
        } else {
            guard let area = areas.first(where: { $0.area == id }) else { return nil }
            names = [alarms.compositeName(id)] + area.alarms.map(\.name)
            var seen = Set<String>()
            let rules = area.alarms.map(\.rule).filter { seen.insert($0.id).inserted }
            help =
                "## When an alarm is red\n"
                + rules.map { "- **\($0.title)** (`\(alarms.prefix)-\($0.id)*`): \($0.runbook)" }.joined(
                    separator: "\n")
        }
        let arns = names.prefix(100).map { "arn:aws:cloudwatch:\(region):\(Self.accountPlaceholder):alarm:\($0)" }
        return [
            .init(
                type: "alarm", x: 0, y: 0, width: Self.widgetWidth, height: Self.widgetHeight,
                properties: .init(title: id == .overview ? "Areas" : "Alarms", alarms: Array(arns))),
            .init(
                type: "text", x: Self.widgetWidth, y: 0, width: Self.widgetWidth, height: Self.widgetHeight,
                properties: .init(markdown: help)),
        ]
    }

    /// `SEARCH('{Namespace,Dim1,Dim2} MetricName="Name"', 'Stat', period)`, restricted to the chosen
    /// service (`Service="__SERVICE__"`, replaced by the Service variable) when `perService`.
    func searchExpression(
        _ definition: MetricDefinition, dimensions: [String], statistic: String, perService: Bool = false
    ) -> String {
        let schema = ([definition.namespace] + dimensions).joined(separator: ",")
        let service = perService && dimensions.contains("Service") ? " Service=\"\(Self.servicePattern)\"" : ""
        return "SEARCH('{\(schema)} MetricName=\"\(definition.name)\"\(service)', '\(statistic)', \(period))"
    }

    func introduction(for id: DashboardID) -> String {
        switch id {
        case .overview:
            return """
                # Overview
                The deployment at a glance: each area's alarms, and its headline per service. Every widget reads what \
                obs-agent sends (the per-service rollups of the catalog); open an area's dashboard for the detail.
                """
        case .api:
            return """
                # API
                Requests, faults (5xx), errors (4xx), throttles (429) and latency per service, method and route, \
                from each service's `/actuator/prometheus` (`http_server_requests_seconds`) or from the X-Ray \
                segments the services send to obs-agent. Routes have their ids collapsed \
                (`/api/users/{id}`). Choose the service with the Service selector above. A rise in Faults with \
                flat Requests points at a dependency: open the traces.
                """
        case .pools:
            return """
                # Connection pools
                Each service's HikariCP pool (and Keycloak's Agroal pool) as the application sees it, scraped from \
                `/actuator/prometheus` by obs-agent (choose the service with the Service selector above). \
                Utilization near 100 %, PendingThreads above zero or any \
                Timeouts mean requests wait for a connection: raise maximumPoolSize only if PostgreSQL has \
                connections to spare (Database dashboard), else find what holds connections (UsageTime).
                """
        case .auth:
            return """
                # Authentication
                Keycloak logins per realm and client, from its metrics endpoint. A rise in LoginFailure with \
                reason invalid_user_credentials from few clients is a brute-force attempt; user_not_found across \
                many users is credential stuffing. A failure rate jump right after a deploy points at a client's \
                configuration.
                """
        case .database:
            return """
                # Database
                PostgreSQL activity from `pg_stat_database` and `pg_stat_activity`, per instance and database, \
                sampled by obs-agent. Rollbacks and deadlocks should stay near zero; a growing number of \
                `idle in transaction` connections points at a pool or application leak.
                """
        case .agentHealth:
            return """
                # Agent health
                What obs-agent could not deliver (Dropped, by reason: should stay at zero) and what went wrong \
                without loss (Incidents: failed samples, counter resets, series folded past the cardinality limit). \
                If Dropped rises, check the agent's log for the reason named here.
                """
        }
    }

    /// The body as the JSON obsctl writes: keys sorted, indented, stable from run to run.
    package func json(for id: DashboardID) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        var data = try encoder.encode(body(for: id))
        data.append(0x0A)
        return data
    }
}
