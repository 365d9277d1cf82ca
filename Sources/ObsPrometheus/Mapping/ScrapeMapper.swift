import ObsCatalog
import ObsCore

/// Turns the scrapes of one target into catalog metrics (see ``FamilyRule`` for the mapping):
/// gauges as they are, cumulative counters as per-interval deltas, timers as distributions.
///
/// Each Prometheus series keeps its previous values here, keyed by its labels; a counter that went
/// down (the service restarted) restarts its delta from the new value and is counted as
/// `counter_reset`, never giving a negative delta. A scrape is all or nothing: when the body
/// does not parse, nothing of it is recorded, and the next good scrape's deltas cover the gap.
/// NaN and infinite values are never recorded; each is counted (`non_finite_value`).
///
/// Used by one task at a time: it is the single producer of its ring.
public final class ScrapeMapper: @unchecked Sendable {
    /// The Service dimension of everything this target yields.
    package let service: String
    /// Prometheus series tracked at most; series past it are ignored and counted
    /// (`series_overflow`).
    package let maximumSeries: Int
    let recorder: Recorder
    private let producer: Producer
    private var healthSeries: [SeriesID] = []
    private var parsers: [ExpositionFormat: ExpositionParser] = [:]

    /// One Prometheus series (its labels but `le` and `quantile`) of a mapped family.
    struct Slot {
        let rule: FamilyRule
        let labels: [String: String]
        var ids: [SeriesID] = []
        var previousCount: Double?
        var previousSum: Double?
        var previousValue: Double?
        var bounds: [Double] = []
        var previousBuckets: [Double] = []
        /// Made after the instance's first scrape: the series appeared between two scrapes (as
        /// Micrometer makes a series at its first request), so its whole value is the interval's.
        var isNew = false
        // This scrape's values.
        var count: Double?
        var sum: Double?
        var value: Double?
        var maximum: Double?
        var buckets: [(le: Double, value: Double)] = []

        mutating func clearScrape() {
            count = nil
            sum = nil
            value = nil
            maximum = nil
            buckets.removeAll(keepingCapacity: true)
        }
    }

    private var slots: [Slot] = []
    private var slotIndex: [ByteKey: Int] = [:]
    private var key = ByteKey([])
    private var touched: [Int] = []
    private var isTouched: [Bool] = []
    private var lastFamily = -1
    private var lastRule: FamilyRule?
    private var samples = 0
    private var rateSeries: [String: SeriesID] = [:]
    /// Scrapes ingested whole: after the first, a series never seen before started from zero
    /// since the last scrape, and its first value counts.
    private var scrapes = 0

    public init(service: String, recorder: Recorder, maximumSeries: Int = 20_000) {
        self.service = service
        self.recorder = recorder
        self.maximumSeries = maximumSeries
        self.producer = recorder.makeProducer(name: "prometheus.\(service)")
    }

    /// What one scrape held.
    public struct Result: Sendable, Equatable {
        /// Samples in the body.
        public var samples: Int
        /// Samples of mapped families.
        public var mapped: Int
    }

    /// Parses one scrape body and records what it maps to.
    @discardableResult
    public func ingest(_ body: [UInt8], format: ExpositionFormat) throws(ExpositionError) -> Result {
        let parser = parsers[format] ?? ExpositionParser(format: format, strict: false)
        parsers[format] = parser
        samples = 0
        lastFamily = -1
        lastRule = nil
        var mapped = 0
        do {
            try parser.parse(body) { sample in
                if self.visit(sample) { mapped += 1 }
            }
        } catch {
            for i in touched {
                slots[i].clearScrape()
                isTouched[i] = false
            }
            touched.removeAll(keepingCapacity: true)
            throw error
        }
        record()
        scrapes += 1
        return Result(samples: samples, mapped: mapped)
    }

    /// Records the scrape's own health: ScrapeUp, ScrapeDuration and (when it succeeded)
    /// ScrapeSamples, for the Target `target`.
    package func recordScrape(target: String, up: Bool, milliseconds: Double, samples: Int?) {
        if healthSeries.isEmpty {
            let dimensions = Dimensions([("Service", service), ("Target", target)])
            healthSeries = [AgentMetrics.scrapeUp, AgentMetrics.scrapeDuration, AgentMetrics.scrapeSamples].map {
                recorder.series($0.descriptor, dimensions)
            }
        }
        producer.record(healthSeries[0], up ? 1 : 0)
        producer.record(healthSeries[1], milliseconds)
        if let samples { producer.record(healthSeries[2], Double(samples)) }
    }

    // MARK: Reading samples

