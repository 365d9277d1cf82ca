/// The CloudWatch PutMetricData limits we enforce before a request is built (a local endpoint would
/// accept anything; the real service would not).
public enum CloudWatchLimits {
    /// PutMetricData: at most 1,000 MetricDatum items a request.
    public static let maxDatumsPerRequest = 1000
    /// PutMetricData: at most 1 MB a request body.
    public static let maxRequestBytes = 1_000_000
    /// PutMetricData: at most 150 Values (and Counts) a datum.
    package static let maxValuesPerDatum = 150
    /// PutMetricData: at most 30 dimensions a metric.
    package static let maxDimensions = 30
    /// Dimension names: 1 to 255 characters; values: 1 to 1,024.
    package static let maxDimensionNameLength = 255
    package static let maxDimensionValueLength = 1024
    /// Metric names and namespaces: 1 to 255 characters.
    package static let maxNameLength = 255
    /// Values outside ±2^360 are refused.
    package static let maxMagnitude = 0x1p360
    /// Storage resolutions the API accepts, in seconds.
    package static let storageResolutions: Set<Int> = [1, 60]
}
