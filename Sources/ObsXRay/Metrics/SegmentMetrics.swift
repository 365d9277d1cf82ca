import ObsCatalog
import ObsCore

/// Turns the segments of services that handled an HTTP request into API metrics: a request, a
/// fault, error or throttle, and the latency, per service, method and route.
/// Subsegments (calls the service made) and segments without an `http` block are not requests.
///
/// A series is found by its dimension values as bytes (service, method and route template, written
/// into one reused buffer straight from the datagram) and their hash: a segment of a
/// series seen before makes no string and allocates nothing.
///
/// Used from one thread (the receiver's): it is the single producer of its ring.
final class SegmentMetrics: @unchecked Sendable {
    private let recorder: Recorder
    private let producer: Producer
    private struct Entry {
        var key: [UInt8]
        var ids: [SeriesID]
    }

    /// Series by the hash of their key bytes; a bucket holds the keys that share a hash.
    private var series: [UInt64: [Entry]] = [:]
    private var seriesCount = 0
    private var scratch: [UInt8] = []
    private static let metrics = [
        APIMetrics.requests, APIMetrics.faults, APIMetrics.errors, APIMetrics.throttles, APIMetrics.latency,
    ]
    /// Routes come from requests anyone can send: past the recorder's cardinality limit they map
    /// to the overflow series, and this cache must not grow with them.
    static let maxCachedSeries = 20_000

    init(recorder: Recorder) {
        self.recorder = recorder
        self.producer = recorder.makeProducer(name: "xray")
        scratch.reserveCapacity(256)
    }

    /// Records a validated segment: `fields` are spans of `document`.
    func record(_ fields: SegmentScanner.Fields, isSubsegment: Bool, document: UnsafeRawBufferPointer) {
        guard !isSubsegment, fields.hasHTTPRequest, let name = fields.name else { return }
        // The key: service \0 METHOD \0 route. Escaped values (rare) are decoded first.
        scratch.removeAll(keepingCapacity: true)
        append(name, from: document) { bytes, out in out.append(contentsOf: bytes) }
        scratch.append(0)
        if let method = fields.method {
            append(method, from: document) { bytes, out in
                for byte in bytes { out.append(byte >= 97 && byte <= 122 ? byte - 32 : byte) }
            }
        } else {
            scratch.append(contentsOf: "UNKNOWN".utf8)
        }
        scratch.append(0)
        if let url = fields.url {
            append(url, from: document) { bytes, out in RouteTemplate.appendRoute(of: bytes, to: &out) }
        } else {
            scratch.append(UInt8(ascii: "/"))
        }

        let ids = seriesIDs()
        // Order of `metrics`: requests, faults, errors, throttles, latency.
        producer.record(ids[0], 1)
        producer.record(ids[1], fields.fault ? 1 : 0)
        producer.record(ids[2], fields.error ? 1 : 0)
        producer.record(ids[3], fields.throttle ? 1 : 0)
        if let start = fields.startTime, let end = fields.endTime {
            producer.record(ids[4], (end - start) * 1000)
        }
    }

    private func append(
        _ span: SegmentScanner.Span, from document: UnsafeRawBufferPointer,
        _ write: (UnsafeBufferPointer<UInt8>, inout [UInt8]) -> Void
    ) {
        if span.escaped {
            // A decoded `\u0000` would split the key where it should not.
            var text = (SegmentScanner.text(span, in: document) ?? "").filter { $0 != "\u{0}" }
            text.withUTF8 { write($0, &scratch) }
        } else {
            write(
                UnsafeRawBufferPointer(rebasing: document[span.start..<span.end]).bindMemory(to: UInt8.self), &scratch)
        }
    }

    /// The series of the key in `scratch`, made on first sight.
    private func seriesIDs() -> [SeriesID] {
        // FNV-1a: a few cycles a byte, and the bucket compares the bytes, so collisions are harmless.
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in scratch { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        if let bucket = series[hash] {
            for entry in bucket where entry.key == scratch { return entry.ids }
        }
        let parts = scratch.split(separator: 0, maxSplits: 2, omittingEmptySubsequences: false).map {
            String(decoding: $0, as: UTF8.self)
        }
        let dimensions = Dimensions([
            ("Service", parts[0]), ("Method", parts[1]), ("Route", parts[2]),
        ])
        let ids = Self.metrics.map { recorder.series($0.descriptor, dimensions) }
        if seriesCount >= Self.maxCachedSeries {
            series.removeAll(keepingCapacity: true)
            seriesCount = 0
        }
        series[hash, default: []].append(Entry(key: scratch, ids: ids))
        seriesCount += 1
        return ids
    }
}
