import Foundation
import ObsCore

/// One PutMetricData call, encoded: the form body of the query protocol and what it carries.
public struct PutMetricDataRequest: Sendable, Equatable {
    public var namespace: String
    /// `Action=PutMetricData&Version=2010-08-01&Namespace=...&MetricData.member.1...`.
    public var body: String
    /// How many MetricDatum items the body holds.
    public var datumCount: Int
}

/// Turns flushed data into PutMetricData requests that obey every limit of the API: grouped by
/// namespace, at most 1,000 datums and 1 MB a request, at most 150 Values/Counts a datum (further
/// buckets go into further datums of the same metric and timestamp, which CloudWatch merges),
/// dimension names and values within their lengths. NaN and infinite values, and values beyond
/// ±2^360, are never sent: they are counted in ``SelfMetrics``.
public struct PutMetricDataEncoder: Sendable {
    public static let apiVersion = "2010-08-01"
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
        var requests: [PutMetricDataRequest] = []
        for namespace in order {
            let head = "Action=PutMetricData&Version=\(Self.apiVersion)&Namespace=\(Self.form(namespace))"
            var body = head
            var count = 0
            for datum in byNamespace[namespace]! {
                for fields in wireDatums(datum) {
                    var rendered = render(fields, index: count + 1)
                    if count > 0 && (count == maxDatumsPerRequest || body.utf8.count + rendered.utf8.count > maxRequestBytes) {
                        requests.append(PutMetricDataRequest(namespace: namespace, body: body, datumCount: count))
                        body = head
                        count = 0
                        rendered = render(fields, index: 1)
                    }
                    body += rendered
                    count += 1
                }
            }
            if count > 0 { requests.append(PutMetricDataRequest(namespace: namespace, body: body, datumCount: count)) }
        }
        return requests
    }

    /// The fields of the wire datums one datum becomes (several for a distribution with more than
    /// 150 buckets; none when its value cannot be sent).
    func wireDatums(_ datum: MetricDatum) -> [[(String, String)]] {
        var common: [(String, String)] = [("MetricName", Self.clip(datum.descriptor.name, CloudWatchLimits.maxNameLength))]
        for (i, pair) in datum.dimensions.pairs.prefix(CloudWatchLimits.maxDimensions).enumerated() {
            common.append(("Dimensions.member.\(i + 1).Name", Self.clip(pair.name, CloudWatchLimits.maxDimensionNameLength)))
            common.append(("Dimensions.member.\(i + 1).Value", Self.dimensionValue(pair.value)))
        }
        common.append(("Timestamp", Self.iso8601(datum.timestamp)))
        common.append(("Unit", datum.descriptor.unit.rawValue))
        let resolution = CloudWatchLimits.storageResolutions.contains(datum.descriptor.storageResolution)
            ? datum.descriptor.storageResolution : 60
        common.append(("StorageResolution", String(resolution)))

        switch datum.value {
        case .single(let value):
            guard accept(value) else { return [] }
            return [common + [("Value", Self.number(value))]]
        case .statistics(let set):
            guard !set.isEmpty, accept(set.sum), accept(set.minimum), accept(set.maximum) else { return [] }
            return [
                common + [
                    ("StatisticValues.SampleCount", Self.number(set.sampleCount)),
                    ("StatisticValues.Sum", Self.number(set.sum)),
                    ("StatisticValues.Minimum", Self.number(set.minimum)),
                    ("StatisticValues.Maximum", Self.number(set.maximum)),
                ]
            ]
        case .distribution(_, let buckets):
            let sendable = buckets.filter { accept($0.value) && $0.count > 0 }
            var result: [[(String, String)]] = []
            var start = 0
            while start < sendable.count {
                let chunk = sendable[start..<min(start + CloudWatchLimits.maxValuesPerDatum, sendable.count)]
                var fields = common
                for (k, bucket) in chunk.enumerated() {
                    fields.append(("Values.member.\(k + 1)", Self.number(bucket.value)))
                    fields.append(("Counts.member.\(k + 1)", Self.number(bucket.count)))
                }
                result.append(fields)
                start += CloudWatchLimits.maxValuesPerDatum
            }
            return result
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

    private func render(_ fields: [(String, String)], index: Int) -> String {
        var out = ""
        for (name, value) in fields {
            out += "&MetricData.member.\(index).\(name)=\(Self.form(value))"
        }
        return out
    }

    static func form(_ value: String) -> String { URIEncoding.encode(value) }

    static func clip(_ value: String, _ length: Int) -> String {
        value.count <= length ? value : String(value.prefix(length))
    }

    /// Dimension values must be 1 to 1,024 characters: an empty one is sent as `none`.
    static func dimensionValue(_ value: String) -> String {
        value.isEmpty ? "none" : clip(value, CloudWatchLimits.maxDimensionValueLength)
    }

    /// A number as the API reads it: integers without a fraction, others in shortest round-trip form.
    static func number(_ value: Double) -> String {
        if value == value.rounded(), Swift.abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }

    /// `yyyy-MM-ddTHH:mm:ssZ`.
    public static func iso8601(_ seconds: Int64) -> String {
        var t = time_t(seconds)
        var parts = tm()
        gmtime_r(&t, &parts)
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02dZ", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1,
            Int(parts.tm_mday), Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec))
    }
}
