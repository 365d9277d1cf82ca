import Foundation
import ObsAWS
import ObsAgent
import ObsCatalog
import ObsCore

/// The bill of one config for `obsctl cost`: what it publishes, what reads it, and its price by
/// the PutMetricData route and by the Embedded Metric Format route.
struct Bill {
    let config: String
    let estimate: CostEstimate
    let prices: Prices
    let assumptions: CostAssumptions
    /// Bytes a month of EMF documents holding the same series at the same flush interval.
    let emfBytesPerMonth: Double
    let apiRoutes: Bool

    init(config path: String, assumptions given: CostAssumptions, tracesPerSecond: Double, prices: Prices) throws {
        let deployment = try Deployment(config: path)
        let emitted = deployment.emitted
        let targets = deployment.targets
        var assumptions = given
        assumptions.tracesPerSecond = emitted.traces ? tracesPerSecond : 0
        let apiRoutes = deployment.config.apiRoutes
        let metrics = emitted.catalog.definitions.filter { emitted.isEmitted($0) }
            // Dropped and Incidents exist only while something goes wrong.
            .filter { $0.namespace != AgentMetrics.namespace || !$0.dimensions.contains("Reason") }
            .map { ($0, $0.publishedDimensionSets(apiRoutes: apiRoutes)) }
        let alarms = AlarmGenerator(targets: targets)
        let readers = try Self.readers(
            DashboardGenerator(catalog: emitted.catalog, alarms: alarms, apiRoutes: apiRoutes), alarms)
        self.config = path
        self.prices = prices
        self.assumptions = assumptions
        self.apiRoutes = apiRoutes
        self.estimate = CostEstimate(
            metrics: metrics, targets: targets, flushInterval: deployment.config.flushInterval, alarms: alarms,
            dashboards: DashboardID.allCases.count, readers: readers, assumptions: assumptions, prices: prices)
        let flushes = 30.4 * 24 * 3600 / deployment.config.flushInterval
        self.emfBytesPerMonth = Double(Self.emfBytesPerFlush(estimate)) * flushes
    }