    private func visit(_ sample: ExpositionSample) -> Bool {
        samples += 1
        if sample.familyIndex != lastFamily {
            lastFamily = sample.familyIndex
            lastRule = Self.rule(for: sample.familyName)
        }
        guard let rule = lastRule else { return false }
        let role: SampleSuffix
        switch rule {
        case .poolTimer, .httpRequests:
            guard sample.suffix == .count || sample.suffix == .sum || sample.suffix == .bucket else { return false }
            role = sample.suffix
        default:
            guard sample.suffix == .none || sample.suffix == .total else { return false }
            role = .none
        }
        guard let index = slot(for: rule.stateRule, labels: sample.labels) else { return false }
        if !isTouched[index] {
            isTouched[index] = true
            touched.append(index)
        }
        switch (rule, role) {
        case (.poolTimerMax, _), (.httpRequestsMax, _): slots[index].maximum = sample.value
        case (_, .count): slots[index].count = sample.value
        case (_, .sum): slots[index].sum = sample.value
        case (_, .bucket):
            guard let text = sample.labels["le"], let le = NumberParsing.value(text), !le.isNaN else { return false }
            slots[index].buckets.append((le, sample.value))
        default: slots[index].value = sample.value
        }
        return true
    }

    static func rule(for family: ByteSpan) -> FamilyRule? {
        let name = family.string
        if let rule = FamilyRule.byFamily[name] { return rule }
        if name.hasSuffix("_total") { return FamilyRule.byFamily[String(name.dropLast(6))] }
        return nil
    }

    /// The slot of the series `labels` of `rule`, made on first sight.
    private func slot(for rule: FamilyRule, labels: LabelSpans) -> Int? {
        key.bytes.removeAll(keepingCapacity: true)
        key.bytes.append(rule.tag)
        for i in 0..<labels.count where !labels[i].name.equals("le") && !labels[i].name.equals("quantile") {
            key.bytes.append(contentsOf: labels[i].name.buffer)
            key.bytes.append(0)
            key.bytes.append(contentsOf: labels[i].value.buffer)
            key.bytes.append(0)
        }
        if let index = slotIndex[key] { return index }
        guard slots.count < maximumSeries else {
            recorder.selfMetrics.count(.seriesOverflow)
            return nil
        }
        var values: [String: String] = [:]
        for i in 0..<labels.count where !labels[i].name.equals("le") && !labels[i].name.equals("quantile") {
            values[labels[i].name.string] = labels[i].value.string
        }
        var slot = Slot(rule: rule, labels: values)
        slot.isNew = scrapes > 0
        slots.append(slot)
        isTouched.append(false)
        slotIndex[key] = slots.count - 1
        return slots.count - 1
    }

    // MARK: Recording

    private struct PoolLevels {
        var active: Double?
        var idle: Double?
        var maximum: Double?
        var hasConnections = false
    }

    private func record() {
        var pools: [String: PoolLevels] = [:]
        var requests = 0.0
        var faults = 0.0
        var logins: [String: (realm: String, client: String, success: Double, failure: Double)] = [:]
        for index in touched {
            isTouched[index] = false
            let labels = slots[index].labels
            switch slots[index].rule {
            case .poolGauge(let gauge, let poolLabel):
                let pool = labels[poolLabel == .hikari ? "pool" : "datasource"] ?? "default"
                guard let value = finite(slots[index].value) else { break }
                producer.record(ids(index)[0], value)
                switch gauge {
                case .active: pools[pool, default: PoolLevels()].active = value
                case .idle: pools[pool, default: PoolLevels()].idle = value
                case .max: pools[pool, default: PoolLevels()].maximum = value
                case .connections: pools[pool, default: PoolLevels()].hasConnections = true
                default: break
                }
            case .poolTimeouts:
                if let delta = counterDelta(index) { producer.record(ids(index)[0], delta) }
            case .poolTimer:
                timer(index, latency: ids(index)[0])
            case .httpRequests:
                guard let delta = timer(index, latency: ids(index)[4]) else { break }
                let ids = ids(index)
                let status = Self.statusClass(labels)
                producer.record(ids[0], delta)
                producer.record(ids[1], status == "5xx" ? delta : 0)
                producer.record(ids[2], status == "4xx" ? delta : 0)
                producer.record(ids[3], labels["status"] == "429" ? delta : 0)
                requests += delta
                if status == "5xx" { faults += delta }
            case .keycloakLogins, .keycloakFailedLogins, .keycloakEvent, .keycloakUserEvents:
                guard let delta = counterDelta(index) else { break }
                producer.record(ids(index)[0], delta)
                if let outcome = Self.loginOutcome(slots[index].rule, labels) {
                    let realm = labels["realm"] ?? ""
                    let client = labels["client_id"] ?? ""
                    var entry = logins["\(realm)\u{0}\(client)"] ?? (realm, client, 0, 0)
                    if outcome { entry.success += delta } else { entry.failure += delta }
                    logins["\(realm)\u{0}\(client)"] = entry
                }
            case .poolTimerMax, .httpRequestsMax:
                break
            }
            slots[index].clearScrape()
        }
        touched.removeAll(keepingCapacity: true)

        for (pool, levels) in pools {
            let dimensions = Dimensions([("Service", service), ("Pool", pool)])
            if let active = levels.active, let maximum = levels.maximum, maximum > 0 {
                producer.record(rate("pool:\(pool)", PoolMetrics.utilization, dimensions), active / maximum * 100)
            }
            if !levels.hasConnections, levels.maximum == nil, let active = levels.active, let idle = levels.idle {
                producer.record(rate("connections:\(pool)", PoolMetrics.connections, dimensions), active + idle)
            }
        }
        if requests > 0 {
            producer.record(
                rate("errors", APIMetrics.errorRate, Dimensions([("Service", service)])), faults / requests * 100,
                weight: requests)
        }
        for (key, entry) in logins where entry.success + entry.failure > 0 {
            let series = rate(
                "auth:\(key)", AuthMetrics.failureRate, Dimensions([("Realm", entry.realm), ("Client", entry.client)]))
            producer.record(
                series, entry.failure / (entry.success + entry.failure) * 100, weight: entry.success + entry.failure)
        }
    }

