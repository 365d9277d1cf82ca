import FoundationEssentials

#if canImport(Glibc)
    import Glibc
#endif

/// The services and databases of a deployment: what per-service and per-database alarms are made for.
public struct AlarmTargets: Sendable, Equatable {
    package var services: [String]
    package var databases: [Database]
    /// Values of other dimensions the config fixes, per value of the dimensions they are nested in
    /// (`Table`: sources.postgres top_tables), for ``CostEstimate``.
    package var values: [String: Int] = [:]

    public struct Database: Sendable, Equatable {
        package var instance: String
        package var database: String

        package init(instance: String, database: String) {
            self.instance = instance
            self.database = database
        }
    }

    package init(services: [String], databases: [Database]) {
        self.services = services
        self.databases = databases
    }
}

/// Makes the catalog's alarm rules concrete for a deployment and writes them as a CloudFormation
/// template (alarms, one composite alarm per area notifying an SNS topic given as a parameter) and
/// as PutMetricAlarm / PutCompositeAlarm request bodies.
public struct AlarmGenerator: Sendable {
    /// One concrete alarm.
    public struct Alarm: Sendable {
        public var name: String
        package var rule: AlarmRule
        /// The scope's dimension values (`Service`, or `DBInstance` and `Database`).
        public var dimensions: [String: String]
    }

    package let rules: [AlarmRule]
    package let targets: AlarmTargets
    /// The start of every alarm name.
    package let prefix: String

    package init(rules: [AlarmRule] = AlarmCatalog.all, targets: AlarmTargets, prefix: String = "obs") {
        self.rules = rules
        self.targets = targets
        self.prefix = prefix
    }

    /// The placeholder in the request files where `obsctl apply` puts the topic's ARN.
    package static let topicPlaceholder = "${CriticalTopicArn}"

    package func alarms() -> [Alarm] {
        var alarms: [Alarm] = []
        for rule in rules {
            switch rule.scope {
            case .global:
                alarms.append(Alarm(name: "\(prefix)-\(rule.id)", rule: rule, dimensions: [:]))
            case .service:
                for service in targets.services {
                    alarms.append(
                        Alarm(name: "\(prefix)-\(rule.id)-\(service)", rule: rule, dimensions: ["Service": service]))
                }
            case .database:
                for db in targets.databases {
                    alarms.append(
                        Alarm(
                            name: "\(prefix)-\(rule.id)-\(db.instance)-\(db.database)", rule: rule,
                            dimensions: ["DBInstance": db.instance, "Database": db.database]))
                }
            }
        }
        return alarms
    }

    /// The areas that have alarms, in dashboard order, with their alarms.
    package func areas() -> [(area: DashboardID, alarms: [Alarm])] {
        let all = alarms()
        return DashboardID.allCases.compactMap { area in
            let mine = all.filter { $0.rule.area == area }
            return mine.isEmpty ? nil : (area, mine)
        }
    }

    package func compositeName(_ area: DashboardID) -> String { "\(prefix)-\(area.rawValue)" }

    // MARK: Request bodies

    /// The PutMetricAlarm request of an alarm (CloudFormation's `AWS::CloudWatch::Alarm` takes the
    /// same properties).
    package func request(_ alarm: Alarm) -> [String: Any] {
        let rule = alarm.rule
        var body: [String: Any] = [
            "AlarmName": alarm.name,
            "AlarmDescription": String(
                "\(rule.title.prefix(1).uppercased() + rule.title.dropFirst()). \(rule.runbook)".prefix(1024)),
            "EvaluationPeriods": rule.evaluationPeriods,
            "DatapointsToAlarm": rule.datapointsToAlarm,
            "TreatMissingData": rule.treatMissingData,
            "ActionsEnabled": false,
        ]
        func dimensions(_ read: AlarmRule.MetricRead) -> [[String: String]] {
            alarm.dimensions.merging(read.fixed) { $1 }.sorted { $0.key < $1.key }.map {
                ["Name": $0.key, "Value": $0.value]
            }
        }
        func metricStat(_ read: AlarmRule.MetricRead, returnData: Bool) -> [String: Any] {
            [
                "Id": read.id, "ReturnData": returnData,
                "MetricStat": [
                    "Metric": dimensions(read).isEmpty
                        ? ["Namespace": read.metric.namespace, "MetricName": read.metric.name]
                        : [
                            "Namespace": read.metric.namespace, "MetricName": read.metric.name,
                            "Dimensions": dimensions(read),
                        ] as [String: Any],
                    "Period": rule.period, "Stat": read.statistic,
                ] as [String: Any],
            ]
        }
        switch rule.condition {
        case .threshold(let read, let comparison, let threshold):
            body["Namespace"] = read.metric.namespace
            body["MetricName"] = read.metric.name
            if !dimensions(read).isEmpty { body["Dimensions"] = dimensions(read) }
            body["Period"] = rule.period
            if read.statistic.hasPrefix("p") {
                body["ExtendedStatistic"] = read.statistic
            } else {
                body["Statistic"] = read.statistic
            }
            body["ComparisonOperator"] = comparison.rawValue
            body["Threshold"] = threshold
        case .math(let expression, let label, let reads, let comparison, let threshold):
            body["Metrics"] =
                [["Id": "e1", "Expression": expression, "Label": label, "ReturnData": true] as [String: Any]]
                + reads.map { metricStat($0, returnData: false) }
            body["ComparisonOperator"] = comparison.rawValue
            body["Threshold"] = threshold
        case .anomaly(let read, let comparison, let width):
            body["Metrics"] = [
                metricStat(read, returnData: true),
                [
                    "Id": "ad1", "Expression": "ANOMALY_DETECTION_BAND(\(read.id), \(Self.number(width)))",
                    "Label": "expected band", "ReturnData": true,
                ],
            ]
            body["ThresholdMetricId"] = "ad1"
            body["ComparisonOperator"] = comparison.rawValue
        }
        return body
    }

