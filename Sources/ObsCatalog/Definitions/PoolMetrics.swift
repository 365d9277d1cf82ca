import ObsCore

/// Connection pools of the services, from the application side: HikariCP as Micrometer exposes it
/// on `/actuator/prometheus`, and Keycloak's Agroal pool. Paired with PostgreSQL's sessions by
/// `application_name` (the database side of the same pools) on the Connection pools dashboard.
public enum PoolMetrics {
    public static let namespace = "Obs/Pool"
    public static let dimensions = ["Service", "Pool"]

    private static func gauge(
        _ id: String, _ name: String, unit: MetricUnit = .count, widget: String, statistic: String = "Average",
        source: String, _ description: String
    ) -> MetricDefinition {
        MetricDefinition(
            id: "pool.\(id)", namespace: namespace, name: name, unit: unit, kind: .gauge, dimensions: dimensions,
            description: description, source: source,
            placement: DashboardPlacement(dashboard: .pools, widget: widget, statistic: statistic))
    }

    private static func timer(_ id: String, _ name: String, family: String, widget: String, _ description: String)
        -> MetricDefinition
    {
        MetricDefinition(
            id: "pool.\(id)", namespace: namespace, name: name, unit: .milliseconds, kind: .distribution,
            dimensions: dimensions,
            description: description
                + " A distribution: from the `_bucket` series when the service publishes them (percentiles hold to the bucket width), else the interval's mean from `_sum`/`_count`.",
            source: "\(family) (_bucket, _sum, _count, _max)",
            placement: DashboardPlacement(dashboard: .pools, widget: widget, statistic: "p99"))
    }

    package static let connections = gauge(
        "connections", "Connections", widget: "Connections",
        source: "hikaricp_connections; agroal_active_count + agroal_available_count",
        "Connections the pool holds open (active and idle).")
    package static let active = gauge(
        "active", "ActiveConnections", widget: "Connections",
        source: "hikaricp_connections_active; agroal_active_count",
        "Connections lent to the application right now.")
    package static let idle = gauge(
        "idle", "IdleConnections", widget: "Connections", source: "hikaricp_connections_idle; agroal_available_count",
        "Connections open and waiting in the pool.")
    public static let pending = gauge(
        "pending", "PendingThreads", widget: "Threads waiting for a connection", statistic: "Maximum",
        source: "hikaricp_connections_pending; agroal_awaiting_count",
        "Threads waiting for a connection. Anything above zero for long means the pool is too small or connections are held too long."
    ).rolled(perService)
    public static let maximum = gauge(
        "max", "MaxConnections", widget: "Pool size", source: "hikaricp_connections_max",
        "The pool's maximum size (maximumPoolSize).")
    public static let minimum = gauge(
        "min", "MinConnections", widget: "Pool size", source: "hikaricp_connections_min",
        "The pool's minimum idle size (minimumIdle).")
    package static let utilization = gauge(
        "utilization", "Utilization", unit: .percent, widget: "Utilization", statistic: "Maximum",
        source: "hikaricp_connections_active / hikaricp_connections_max, each scrape",
        "Active connections as a percentage of the pool's maximum. Near 100 % the next request waits (PendingThreads) or times out."
    ).rolled(perService)
    package static let timeouts = MetricDefinition(
        id: "pool.timeouts", namespace: namespace, name: "Timeouts", unit: .count, kind: .counter,
        dimensions: dimensions,
        description:
            "Requests for a connection that gave up after connectionTimeout: each is a failed request in the service.",
        source: "hikaricp_connections_timeout_total",
        placement: DashboardPlacement(dashboard: .pools, widget: "Timeouts", statistic: "Sum")
    ).rolled(perService)
    package static let acquireTime = timer(
        "acquire_time", "AcquireTime", family: "hikaricp_connections_acquire_seconds",
        widget: "Time to get a connection",
        "Time a thread waited to get a connection from the pool.")
    package static let usageTime = timer(
        "usage_time", "UsageTime", family: "hikaricp_connections_usage_seconds", widget: "Time a connection is held",
        "Time a connection was held by the application before it was returned.")
    package static let creationTime = timer(
        "creation_time", "CreationTime", family: "hikaricp_connections_creation_seconds",
        widget: "Time to open a connection",
        "Time to open a new physical connection to the database.")

    /// Published per service as well (a service's pools folded together), for alarms.
    static let perService = [["Service"]]

    package static let all = [
        connections, active, idle, pending, maximum, minimum, utilization, timeouts, acquireTime, usageTime,
        creationTime,
    ]
}