    /// A series made from several families' values (a ratio, a sum), registered once.
    private func rate(_ name: String, _ definition: MetricDefinition, _ dimensions: Dimensions) -> SeriesID {
        if let id = rateSeries[name] { return id }
        let id = recorder.series(definition.descriptor, dimensions)
        rateSeries[name] = id
        return id
    }

    private func finite(_ value: Double?) -> Double? {
        guard let value else { return nil }
        guard value.isFinite else {
            recorder.selfMetrics.count(.nonFiniteValue)
            return nil
        }
        return value
    }

    /// The increase of a counter slot's value since the previous scrape; nil on first sight.
    private func counterDelta(_ index: Int) -> Double? {
        guard let value = finite(slots[index].value) else { return nil }
        defer { slots[index].previousValue = value }
        guard let previous = slots[index].previousValue else { return slots[index].isNew ? value : nil }
        if value < previous {
            recorder.selfMetrics.count(.counterReset)
            return value
        }
        return value - previous
    }

    /// Records a timer's interval into the distribution `latency` (milliseconds) and returns its
    /// count delta: from the buckets when there are any (the count exact, each observation placed
    /// within its bucket), else the interval's mean from `_sum`/`_count`, weighted by the count.
    /// CloudWatch computes every statistic of a distribution from its values and counts, so the
    /// Average of a bucket-built distribution is exact only to within the buckets' spread.
    @discardableResult
    private func timer(_ index: Int, latency: SeriesID) -> Double? {
        var slot = slots[index]
        defer { slots[index] = slot }
        guard let count = finite(slot.count) else { return nil }
        let sum = finite(slot.sum)
        let buckets = slot.buckets
        let hasBuckets =
            !buckets.isEmpty && buckets.last!.le == .infinity
            && zip(buckets, buckets.dropFirst()).allSatisfy { $0.le < $1.le }
        let bounds = hasBuckets ? buckets.map(\.le) : []
        let cumulative = hasBuckets ? buckets.map(\.value) : []
        let previousCount = slot.previousCount
        let previousSum = slot.previousSum
        let sameBuckets = hasBuckets && bounds == slot.bounds && cumulative.allSatisfy(\.isFinite)
        let previousBuckets = slot.previousBuckets
        slot.previousCount = count
        slot.previousSum = sum ?? slot.previousSum
        slot.bounds = bounds
        slot.previousBuckets = cumulative
        // A series new since the last scrape counts whole, as after a reset (without counting one).
        let first = previousCount == nil
        guard !first || slot.isNew else { return nil }
        var reset = first || count < (previousCount ?? 0)
        if let sum, let previousSum, sum < previousSum { reset = true }
        if sameBuckets, zip(cumulative, previousBuckets).contains(where: { $0 < $1 }) { reset = true }
        if reset && !first { recorder.selfMetrics.count(.counterReset) }
        let deltaCount = reset ? count : count - (previousCount ?? 0)
        let deltaSum = sum.flatMap { sum in reset ? sum : previousSum.map { sum - $0 } }
        guard deltaCount > 0 else { return deltaCount }

        if sameBuckets || (hasBuckets && reset) {
            let deltas = reset ? cumulative : zip(cumulative, previousBuckets).map { $0 - $1 }
            var perBucket: [Double] = []
            perBucket.reserveCapacity(deltas.count)
            var below = 0.0
            for delta in deltas {
                perBucket.append(Swift.max(0, delta - below))
                below = Swift.max(below, delta)
            }
            BucketSpreader.spread(bounds: bounds, counts: perBucket, maximum: finite(slot.maximum)) { value, weight in
                producer.record(latency, value * 1000, weight: weight)
            }
        } else if let deltaSum {
            producer.record(latency, deltaSum / deltaCount * 1000, weight: deltaCount)
        }
        return deltaCount
    }

