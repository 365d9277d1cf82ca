import Foundation
import ObsCore

/// Draws a catalog's metrics onto CloudWatch dashboards: one metric widget per placement title, the
/// metrics found by SEARCH expressions over the catalog's namespace, name and dimension names, so
/// the dashboard shows every instance and database the agents report without naming them.
public struct DashboardGenerator: Sendable {
    /// Grid constants of CloudWatch dashboards.
    public static let gridColumns = 24
    static let widgetWidth = 12
    static let widgetHeight = 6
    static let textHeight = 3

    public let catalog: Catalog
    /// The region the widgets query; `${AWS::Region}`-style placeholders are not supported by
    /// dashboards, so it is a parameter of generation.
    public let region: String
    /// The period of every metric widget, in seconds.
    public let period: Int

    public init(catalog: Catalog, region: String = "us-east-1", period: Int = 60) {
        self.catalog = catalog
        self.region = region
        self.period = period
    }

    /// The body of dashboard `id`.
    public func body(for id: DashboardID) -> DashboardBody {
        var widgets: [DashboardBody.Widget] = [
            .init(
                type: "text", x: 0, y: 0, width: Self.gridColumns, height: Self.textHeight,
                properties: .init(markdown: introduction(for: id)))
        ]
        var groups: [(title: String, metrics: [MetricDefinition])] = []
        for definition in catalog.definitions {
            guard let placement = definition.placement, placement.dashboard == id else { continue }
            if let index = groups.firstIndex(where: { $0.title == placement.widget }) {
                groups[index].metrics.append(definition)
            } else {
                groups.append((placement.widget, [definition]))
            }
        }
        for (n, group) in groups.enumerated() {
            let expressions = group.metrics.enumerated().map { i, definition in
                DashboardBody.MetricExpression(
                    expression: searchExpression(definition),
                    id: "e\(i + 1)", label: definition.name)
            }
            widgets.append(
                .init(
                    type: "metric",
                    x: (n % 2) * Self.widgetWidth,
                    y: Self.textHeight + (n / 2) * Self.widgetHeight,
                    width: Self.widgetWidth, height: Self.widgetHeight,
                    properties: .init(
                        title: group.title, view: "timeSeries", stacked: false, region: region, period: period,
                        stat: group.metrics[0].placement?.statistic, metrics: expressions.map { [$0] })))
        }
        return DashboardBody(widgets: widgets)
    }

    /// `SEARCH('{Namespace,Dim1,Dim2} MetricName="Name"', 'Stat', period)`.
    func searchExpression(_ definition: MetricDefinition) -> String {
        let schema = ([definition.namespace] + definition.dimensions).joined(separator: ",")
        let stat = definition.placement?.statistic ?? "Average"
        return "SEARCH('{\(schema)} MetricName=\"\(definition.name)\"', '\(stat)', \(period))"
    }

    func introduction(for id: DashboardID) -> String {
        switch id {
        case .api:
            return """
                # API
                Requests, faults (5xx), errors (4xx), throttles (429) and latency per service, method and route, \
                from each service's `/actuator/prometheus` (`http_server_requests_seconds`) or from the X-Ray \
                segments the services send to obs-agent. Routes have their ids collapsed \
                (`/api/users/{id}`). A rise in Faults with flat Requests points at a dependency: open the traces.
                """
        case .pools:
            return """
                # Connection pools
                Each service's HikariCP pool (and Keycloak's Agroal pool) as the application sees it, scraped from \
                `/actuator/prometheus` by obs-agent. Utilization near 100 %, PendingThreads above zero or any \
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
    public func json(for id: DashboardID) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        var data = try encoder.encode(body(for: id))
        data.append(0x0A)
        return data
    }
}
