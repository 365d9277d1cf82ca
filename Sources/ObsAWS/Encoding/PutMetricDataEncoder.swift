import FoundationEssentials
import ObsCore

#if canImport(Glibc)
    import Glibc
#endif

/// One PutMetricData call, encoded: the form body of the query protocol and what it carries.
public struct PutMetricDataRequest: Sendable, Equatable {
    public var namespace: String
    /// `Action=PutMetricData&Version=2010-08-01&Namespace=...&MetricData.member.1...`, as bytes.
    public var bytes: [UInt8]
    /// How many MetricDatum items the body holds.
    package var datumCount: Int

    /// The body as text.
    public var body: String { String(decoding: bytes, as: UTF8.self) }
}

/// Turns flushed data into PutMetricData requests that obey every limit of the API: grouped by
/// namespace, at most 1,000 datums and 1 MB a request, at most 150 Values/Counts a datum (further
/// buckets go into further datums of the same metric and timestamp, which CloudWatch merges),
/// dimension names and values within their lengths. NaN and infinite values, and values beyond
/// ±2^360, are never sent: they are counted in ``SelfMetrics``.
public struct PutMetricDataEncoder: Sendable {
    package static let apiVersion = "2010-08-01"
    public let selfMetrics: SelfMetrics
    public let maxRequestBytes: Int
    public let maxDatumsPerRequest: Int

    public init(
        selfMetrics: SelfMetrics, maxRequestBytes: Int = CloudWatchLimits.maxRequestBytes,
        maxDatumsPerRequest: Int = CloudWatchLimits.maxDatumsPerRequest
    ) {
        self.selfMetrics = selfMetrics
        self.maxRequestBytes = maxRequestBytes
        self.maxDatumsPerRequest = maxDatumsPerRequest
    }

    public func encode(_ data: [MetricDatum]) -> [PutMetricDataRequest] {
        var byNamespace: [String: [MetricDatum]] = [:]
        var order: [String] = []
        for datum in data {
            if byNamespace[datum.descriptor.namespace] == nil { order.append(datum.descriptor.namespace) }
            byNamespace[datum.descriptor.namespace, default: []].append(datum)
        }
        var timestamps: [Int64: String] = [:]
        var requests: [PutMetricDataRequest] = []
        var scratch = FormWriter(capacity: 4096)
        for namespace in order {
            var head = FormWriter()
            head.raw("Action=PutMetricData&Version=2010-08-01&Namespace=")
            head.encoded(namespace)
            var body = FormWriter(capacity: maxRequestBytes)
            body.raw(head.bytes)
            var count = 0
            for datum in byNamespace[namespace]! {
                let timestamp =
                    timestamps[datum.timestamp]
                    ?? {
                        let text = Self.iso8601(datum.timestamp)
                        timestamps[datum.timestamp] = text
                        return text
                    }()
                for part in wireParts(datum) {
                    scratch.bytes.removeAll(keepingCapacity: true)
                    render(datum, part, timestamp: timestamp, index: count + 1, into: &scratch)
                    if count > 0
                        && (count == maxDatumsPerRequest || body.bytes.count + scratch.bytes.count > maxRequestBytes)
                    {
                        requests.append(
                            PutMetricDataRequest(namespace: namespace, bytes: body.bytes, datumCount: count))
                        body = FormWriter(capacity: maxRequestBytes)
                        body.raw(head.bytes)
                        count = 0
                        scratch.bytes.removeAll(keepingCapacity: true)
                        render(datum, part, timestamp: timestamp, index: 1, into: &scratch)
                    }
                    body.raw(scratch.bytes)
                    count += 1
                }
            }
            if count > 0 {
                requests.append(PutMetricDataRequest(namespace: namespace, bytes: body.bytes, datumCount: count))
            }
        }
        return requests
    }

    /// What one wire datum carries besides the common fields.
    enum WirePart {
        case value(Double)
        case statistics(StatisticSet)
        case buckets(ArraySlice<(value: Double, count: Double)>)
    }