    /// The PutCompositeAlarm request of an area: in alarm when any of its alarms is.
    package func compositeRequest(_ area: DashboardID, _ alarms: [Alarm], topic: Any) -> [String: Any] {
        [
            "AlarmName": compositeName(area),
            "AlarmDescription": "Any alarm of the \(area.title) area (obsctl dashboards: \(area.title)).",
            "AlarmRule": alarms.map { "ALARM(\"\($0.name)\")" }.joined(separator: " OR "),
            "ActionsEnabled": true,
            "AlarmActions": [topic],
            "OKActions": [topic],
        ]
    }

    static func number(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(value)
    }

    // MARK: Files

    /// `alerts/` as obsctl writes it: file name and contents.
    package func files() throws -> [(name: String, data: Data)] {
        [
            ("alarms.cfn.json", try Self.json(cloudFormation())),
            ("put-metric-alarm.json", try Self.json(alarms().map(request))),
            (
                "put-composite-alarm.json",
                try Self.json(areas().map { compositeRequest($0.area, $0.alarms, topic: Self.topicPlaceholder) })
            ),
        ]
    }

    /// The CloudFormation template.
    package func cloudFormation() -> [String: Any] {
        var resources: [String: Any] = [:]
        var logicalIDs: [String: String] = [:]
        var used = Set<String>()
        for alarm in alarms() {
            var id = Self.logicalID(alarm.name)
            var n = 2
            while used.contains(id) {
                id = Self.logicalID(alarm.name) + "\(n)"
                n += 1
            }
            used.insert(id)
            logicalIDs[alarm.name] = id
            resources[id] = ["Type": "AWS::CloudWatch::Alarm", "Properties": request(alarm)] as [String: Any]
        }
        for (area, alarms) in areas() {
            let id = Self.logicalID(compositeName(area)) + "Composite"
            resources[id] =
                [
                    "Type": "AWS::CloudWatch::CompositeAlarm",
                    "DependsOn": alarms.map { logicalIDs[$0.name]! },
                    "Properties": compositeRequest(area, alarms, topic: ["Ref": "CriticalTopicArn"]),
                ] as [String: Any]
        }
        return [
            "AWSTemplateFormatVersion": "2010-09-09",
            "Description": "obs alarms, generated by obsctl alarms from the metric catalog; do not edit.",
            "Parameters": [
                "CriticalTopicArn": [
                    "Type": "String",
                    "Description": "SNS topic the composite alarm of each area notifies (ALARM and OK).",
                    "AllowedPattern": "^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_.-]+$",
                ]
            ],
            "Resources": resources,
        ]
    }

    /// `obs-api-error-rate-user-service` → `ObsApiErrorRateUserService`.
    static func logicalID(_ name: String) -> String {
        name.split(whereSeparator: { !$0.isLetter && !$0.isNumber }).map { $0.prefix(1).uppercased() + $0.dropFirst() }
            .joined()
            .filter { $0.isASCII && ($0.isLetter || $0.isNumber) }
    }

    /// Pretty, key-sorted JSON with a final newline: stable from run to run.
    static func json(_ object: Any) throws -> Data {
        try JSONDocument.data(object)
    }
}
