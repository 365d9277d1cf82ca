import FoundationEssentials
import ObsCore

#if canImport(Glibc)
    import Glibc
#endif

/// CloudWatch and X-Ray prices, kept as data (`packaging/cloudwatch-prices.json`) so a user can
/// update them for their region or agreement.
public struct Prices: Codable, Sendable {
    public struct Tier: Codable, Sendable {
        /// Metrics up to this count are billed at this tier's price; nil for the last tier.
        package var upTo: Int?
        package var perMetricMonth: Double

        enum CodingKeys: String, CodingKey {
            case upTo = "up_to"
            case perMetricMonth = "per_metric_month"
        }
    }

    package var region: String
    package var asOf: String
    package var metricTiers: [Tier]
    package var apiRequestsPer1000: Double
    package var alarmMetricMonth: Double
    package var anomalyAlarmMonth: Double
    package var compositeAlarmMonth: Double
    package var dashboardMonth: Double
    package var freeDashboards: Int
    package var logIngestionPerGB: Double
    package var logStoragePerGBMonth: Double
    package var tracesRecordedPerMillion: Double
    package var freeTracesPerMonth: Double

    enum CodingKeys: String, CodingKey {
        case region
        case asOf = "as_of"
        case metricTiers = "metric_tiers"
        case apiRequestsPer1000 = "api_requests_per_1000"
        case alarmMetricMonth = "alarm_metric_month"
        case anomalyAlarmMonth = "anomaly_alarm_month"
        case compositeAlarmMonth = "composite_alarm_month"
        case dashboardMonth = "dashboard_month"
        case freeDashboards = "free_dashboards"
        case logIngestionPerGB = "log_ingestion_per_gb"
        case logStoragePerGBMonth = "log_storage_per_gb_month"
        case tracesRecordedPerMillion = "traces_recorded_per_million"
        case freeTracesPerMonth = "free_traces_per_month"
    }

    /// The monthly price of `count` custom metrics, tier by tier.
    package func metrics(_ count: Int) -> Double {
        var left = count
        var below = 0
        var total = 0.0
        for tier in metricTiers where left > 0 {
            let size = tier.upTo.map { $0 - below } ?? left
            let billed = min(left, size)
            total += Double(billed) * tier.perMetricMonth
            left -= billed
            below = tier.upTo ?? below
        }
        return total
    }
}

/// What cannot be read from a config: how many of each dimension's values a deployment has.
public struct CostAssumptions: Sendable {
    /// Method and route pairs a service serves.
    package var routesPerService = 20
    /// Status classes seen per route (2xx, 4xx, 5xx).
    package var statusClasses = 3
    /// Instances (tasks, pods) per scraped service.
    package var instancesPerService = 2
    package var poolsPerService = 1
    /// Keycloak realms and clients.
    package var realms = 1
    package var clientsPerRealm = 3
    /// Distinct login failure reasons seen in a month.
    package var failureReasons = 4
    /// Connection states seen per database (active, idle, idle in transaction, ...).
    package var connectionStates = 4
    /// Traces recorded a second (sampled requests), when the X-Ray source is on.
    package var tracesPerSecond = 0.0
    /// Log volume a day, in GB, when logs are shipped.
    package var logGBPerDay = 0.0

    package init() {}
}

/// The monthly CloudWatch bill of a config: custom metrics (every series of every emitted metric,
/// rollups included), PutMetricData requests, alarms, dashboards, traces and logs.
public struct CostEstimate: Sendable {
    public struct Line: Sendable {
        package var item: String
        package var quantity: Double
        package var unit: String
        package var monthly: Double
    }

    package let lines: [Line]
    package var total: Double { lines.reduce(0) { $0 + $1.monthly } }

