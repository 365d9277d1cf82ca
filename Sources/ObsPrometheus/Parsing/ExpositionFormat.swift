import ObsCore

/// The two text formats a metrics endpoint may answer in.
public enum ExpositionFormat: String, Sendable, Hashable {
    /// Prometheus text format 0.0.4 (`text/plain; version=0.0.4`): lenient about white space,
    /// families may be interleaved, timestamps are integer milliseconds.
    case prometheusText = "prometheus-text-0.0.4"
    /// OpenMetrics 1.0 (`application/openmetrics-text`): strict grammar, `# EOF` at the end,
    /// `_total` counters, exemplars, timestamps in seconds.
    case openMetrics = "openmetrics-1.0"

    /// The Accept header a scraper sends: OpenMetrics preferred, 0.0.4 accepted.
    package static let acceptHeader =
        "application/openmetrics-text;version=1.0.0;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"

    /// The format a response's Content-Type names: OpenMetrics for `application/openmetrics-text`,
    /// 0.0.4 for anything else (including no Content-Type), as Prometheus itself decides.
    package init(contentType: String?) {
        let mediaType = contentType?.split(separator: ";").first?.trimmingBlanks().lowercased() ?? ""
        self = mediaType == "application/openmetrics-text" ? .openMetrics : .prometheusText
    }
}

/// A metric family's type, as `# TYPE` declares it.
public enum MetricType: String, Sendable, Hashable, CaseIterable {
    case counter, gauge, histogram, gaugehistogram, summary, info, stateset
    /// OpenMetrics `unknown`; 0.0.4 `untyped`, and any family without `# TYPE`.
    case unknown
}

/// Which part of a family a sample is: what its name adds to the family's name.
public enum SampleSuffix: Sendable, Hashable {
    case none, total, created, bucket, count, sum, gcount, gsum, info
}

/// Why a scrape body was refused: the line (1-based) and what was wrong with it.
public struct ExpositionError: Error, Sendable, Equatable, CustomStringConvertible {
    package var line: Int
    package var message: String

    package init(line: Int, _ message: String) {
        self.line = line
        self.message = message
    }

    public var description: String { "line \(line): \(message)" }
}
