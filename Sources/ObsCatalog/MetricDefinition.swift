import ObsCore

/// One metric, defined once: what the agent emits under this name and what obsctl draws and alarms
/// on. The agent refuses to emit a metric the catalog does not define.
public struct MetricDefinition: Sendable, Hashable {
    /// A stable identifier, `area.object.measure` (for example `postgres.database.commits`).
    public var id: String
    /// Namespace, name, unit, kind and storage resolution, as CloudWatch sees them.
    package var descriptor: MetricDescriptor
    /// The dimension names every series of this metric carries, in order.
    public var dimensions: [String]
    /// What the metric means, for the docs and the dashboards' help text.
    public var description: String
    /// Where the value comes from (a view and column, a Prometheus family, a log event).
    package var source: String
    /// Where the metric is drawn, if anywhere.
    package var placement: DashboardPlacement?
    /// Dimension subsets the metric is also published under, folded at flush time (CloudWatch's
    /// aggregation dimensions): what per-service alarms and dashboards read. `[]` is the metric
    /// with no dimension at all.
    package var rollups: [[String]] = []
    /// Whether the series of ``dimensions`` themselves are published beside the rollups.
    package var detail: Detail = .published

    /// Whether a metric's full series (all of its ``dimensions``) are published.
    package enum Detail: Sendable, Hashable {
        /// Always (the default).
        case published
        /// When `metrics.api_routes` is on: the per-route API series. Off, only the rollups.
        case perRoute
        /// Never: recorded at full detail (as every source records it) and published only folded
        /// into its rollups.
        case rollupsOnly
    }

    /// The dimension sets the metric is published under: its own (unless ``detail`` says not)
    /// and its rollups.
    package func publishedDimensionSets(apiRoutes: Bool) -> [[String]] {
        let full = detail == .published || (detail == .perRoute && apiRoutes)
        return (full ? [dimensions] : []) + rollups
    }

    package init(
        id: String, namespace: String, name: String, unit: MetricUnit, kind: MetricKind,
        dimensions: [String], description: String, source: String,
        storageResolution: Int = 60, placement: DashboardPlacement? = nil
    ) {
        self.id = id
        self.descriptor = MetricDescriptor(
            namespace: namespace, name: name, unit: unit, kind: kind, storageResolution: storageResolution)
        self.dimensions = dimensions
        self.description = description
        self.source = source
        self.placement = placement
    }

    /// A copy also published under `rollups` (see ``rollups``).
    package func rolled(_ rollups: [[String]]) -> MetricDefinition {
        var copy = self
        copy.rollups = rollups
        return copy
    }

    /// A copy whose full series are published as `detail` says (see ``Detail``).
    package func detailed(_ detail: Detail) -> MetricDefinition {
        var copy = self
        copy.detail = detail
        return copy
    }

    public var namespace: String { descriptor.namespace }
    public var name: String { descriptor.name }
    package var unit: MetricUnit { descriptor.unit }
    public var kind: MetricKind { descriptor.kind }
}

/// Where a metric sits on the generated dashboards.
public struct DashboardPlacement: Sendable, Hashable {
    package var dashboard: DashboardID
    /// The widget's title; metrics with the same title share one widget.
    package var widget: String
    /// The statistic drawn (Sum for counters, Average or Maximum for gauges, p99 for distributions).
    package var statistic: String

    package init(dashboard: DashboardID, widget: String, statistic: String) {
        self.dashboard = dashboard
        self.widget = widget
        self.statistic = statistic
    }
}

/// The dashboards obsctl generates.
public enum DashboardID: String, Sendable, Hashable, CaseIterable {
    case overview
    case api
    case pools = "connection-pools"
    case database
    case auth = "authentication"
    case agentHealth = "agent-health"

    /// The file name under `dashboards/` and the CloudWatch dashboard name's suffix.
    package var fileName: String { "\(rawValue).json" }
    package var title: String {
        switch self {
        case .overview: return "Overview"
        case .api: return "API"
        case .pools: return "Connection pools"
        case .database: return "Database"
        case .auth: return "Authentication"
        case .agentHealth: return "Agent health"
        }
    }
}
