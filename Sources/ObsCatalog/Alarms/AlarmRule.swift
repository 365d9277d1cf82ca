/// One alarm, defined once over catalog metrics, made concrete for each service or database of a
/// deployment by ``AlarmGenerator``. CloudWatch alarms need exact dimensions, which is why they read
/// the metrics' rollups (per service, or with no dimension) rather than per-route series.
public struct AlarmRule: Sendable {
    /// What an alarm is made for, one alarm each.
    public enum Scope: String, Sendable {
        /// Each scraped service (`Service`).
        case service
        /// Each sampled database (`DBInstance`, `Database`).
        case database
        /// Once for the deployment.
        case global
    }

    public enum Comparison: String, Sendable {
        case greaterThan = "GreaterThanThreshold"
        case greaterThanOrEqual = "GreaterThanOrEqualToThreshold"
        case lessThan = "LessThanThreshold"
        case outsideBand = "LessThanLowerOrGreaterThanUpperThreshold"
        case aboveBand = "GreaterThanUpperThreshold"
    }

    /// A metric read by an alarm: the catalog metric, its statistic (`Sum`, `Average`, `p99`, ...)
    /// and dimension values fixed by the rule (beside the scope's).
    public struct MetricRead: Sendable {
        public var id: String
        package var metric: MetricDefinition
        package var statistic: String
        package var fixed: [String: String]

        package init(_ id: String, _ metric: MetricDefinition, _ statistic: String, fixed: [String: String] = [:]) {
            self.id = id
            self.metric = metric
            self.statistic = statistic
            self.fixed = fixed
        }
    }

    public enum Condition: Sendable {
        /// The metric against a static threshold.
        case threshold(MetricRead, Comparison, Double)
        /// A metric-math expression over the metrics (`100*m1/(m1+m2)`) against a static threshold.
        case math(expression: String, label: String, [MetricRead], Comparison, Double)
        /// The metric outside CloudWatch's anomaly-detection band of `width` standard deviations.
        case anomaly(MetricRead, Comparison, width: Double)
    }

    /// Stable, short: part of every alarm name (`obs-<id>-<target>`).
    public var id: String
    package var area: DashboardID
    package var scope: Scope
    package var title: String
    package var condition: Condition
    /// What to do when it fires: the alarm's description and the dashboards' help text.
    package var runbook: String
    package var period = 60
    package var evaluationPeriods = 5
    package var datapointsToAlarm = 3
    /// `notBreaching` for most: no data means nothing happened. `breaching` where silence is the
    /// failure (a scrape target or the agent gone).
    package var treatMissingData = "notBreaching"

    package init(id: String, area: DashboardID, scope: Scope, title: String, condition: Condition, runbook: String) {
        self.id = id
        self.area = area
        self.scope = scope
        self.title = title
        self.condition = condition
        self.runbook = runbook
    }

    /// The metrics the alarm reads.
    package var reads: [MetricRead] {
        switch condition {
        case .threshold(let read, _, _), .anomaly(let read, _, _): return [read]
        case .math(_, _, let reads, _, _): return reads
        }
    }

    func with(_ change: (inout AlarmRule) -> Void) -> AlarmRule {
        var copy = self
        change(&copy)
        return copy
    }
}
