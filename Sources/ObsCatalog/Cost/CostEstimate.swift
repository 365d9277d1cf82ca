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

/// What cannot be read from a config: how many values each dimension takes, per value of the
/// dimensions before it (routes per service, tables per database). The services, databases and
/// instances come from the config; everything else from here.
public struct CostAssumptions: Sendable {
    /// Distinct values of a dimension within one series of the dimensions it is nested in: `Route`
    /// is method and route pairs per service (`Method` counts 1), `Target` instances per service,
    /// `Table` and `QueryId` per database. A dimension not listed has one value.
    package var values: [String: Int] = Self.defaults
    /// The names the user gave (`--assume`): these win over what the config fixes.
    package var given: Set<String> = []
    /// Traces recorded a second (sampled requests), when the X-Ray source is on.
    package var tracesPerSecond = 0.0
    /// Log volume a day, in GB, when logs are shipped.
    package var logGBPerDay = 0.0

    package static let defaults: [String: Int] = [
        "Route": 20, "Target": 2, "Pool": 1, "Realm": 1, "Client": 3, "Reason": 4, "Event": 4,
        "State": 4, "WaitEventType": 2, "Application": 6, "Mode": 3, "Granted": 1, "Table": 10, "QueryId": 10,
        "Replica": 0, "Slot": 0, "Kind": 3,
    ]

    /// What each assumption means, for `obsctl cost --help` and docs/COST.md.
    package static let meanings: [(String, String)] = [
        ("Route", "method and route pairs a service serves"),
        ("Target", "instances (tasks, pods) per scraped service"),
        ("Pool", "connection pools per service"),
        ("Realm", "Keycloak realms"), ("Client", "clients per realm"),
        ("Reason", "login failure reasons seen per client"),
        ("Event", "other Keycloak event types per client"),
        ("State", "connection states per database"),
        ("WaitEventType", "wait event types seen per database at once"),
        ("Application", "application_name values connected per database"),
        ("Mode", "lock modes held per database"), ("Granted", "granted/waiting values per lock mode"),
        ("Table", "tables per database (sources.postgres top_tables)"),
        ("QueryId", "statements per database (sources.postgres top_statements)"),
        ("Replica", "streaming replicas per instance (none on RDS Multi-AZ)"),
        ("Slot", "replication slots per instance"),
        ("Kind", "kinds of batches the agent sends (metrics, logs, traces)"),
    ]

    package init() {}
}

/// One dimension set a metric is published under: the unit CloudWatch bills (one series per
/// combination of values) and dashboards and alarms read.
public struct SeriesSet: Sendable, Hashable, Comparable {
    package var namespace: String
    package var name: String
    package var dimensions: Set<String>

    package init(namespace: String, name: String, dimensions: Set<String>) {
        self.namespace = namespace
        self.name = name
        self.dimensions = dimensions
    }

    package init(_ metric: MetricDefinition, _ dimensions: [String]) {
        self.init(namespace: metric.namespace, name: metric.name, dimensions: Set(dimensions))
    }

    public static func < (a: SeriesSet, b: SeriesSet) -> Bool {
        (a.namespace, a.name, a.dimensions.sorted().joined(separator: ","))
            < (b.namespace, b.name, b.dimensions.sorted().joined(separator: ","))
    }
}

/// The monthly CloudWatch bill of a config: custom metrics (every series of every published
/// dimension set, rollups included), PutMetricData requests, alarms, dashboards, traces and logs;
/// and, metric by metric, what each series set costs and what reads it.
public struct CostEstimate: Sendable {
    public struct Line: Sendable {
        package var item: String
        package var quantity: Double
        package var unit: String
        package var monthly: Double
    }

    /// One metric under one dimension set: its series, what multiplies them, its share of the
    /// metric bill (series × the bill's average price a series), and who reads it.
    public struct MetricLine: Sendable {
        package var metric: MetricDefinition
        /// The dimension names in catalog order (empty: the metric with no dimension).
        package var dimensions: [String]
        /// Each dimension with its count of values (Method is inside Route).
        package var factors: [(String, Int)]
        package var series: Int
        package var monthly: Double
        /// Dashboard widgets (`dashboard: title`) and alarm rules (`alarm rule-id`) reading it.
        package var readers: [String]
    }

    package let lines: [Line]
    package let metrics: [MetricLine]
    /// The values counted for each assumed dimension: the assumptions, with what the config fixes.
    package let values: [String: Int]
    package var total: Double { lines.reduce(0) { $0 + $1.monthly } }
    package var seriesCount: Int { metrics.reduce(0) { $0 + $1.series } }

