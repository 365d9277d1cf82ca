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
    private var series: [Dimensions: [SeriesID]] = [:]

    init(recorder: Recorder) {
        self.recorder = recorder
        self.producer = recorder.makeProducer(name: "xray")
    }

    func record(_ segment: ReceivedSegment) {
        let fields = segment.fields
        guard !segment.isSubsegment, fields.hasHTTPRequest, let service = fields.name else { return }
        let statusClass = fields.status.map { "\(Int($0) / 100)xx" } ?? (fields.fault ? "5xx" : "none")
        let dimensions = Dimensions([
            ("Service", service), ("Method", fields.method?.uppercased() ?? "UNKNOWN"),
            ("Route", RouteTemplate.route(of: fields.url ?? "/")), ("StatusClass", statusClass),
        ])
        let ids = series[dimensions] ?? {
            let ids = APIMetrics.all.map { recorder.series($0.descriptor, dimensions) }
            series[dimensions] = ids
            return ids
        }()
        // Order of APIMetrics.all: requests, faults, errors, throttles, latency.
        producer.record(ids[0], 1)
        producer.record(ids[1], fields.fault ? 1 : 0)
        producer.record(ids[2], fields.error ? 1 : 0)
        producer.record(ids[3], fields.throttle ? 1 : 0)
        if let start = fields.startTime, let end = fields.endTime {
            producer.record(ids[4], (end - start) * 1000)
        }
    }
}