    /// The wire datums one datum becomes: several for a distribution with more than 150 buckets,
    /// none when its value cannot be sent.
    func wireParts(_ datum: MetricDatum) -> [WirePart] {
        switch datum.value {
        case .single(let value):
            return accept(value) ? [.value(value)] : []
        case .statistics(let set):
            guard !set.isEmpty, accept(set.sum), accept(set.minimum), accept(set.maximum) else { return [] }
            return [.statistics(set)]
        case .distribution(_, let buckets):
            let sendable = buckets.filter { accept($0.value) && $0.count > 0 }
            return stride(from: 0, to: sendable.count, by: CloudWatchLimits.maxValuesPerDatum).map {
                .buckets(sendable[$0..<min($0 + CloudWatchLimits.maxValuesPerDatum, sendable.count)])
            }
        }
    }

    private func render(
        _ datum: MetricDatum, _ part: WirePart, timestamp: String, index: Int, into out: inout FormWriter
    ) {
        out.member(index)
        out.raw("MetricName=")
        out.encoded(Self.clip(datum.descriptor.name, CloudWatchLimits.maxNameLength))
        for (i, pair) in datum.dimensions.pairs.prefix(CloudWatchLimits.maxDimensions).enumerated() {
            out.member(index)
            out.raw("Dimensions.member.")
            out.decimal(i + 1)
            out.raw(".Name=")
            out.encoded(Self.clip(pair.name, CloudWatchLimits.maxDimensionNameLength))
            out.member(index)
            out.raw("Dimensions.member.")
            out.decimal(i + 1)
            out.raw(".Value=")
            out.encoded(Self.dimensionValue(pair.value))
        }
        out.member(index)
        out.raw("Timestamp=")
        out.encoded(timestamp)
        out.member(index)
        out.raw("Unit=")
        out.encoded(datum.descriptor.unit.rawValue)
        out.member(index)
        out.raw("StorageResolution=")
        out.decimal(
            CloudWatchLimits.storageResolutions.contains(datum.descriptor.storageResolution)
                ? datum.descriptor.storageResolution : 60)
        switch part {
        case .value(let value):
            out.member(index)
            out.raw("Value=")
            out.number(value)
        case .statistics(let set):
            out.member(index)
            out.raw("StatisticValues.SampleCount=")
            out.number(set.sampleCount)
            out.member(index)
            out.raw("StatisticValues.Sum=")
            out.number(set.sum)
            out.member(index)
            out.raw("StatisticValues.Minimum=")
            out.number(set.minimum)
            out.member(index)
            out.raw("StatisticValues.Maximum=")
            out.number(set.maximum)
        case .buckets(let buckets):
            for (k, bucket) in buckets.enumerated() {
                out.member(index)
                out.raw("Values.member.")
                out.decimal(k + 1)
                out.raw("=")
                out.number(bucket.value)
                out.member(index)
                out.raw("Counts.member.")
                out.decimal(k + 1)
                out.raw("=")
                out.number(bucket.count)
            }
        }
    }

    private func accept(_ value: Double) -> Bool {
        if !value.isFinite {
            selfMetrics.count(.nonFiniteValue)
            return false
        }
        if Swift.abs(value) > CloudWatchLimits.maxMagnitude {
            selfMetrics.count(.valueOutOfRange)
            return false
        }
        return true
    }

    /// At most `length` characters (the API counts characters; the UTF-8 length bounds them).
    static func clip(_ value: String, _ length: Int) -> String {
        value.utf8.count <= length || value.count <= length ? value : String(value.prefix(length))
    }

    /// Dimension values must be 1 to 1,024 characters: an empty one is sent as `none`.
    static func dimensionValue(_ value: String) -> String {
        value.isEmpty ? "none" : clip(value, CloudWatchLimits.maxDimensionValueLength)
    }

    /// `yyyy-MM-ddTHH:mm:ssZ`.
    package static func iso8601(_ seconds: Int64) -> String {
        var t = time_t(seconds)
        var parts = tm()
        gmtime_r(&t, &parts)
        return String(
            cFormat: "%04d-%02d-%02dT%02d:%02d:%02dZ", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1,
            Int(parts.tm_mday), Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec))
    }
}