    /// - Parameters:
    ///   - metrics: the emitted catalog metrics, with the dimension sets each is published under.
    ///   - targets: the services and databases (and dimension values the config fixes).
    ///   - flushInterval: seconds between flushes.
    ///   - readers: what reads each series set (dashboard widgets, alarms).
    package init(
        metrics: [(MetricDefinition, [[String]])], targets: AlarmTargets, flushInterval: Double,
        alarms: AlarmGenerator?, dashboards: Int, readers: [SeriesSet: [String]] = [:],
        assumptions a: CostAssumptions, prices: Prices
    ) {
        let services = targets.services.count
        let pairs = Set(targets.databases.map { "\($0.instance)\u{0}\($0.database)" }).count
        let instances = Set(targets.databases.map(\.instance)).count
        let fixed = targets.values.filter { !a.given.contains($0.key) }
        self.values = a.values.merging(fixed) { $1 }
        let values = self.values
        func factors(_ dimensions: [String]) -> [(String, Int)] {
            var out: [(String, Int)] = []
            for dimension in dimensions {
                switch dimension {
                case "Service": out.append((dimension, services))
                case "Method": continue
                // Databases are (instance, database) pairs: counted once, as Database.
                case "DBInstance": if !dimensions.contains("Database") { out.append((dimension, instances)) }
                case "Database": out.append((dimension, pairs))
                default: out.append((dimension, values[dimension] ?? 1))
                }
            }
            return out
        }
        var metricLines: [MetricLine] = []
        for (metric, sets) in metrics {
            for dimensions in sets {
                let f = factors(dimensions)
                metricLines.append(
                    MetricLine(
                        metric: metric, dimensions: dimensions, factors: f, series: f.reduce(1) { $0 * $1.1 },
                        monthly: 0, readers: readers[SeriesSet(metric, dimensions)] ?? []))
            }
        }
        let count = metricLines.reduce(0) { $0 + $1.series }
        let metricBill = prices.metrics(count)
        for i in metricLines.indices {
            metricLines[i].monthly = count == 0 ? 0 : metricBill * Double(metricLines[i].series) / Double(count)
        }
        self.metrics = metricLines

        let month = 30.4 * 24 * 3600
        let flushes = month / flushInterval
        let requests = count == 0 ? 0 : flushes * Double(max(1, Int((Double(count) / 1000).rounded(.up))))
        var lines = [
            Line(
                item: "custom metrics (series, rollups included)", quantity: Double(count), unit: "metrics",
                monthly: metricBill),
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

    /// A plain-text table: the bill, then one line per metric and dimension set, costliest first.
    package func table(prices: Prices) -> String {
        let (left, right) = (Self.left, Self.right)
        func row(_ item: String, _ quantity: String, _ unit: String, _ monthly: String) -> String {
            left(item, 44) + right(quantity, 10) + "  " + left(unit, 14) + right(monthly, 10) + "\n"
        }
        var out = row("item", "quantity", "unit", "USD/month")
        for line in lines {
            out += row(
                line.item, String(cFormat: "%.0f", line.quantity), line.unit, String(cFormat: "%.2f", line.monthly))
        }
        out += row("total", "", "", String(cFormat: "%.2f", total))
        out += "\nmetrics, costliest first (series = the product of each dimension's values; Method is in Route):\n"
        out += left("metric", 48) + left("dimensions", 36) + right("series", 7) + right("USD/month", 11) + "  read by\n"
        for line in metricsByCost {
            out += left("\(line.metric.namespace) \(line.metric.name)", 48)
            out += left(Self.describe(line.factors), 36)
            out += right("\(line.series)", 7) + right(String(cFormat: "%.2f", line.monthly), 11) + "  "
            out += (line.readers.isEmpty ? "nothing" : line.readers.joined(separator: "; ")) + "\n"
        }
        out += "prices: \(prices.region), \(prices.asOf) (edit packaging/cloudwatch-prices.json to update)\n"
        return out
    }

    /// The metric lines, costliest first, then by name.
    package var metricsByCost: [MetricLine] {
        metrics.sorted {
            $0.series != $1.series
                ? $0.series > $1.series : SeriesSet($0.metric, $0.dimensions) < SeriesSet($1.metric, $1.dimensions)
        }
    }

    /// `Service 4 × Route 20`, or `none` for the metric with no dimension.
    package static func describe(_ factors: [(String, Int)]) -> String {
        factors.isEmpty ? "none" : factors.map { "\($0.0) \($0.1)" }.joined(separator: " × ")
    }

    /// The estimate as a JSON object, for scripts.
    package func jsonObject(prices: Prices) -> [String: Any] {
        [
            "total_monthly_usd": Self.cents(total),
            "items": lines.map {
                ["item": $0.item, "quantity": $0.quantity, "unit": $0.unit, "monthly_usd": Self.cents($0.monthly)]
                    as [String: Any]
            },
            "metrics": metricsByCost.map { line -> [String: Any] in
                [
                    "namespace": line.metric.namespace, "metric": line.metric.name, "id": line.metric.id,
                    "dimensions": line.dimensions,
                    "factors": Dictionary(line.factors.map { ($0.0, $0.1) }, uniquingKeysWith: { a, _ in a }),
                    "series": line.series, "monthly_usd": Self.cents(line.monthly), "read_by": line.readers,
                ]
            },
            "series": seriesCount,
            "assumptions": values,
            "prices": ["region": prices.region, "as_of": prices.asOf],
        ]
    }

    /// USD to the cent, for JSON.
    package static func cents(_ value: Double) -> Double { (value * 100).rounded() / 100 }

    /// `text` padded on the right to `width` (a space after it when longer): a table column.
    package static func left(_ text: String, _ width: Int) -> String {
        text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
    }

    /// `text` padded on the left to `width`: a right-aligned table column.
    package static func right(_ text: String, _ width: Int) -> String {
        String(repeating: " ", count: max(0, width - text.count)) + text
    }
}
