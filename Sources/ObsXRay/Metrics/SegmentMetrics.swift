import ObsCatalog
import ObsCore

/// Turns the segments of services that handled an HTTP request into API metrics: a request, a
/// fault, error or throttle, and the latency, per service, method, route and status class.
/// Subsegments (calls the service made) and segments without an `http` block are not requests.
///
/// Used from one thread (the receiver's): it is the single producer of its ring.
final class SegmentMetrics: @unchecked Sendable {
    private let recorder: Recorder
    private let producer: Producer
    /// A series' dimension values, as read from the segment: cheaper to hash than a `Dimensions`.
    private struct Key: Hashable {
        var service: String
        var method: String
        var route: String
        var statusClass: String
    }

    private static let statusClasses = ["0xx", "1xx", "2xx", "3xx", "4xx", "5xx", "6xx", "7xx", "8xx", "9xx"]
    private var series: [Key: [SeriesID]] = [:]
    private static let metrics = [APIMetrics.requests, APIMetrics.faults, APIMetrics.errors, APIMetrics.throttles, APIMetrics.latency]

    init(recorder: Recorder) {
        self.recorder = recorder
        self.producer = recorder.makeProducer(name: "xray")
    }

    func record(_ segment: ReceivedSegment) {
        let fields = segment.fields
        guard !segment.isSubsegment, fields.hasHTTPRequest, let service = fields.name else { return }
        let statusClass: String
        if let status = fields.status, status >= 0, status < 1000 {
            statusClass = Self.statusClasses[Int(status) / 100]
        } else {
            statusClass = fields.fault ? "5xx" : "none"
        }
        var method = fields.method ?? "UNKNOWN"
        if method.utf8.contains(where: { $0 >= 97 && $0 <= 122 }) { method = method.uppercased() }
        let key = Key(service: service, method: method, route: RouteTemplate.route(of: fields.url ?? "/"), statusClass: statusClass)
        let ids = series[key] ?? {
            let dimensions = Dimensions([
                ("Service", key.service), ("Method", key.method), ("Route", key.route), ("StatusClass", key.statusClass),
            ])
            let ids = Self.metrics.map { recorder.series($0.descriptor, dimensions) }
            // Routes come from requests anyone can send: past the recorder's cardinality limit
            // they map to the overflow series, and this cache must not grow with them.
            if series.count >= 20_000 { series.removeAll(keepingCapacity: true) }
            series[key] = ids
            return ids
        }()
        // Order of `metrics`: requests, faults, errors, throttles, latency.
        producer.record(ids[0], 1)
        producer.record(ids[1], fields.fault ? 1 : 0)
        producer.record(ids[2], fields.error ? 1 : 0)
        producer.record(ids[3], fields.throttle ? 1 : 0)
        if let start = fields.startTime, let end = fields.endTime {
            producer.record(ids[4], (end - start) * 1000)
        }
    }
}
