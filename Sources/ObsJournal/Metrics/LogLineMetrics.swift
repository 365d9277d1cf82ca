import ObsCatalog
import ObsCore

/// Metrics from log lines, through the catalog: Keycloak's event lines become logins, login
/// failures by reason, the failure rate and other auth events per realm and client, and the
/// number of distinct users and addresses failing in each flush interval; access-log lines become
/// the API metrics (requests, 4xx, 5xx, 429, latency) per service, method, route and status class.
///
/// Used from one thread (the journal reader's): it is the single producer of its ring.
final class LogLineMetrics: @unchecked Sendable {
    private let recorder: Recorder
    private let producer: Producer
    private let flushInterval: Double
    private var series: [SeriesKey: SeriesID] = [:]
    /// The distinct failing users and addresses per realm in the current flush interval.
    private var window: Int64 = 0
    private var failingUsers: [String: Set<String>] = [:]
    private var failingAddresses: [String: Set<String>] = [:]
    /// Distinct values kept per realm and interval; past it, new ones are not told apart (the
    /// count stops growing, the memory too).
    static let distinctLimit = 100_000

    private struct SeriesKey: Hashable {
        var metric: String
        var values: [String]
    }

    init(recorder: Recorder, flushInterval: Double) {
        self.recorder = recorder
        self.producer = recorder.makeProducer(name: "journal")
        self.flushInterval = flushInterval
    }

    private func id(_ definition: MetricDefinition, _ values: [String]) -> SeriesID {
        let key = SeriesKey(metric: definition.id, values: values)
        if let id = series[key] { return id }
        let id = recorder.series(definition.descriptor, Dimensions(Array(zip(definition.dimensions, values))))
        // Lines are written by others (an access log's paths by anyone): past the recorder's
        // cardinality limit every new key maps to the overflow series, and this cache must not
        // grow with them.
        if series.count >= 20_000 { series.removeAll(keepingCapacity: true) }
        series[key] = id
        return id
    }

    func record(_ event: KeycloakEventLine, now: Double) {
        let client = event.client ?? "none"
        switch event.type {
        case "LOGIN":
            producer.record(id(AuthMetrics.loginSuccess, [event.realm, client]), 1)
            producer.record(id(AuthMetrics.failureRate, [event.realm, client]), 0, weight: 1)
        case "LOGIN_ERROR":
            producer.record(id(AuthMetrics.loginFailure, [event.realm, client, event.error ?? "unknown"]), 1)
            producer.record(id(AuthMetrics.failureRate, [event.realm, client]), 100, weight: 1)
            let current = FlushClock.boundary(now, interval: flushInterval)
            if current != window {
                window = current
                failingUsers.removeAll(keepingCapacity: true)
                failingAddresses.removeAll(keepingCapacity: true)
            }
            if let user = event.user, Self.insert(user, into: &failingUsers[event.realm, default: []]) {
                producer.record(id(AuthMetrics.failingUsers, [event.realm]), 1)
            }
            if let address = event.ipAddress, Self.insert(address, into: &failingAddresses[event.realm, default: []]) {
                producer.record(id(AuthMetrics.failingAddresses, [event.realm]), 1)
            }
        case let type where type.hasSuffix("_ERROR"):
            let name = String(type.dropLast(6)).lowercased()
            producer.record(id(AuthMetrics.eventErrors, [event.realm, client, name, event.error ?? "unknown"]), 1)
        default:
            producer.record(id(AuthMetrics.events, [event.realm, client, event.type.lowercased()]), 1)
        }
    }

    private static func insert(_ value: String, into set: inout Set<String>) -> Bool {
        guard set.count < distinctLimit else { return false }
        return set.insert(value).inserted
    }

    func record(_ request: AccessLogPattern.Request, service: String) {
        let values = [service, request.method, request.route]
        producer.record(id(APIMetrics.requests, values), 1)
        producer.record(id(APIMetrics.faults, values), request.status >= 500 ? 1 : 0)
        producer.record(id(APIMetrics.errors, values), request.status >= 400 && request.status < 500 ? 1 : 0)
        producer.record(id(APIMetrics.throttles, values), request.status == 429 ? 1 : 0)
        if let milliseconds = request.milliseconds {
            producer.record(id(APIMetrics.latency, values), milliseconds)
        }
    }
}
