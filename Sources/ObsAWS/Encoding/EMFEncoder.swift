import ObsCore

/// Encodes flushed data as CloudWatch Embedded Metric Format events, one JSON line each: the form
/// CloudWatch Logs (or the CloudWatch agent, or Lambda's log stream) turns into metrics.
///
/// Series with the same namespace, dimensions and timestamp share an event. Limits of the EMF
/// specification hold for every line: at most 100 metric definitions an event, 100 values a
/// metric, 30 dimension keys a set, dimension values of at most 1,024 characters; NaN and infinite
/// values are never written (they are counted). EMF has no statistic sets: a gauge is written as
/// its interval average, and a distribution as its bucket values, each repeated by its count.
public struct EMFEncoder: Sendable {
    /// EMF: at most 100 metric definitions a directive.
    package static let maxMetricsPerEvent = 100
    /// EMF: at most 100 values in a metric's array.
    package static let maxValuesPerMetric = 100
    /// EMF: at most 30 dimension keys a dimension set.
    package static let maxDimensionKeys = 30
    /// EMF: a dimension value holds at most 1,024 characters.
    package static let maxDimensionValueLength = 1024

    public let selfMetrics: SelfMetrics

    package init(selfMetrics: SelfMetrics) {
        self.selfMetrics = selfMetrics
    }

    private struct EventKey: Hashable {
        var namespace: String
        var dimensions: Dimensions
        var timestamp: Int64
    }

    private struct Entry {
        var descriptor: MetricDescriptor
        var values: [Double]
    }

    public func encode(_ data: [MetricDatum]) -> [String] {
        var groups: [EventKey: [Entry]] = [:]
        var order: [EventKey] = []
        for datum in data {
            let dimensions = Dimensions(
                datum.dimensions.pairs.prefix(Self.maxDimensionKeys).map {
                    ($0.name, $0.value.isEmpty ? "none" : String($0.value.prefix(Self.maxDimensionValueLength)))
                })
            let key = EventKey(
                namespace: datum.descriptor.namespace, dimensions: dimensions, timestamp: datum.timestamp)
            let values = self.values(of: datum.value)
            guard !values.isEmpty else { continue }
            if groups[key] == nil { order.append(key) }
            groups[key, default: []].append(Entry(descriptor: datum.descriptor, values: values))
        }
        var lines: [String] = []
        for key in order {
            // Split into events: at most 100 definitions, and each metric's values 100 at a time.
            var pending = groups[key]!
            while !pending.isEmpty {
                var event: [(MetricDescriptor, ArraySlice<Double>)] = []
                var rest: [Entry] = []
                for entry in pending {
                    if event.count < Self.maxMetricsPerEvent {
                        event.append((entry.descriptor, entry.values.prefix(Self.maxValuesPerMetric)))
                        if entry.values.count > Self.maxValuesPerMetric {
                            rest.append(
                                Entry(
                                    descriptor: entry.descriptor,
                                    values: Array(entry.values.dropFirst(Self.maxValuesPerMetric))))
                        }
                    } else {
                        rest.append(entry)
                    }
                }
                lines.append(render(key, event))
                pending = rest
            }
        }
        return lines
    }

    private func values(of value: MetricDatum.Value) -> [Double] {
        let raw: [Double]
        switch value {
        case .single(let v): raw = [v]
        case .statistics(let set): raw = set.isEmpty ? [] : [set.average]
        case .distribution(_, let buckets):
            raw = buckets.flatMap { Array(repeating: $0.value, count: max(0, Int($0.count))) }
        }
        let finite = raw.filter(\.isFinite)
        if finite.count < raw.count { selfMetrics.count(.nonFiniteValue, raw.count - finite.count) }
        return finite
    }

    private func render(_ key: EventKey, _ metrics: [(MetricDescriptor, ArraySlice<Double>)]) -> String {
        var out = "{"
        for pair in key.dimensions.pairs {
            out += "\(JSONText.quoted(pair.name)): \(JSONText.quoted(pair.value)), "
        }
        let dimensionSet = key.dimensions.names.map(JSONText.quoted).joined(separator: ", ")
        let definitions = metrics.map { descriptor, _ in
            var definition =
                "{\"Name\": \(JSONText.quoted(descriptor.name)), \"Unit\": \(JSONText.quoted(descriptor.unit.rawValue))"
            if descriptor.storageResolution == 1 { definition += ", \"StorageResolution\": 1" }
            return definition + "}"
        }.joined(separator: ", ")
        out +=
            "\"_aws\": {\"Timestamp\": \(key.timestamp * 1000), \"CloudWatchMetrics\": [{\"Dimensions\": [[\(dimensionSet)]], "
        out += "\"Metrics\": [\(definitions)], \"Namespace\": \(JSONText.quoted(key.namespace))}]}"
        for (descriptor, values) in metrics {
            let rendered = values.compactMap(JSONText.number)
            let value = rendered.count == 1 ? rendered[0] : "[\(rendered.joined(separator: ", "))]"
            out += ", \(JSONText.quoted(descriptor.name)): \(value)"
        }
        return out + "}"
    }
}