    // MARK: Series of a slot

    private func ids(_ index: Int) -> [SeriesID] {
        if !slots[index].ids.isEmpty { return slots[index].ids }
        let labels = slots[index].labels
        let definitions: [MetricDefinition]
        let dimensions: Dimensions
        switch slots[index].rule {
        case .poolGauge(let gauge, let poolLabel):
            definitions = [Self.poolGauges[Int(gauge.rawValue)]]
            dimensions = Dimensions([
                ("Service", service), ("Pool", labels[poolLabel == .hikari ? "pool" : "datasource"] ?? "default"),
            ])
        case .poolTimeouts, .poolTimer, .poolTimerMax:
            if case .poolTimer(let timer) = slots[index].rule {
                definitions = [timer.definition]
            } else {
                definitions = [PoolMetrics.timeouts]
            }
            dimensions = Dimensions([("Service", service), ("Pool", labels["pool"] ?? "default")])
        case .httpRequests, .httpRequestsMax:
            definitions = [
                APIMetrics.requests, APIMetrics.faults, APIMetrics.errors, APIMetrics.throttles, APIMetrics.latency,
            ]
            var method = labels["method"] ?? "UNKNOWN"
            if method.utf8.contains(where: { $0 >= 97 && $0 <= 122 }) { method = method.uppercased() }
            // Series of one route with different statuses share these: the counters add up.
            dimensions = Dimensions([("Service", service), ("Method", method), ("Route", labels["uri"] ?? "UNKNOWN")])
        case .keycloakLogins, .keycloakFailedLogins, .keycloakEvent, .keycloakUserEvents:
            let realm = labels["realm"] ?? ""
            let client = labels["client_id"] ?? ""
            let reason = labels["error"].flatMap { $0.isEmpty ? nil : $0 } ?? "unknown"
            switch Self.loginOutcome(slots[index].rule, labels) {
            case true:
                definitions = [AuthMetrics.loginSuccess]
                dimensions = Dimensions([("Realm", realm), ("Client", client)])
            case false:
                definitions = [AuthMetrics.loginFailure]
                dimensions = Dimensions([("Realm", realm), ("Client", client), ("Reason", reason)])
            case nil:
                let (event, failed) = Self.event(slots[index].rule, labels)
                definitions = [failed ? AuthMetrics.eventErrors : AuthMetrics.events]
                dimensions = Dimensions(
                    failed
                        ? [("Realm", realm), ("Client", client), ("Event", event), ("Reason", reason)]
                        : [("Realm", realm), ("Client", client), ("Event", event)])
            }
        }
        let ids = definitions.map { recorder.series($0.descriptor, dimensions) }
        slots[index].ids = ids
        return ids
    }

    /// `PoolMetrics` by ``FamilyRule/PoolGauge`` raw value.
    static let poolGauges = [
        PoolMetrics.connections, PoolMetrics.active, PoolMetrics.idle, PoolMetrics.pending, PoolMetrics.maximum,
        PoolMetrics.minimum,
    ]

    /// For a user login series: true for successes, false for failures; nil for other events.
    static func loginOutcome(_ rule: FamilyRule, _ labels: [String: String]) -> Bool? {
        switch rule {
        case .keycloakLogins: return true
        case .keycloakFailedLogins: return false
        case .keycloakUserEvents:
            let event = labels["event"]?.lowercased() ?? ""
            let error = labels["error"] ?? ""
            if event == "login" { return error.isEmpty }
            if event == "login_error" { return false }
            return nil
        default: return nil
        }
    }

    /// For other events: the event name and whether it failed.
    static func event(_ rule: FamilyRule, _ labels: [String: String]) -> (String, Bool) {
        switch rule {
        case .keycloakEvent(let event, let failed): return (event.rawValue, failed)
        default:
            var event = labels["event"]?.lowercased() ?? "unknown"
            let failed = !(labels["error"] ?? "").isEmpty || event.hasSuffix("_error")
            if event.hasSuffix("_error") { event = String(event.dropLast(6)) }
            return (event, failed)
        }
    }

    /// `2xx`... from Micrometer's `status` tag, else from its `outcome` tag.
    static func statusClass(_ labels: [String: String]) -> String {
        if let status = labels["status"], status.utf8.count == 3, let code = Int(status) { return "\(code / 100)xx" }
        switch labels["outcome"] {
        case "INFORMATIONAL": return "1xx"
        case "SUCCESS": return "2xx"
        case "REDIRECTION": return "3xx"
        case "CLIENT_ERROR": return "4xx"
        case "SERVER_ERROR": return "5xx"
        default: return "none"
        }
    }
}