    /// - Parameters:
    ///   - metrics: the emitted catalog metrics.
    ///   - targets: the services and databases.
    ///   - flushInterval: seconds between flushes.
    package init(
        metrics: [MetricDefinition], targets: AlarmTargets, flushInterval: Double, alarms: AlarmGenerator?,
        dashboards: Int,
        assumptions a: CostAssumptions, prices: Prices
    ) {
        let services = max(targets.services.count, 1)
        let databases = targets.databases.count
        let clients = a.realms * a.clientsPerRealm
        func values(_ dimension: String) -> Int {
            switch dimension {
            case "Service": return services
            case "Method", "Route": return 1  // counted together below
            case "StatusClass": return a.statusClasses
            case "Pool": return a.poolsPerService
            case "Target": return a.instancesPerService
            case "Realm": return a.realms
            case "Client": return a.clientsPerRealm
            case "Reason": return a.failureReasons
            case "Event": return 4
            case "State": return a.connectionStates
            case "Kind": return 3
            default: return 1
            }
        }
        func series(_ dimensions: [String]) -> Int {
            if dimensions.contains("DBInstance") {
                return databases * (dimensions.contains("State") ? a.connectionStates : 1)
            }
            var count = dimensions.reduce(1) { $0 * values($1) }
            if dimensions.contains("Route") { count *= a.routesPerService }
            return count
        }
        var count = 0
        for metric in metrics where metric.namespace != "Obs/Agent" || !metric.dimensions.contains("Reason") {
            count += series(metric.dimensions) + metric.rollups.map(series).reduce(0, +)
        }
        let month = 30.4 * 24 * 3600
        let flushes = month / flushInterval
        let requests = flushes * Double(max(1, Int((Double(count) / 1000).rounded(.up))))
        var lines = [
            Line(
                item: "custom metrics (series, rollups included)", quantity: Double(count), unit: "metrics",
                monthly: prices.metrics(count)),
            Line(
                item: "PutMetricData requests", quantity: requests, unit: "requests",
                monthly: requests / 1000 * prices.apiRequestsPer1000),
        ]
        if let alarms {
            var metricAlarms = 0.0
            var anomaly = 0
            for alarm in alarms.alarms() {
                switch alarm.rule.condition {
                case .threshold: metricAlarms += 1
                case .math(_, _, let reads, _, _): metricAlarms += Double(reads.count)
                case .anomaly: anomaly += 1
                }
            }
            let composites = alarms.areas().count
            lines.append(
                Line(
                    item: "alarms (metrics alarmed on)", quantity: metricAlarms, unit: "alarm metrics",
                    monthly: metricAlarms * prices.alarmMetricMonth))
            lines.append(
                Line(
                    item: "anomaly-detection alarms", quantity: Double(anomaly), unit: "alarms",
                    monthly: Double(anomaly) * prices.anomalyAlarmMonth))
            lines.append(
                Line(
                    item: "composite alarms", quantity: Double(composites), unit: "alarms",
                    monthly: Double(composites) * prices.compositeAlarmMonth))
        }
        let billedDashboards = max(0, dashboards - prices.freeDashboards)
        lines.append(
            Line(
                item: "dashboards", quantity: Double(dashboards), unit: "dashboards",
                monthly: Double(billedDashboards) * prices.dashboardMonth))
        if a.tracesPerSecond > 0 {
            let traces = a.tracesPerSecond * month
            let billed = max(0, traces - prices.freeTracesPerMonth)
            lines.append(
                Line(
                    item: "X-Ray traces recorded", quantity: traces, unit: "traces",
                    monthly: billed / 1e6 * prices.tracesRecordedPerMillion))
        }
        if a.logGBPerDay > 0 {
            let gb = a.logGBPerDay * 30.4
            lines.append(Line(item: "log ingestion", quantity: gb, unit: "GB", monthly: gb * prices.logIngestionPerGB))
        }
        self.lines = lines
    }

    /// A plain-text table.
    package func table(prices: Prices) -> String {
        func row(_ item: String, _ quantity: String, _ unit: String, _ monthly: String) -> String {
            func left(_ text: String, _ width: Int) -> String {
                text.count >= width
                    ? String(text.prefix(width)) : text + String(repeating: " ", count: width - text.count)
            }
            func right(_ text: String, _ width: Int) -> String {
                String(repeating: " ", count: max(0, width - text.count)) + text
            }
            return left(item, 44) + right(quantity, 10) + "  " + left(unit, 14) + right(monthly, 10) + "\n"
        }
        var out = row("item", "quantity", "unit", "USD/month")
        for line in lines {
            out += row(
                line.item, String(cFormat: "%.0f", line.quantity), line.unit, String(cFormat: "%.2f", line.monthly))
        }
        out += row("total", "", "", String(cFormat: "%.2f", total))
        out += "prices: \(prices.region), \(prices.asOf) (edit packaging/cloudwatch-prices.json to update)\n"
        return out
    }
}