    /// What reads each series set: the generated dashboards' widgets (their SEARCH expressions, as
    /// `obsctl validate` reads them) and the alarm rules (their metrics, with the dimensions of
    /// their scope and the values they fix).
    static func readers(_ dashboards: DashboardGenerator, _ alarms: AlarmGenerator) throws
        -> [SeriesSet: [String]]
    {
        var readers: [SeriesSet: [String]] = [:]
        func add(_ set: SeriesSet, _ reader: String) {
            if !(readers[set] ?? []).contains(reader) { readers[set, default: []].append(reader) }
        }
        for id in DashboardID.allCases {
            for reference in try MetricReferences.inDashboard(data: try dashboards.json(for: id)) {
                add(
                    SeriesSet(namespace: reference.namespace, name: reference.name, dimensions: reference.dimensions),
                    "\(id.rawValue): \(reference.place.replacingOccurrences(of: "widget ", with: "").replacingOccurrences(of: "\"", with: ""))"
                )
            }
        }
        for rule in alarms.rules {
            let scope: [String]
            switch rule.scope {
            case .global: scope = []
            case .service: scope = ["Service"]
            case .database: scope = ["DBInstance", "Database"]
            }
            for read in rule.reads {
                add(SeriesSet(read.metric, scope + read.fixed.keys), "alarm \(rule.id)")
            }
        }
        return readers
    }

    /// The bytes of one flush's EMF documents for the estimate's series: each series made with
    /// dimension values of a typical length (16 characters) and encoded as the EMF sink encodes
    /// them, a distribution with 20 distinct values.
    static func emfBytesPerFlush(_ estimate: CostEstimate) -> Int {
        var data: [MetricDatum] = []
        for line in estimate.metrics {
            for n in 0..<line.series {
                var pairs: [(String, String)] = []
                var rest = n
                for (name, count) in line.factors where count > 0 {
                    pairs.append((name, String("\(name.lowercased())-\(rest % count)-value-name".prefix(16))))
                    rest /= count
                }
                if line.dimensions.contains("Method") { pairs.append(("Method", "GET")) }
                if line.dimensions.contains("Database") { pairs.append(("Database", "microservices_ecom")) }
                let value: MetricDatum.Value
                switch line.metric.kind {
                case .counter: value = .single(42)
                case .gauge: value = .statistics(StatisticSet(sampleCount: 4, sum: 40, minimum: 8, maximum: 12))
                case .distribution:
                    value = .distribution(
                        StatisticSet(sampleCount: 200, sum: 2000, minimum: 1, maximum: 90),
                        (0..<20).map { (value: 1.0 + Double($0) * 4.5, count: 10.0) })
                }
                data.append(
                    MetricDatum(
                        descriptor: line.metric.descriptor, dimensions: Dimensions(pairs), timestamp: 1_790_000_000,
                        value: value))
            }
        }
        return EMFEncoder(selfMetrics: SelfMetrics()).encode(data).reduce(0) { $0 + $1.utf8.count + 1 }
    }

    /// The EMF route: the same series (CloudWatch bills metrics extracted from EMF as custom
    /// metrics) with log ingestion and a month's storage instead of PutMetricData requests.
    var emfMonthly: (ingestion: Double, storage: Double, total: Double) {
        let gb = emfBytesPerMonth / 1e9
        let ingestion = gb * prices.logIngestionPerGB
        let storage = gb * prices.logStoragePerGBMonth
        let putMetricData = estimate.lines.first { $0.item == "PutMetricData requests" }?.monthly ?? 0
        return (ingestion, storage, estimate.total - putMetricData + ingestion + storage)
    }

    var emfLine: String {
        let emf = emfMonthly
        return String(
            cFormat:
                "sent as EMF instead (metrics.sink: emf): %.1f GB of log events a month, ingestion %.2f + storage %.2f (one month kept) instead of the PutMetricData requests: %.2f USD/month",
            emfBytesPerMonth / 1e9, emf.ingestion, emf.storage, emf.total)
    }

    var jsonObject: [String: Any] {
        var object = estimate.jsonObject(prices: prices)
        let emf = emfMonthly
        object["config"] = config
        object["api_routes"] = apiRoutes
        object["emf_route"] = [
            "log_gb_month": (emfBytesPerMonth / 1e8).rounded() / 10,
            "ingestion_usd": CostEstimate.cents(emf.ingestion),
            "storage_usd": CostEstimate.cents(emf.storage),
            "total_monthly_usd": CostEstimate.cents(emf.total),
        ]
        return object
    }

    /// Two bills side by side: the items, then every metric line whose series differ.
    static func comparison(_ a: Bill, _ b: Bill) -> String {
        let (left, right) = (CostEstimate.left, CostEstimate.right)
        func money(_ value: Double) -> String { String(cFormat: "%.2f", value) }
        var out = "A: \(a.config)\nB: \(b.config)\n\n"
        out += left("item", 44) + right("A USD/month", 13) + right("B USD/month", 13) + right("B - A", 10) + "\n"
        let items =
            a.estimate.lines.map(\.item)
            + b.estimate.lines.map(\.item).filter { item in
                !a.estimate.lines.contains { $0.item == item }
            }
        for item in items {
            let x = a.estimate.lines.first { $0.item == item }?.monthly ?? 0
            let y = b.estimate.lines.first { $0.item == item }?.monthly ?? 0
            out += left(item, 44) + right(money(x), 13) + right(money(y), 13) + right(money(y - x), 10) + "\n"
        }
        out +=
            left("total (PutMetricData route)", 44) + right(money(a.estimate.total), 13)
            + right(money(b.estimate.total), 13) + right(money(b.estimate.total - a.estimate.total), 10) + "\n"
        let ea = a.emfMonthly.total
        let eb = b.emfMonthly.total
        out +=
            left("total (EMF route)", 44) + right(money(ea), 13) + right(money(eb), 13) + right(money(eb - ea), 10)
            + "\n"
        out += "\nmetric lines that differ:\n"
        out += left("metric", 40) + left("dimensions", 34) + right("A series", 9) + right("B series", 9) + "\n"
        var keys: [SeriesSet] = []
        var seriesA: [SeriesSet: (CostEstimate.MetricLine)] = [:]
        var seriesB: [SeriesSet: (CostEstimate.MetricLine)] = [:]
        for line in a.estimate.metrics {
            let key = SeriesSet(line.metric, line.dimensions)
            keys.append(key)
            seriesA[key] = line
        }
        for line in b.estimate.metrics {
            let key = SeriesSet(line.metric, line.dimensions)
            if seriesA[key] == nil { keys.append(key) }
            seriesB[key] = line
        }
        var differing = 0
        for key in keys.sorted() {
            let x = seriesA[key]?.series ?? 0
            let y = seriesB[key]?.series ?? 0
            guard x != y else { continue }
            differing += 1
            let line = seriesA[key] ?? seriesB[key]!
            out +=
                left("\(key.namespace) \(key.name)", 40)
                + left(line.dimensions.isEmpty ? "none" : line.dimensions.joined(separator: ","), 34)
                + right("\(x)", 9) + right("\(y)", 9) + "\n"
        }
        if differing == 0 { out += "(none)\n" }
        return out
    }
}
