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
        guard !segment.isSubsegment, let http = segment.fields["http"] as? [String: Any],
            let request = http["request"] as? [String: Any], let service = segment.fields["name"] as? String
        else { return }
        let status = (http["response"] as? [String: Any]).flatMap { SegmentDatagram.number($0["status"]) }.map(Int.init)
        let statusClass = status.map { "\($0 / 100)xx" } ?? (segment.fields["fault"] as? Bool == true ? "5xx" : "none")
        let dimensions = Dimensions([
            ("Service", service), ("Method", (request["method"] as? String)?.uppercased() ?? "UNKNOWN"),
            ("Route", RouteTemplate.route(of: request["url"] as? String ?? "/")), ("StatusClass", statusClass),
        ])
        let ids = series[dimensions] ?? {
            let ids = APIMetrics.all.map { recorder.series($0.descriptor, dimensions) }
            series[dimensions] = ids
            return ids
        }()
        // Order of APIMetrics.all: requests, faults, errors, throttles, latency.
        producer.record(ids[0], 1)
        producer.record(ids[1], segment.fields["fault"] as? Bool == true ? 1 : 0)
        producer.record(ids[2], segment.fields["error"] as? Bool == true ? 1 : 0)
        producer.record(ids[3], segment.fields["throttle"] as? Bool == true ? 1 : 0)
        if let start = SegmentDatagram.number(segment.fields["start_time"]), let end = SegmentDatagram.number(segment.fields["end_time"]) {
            producer.record(ids[4], (end - start) * 1000)
        }
    }
}
