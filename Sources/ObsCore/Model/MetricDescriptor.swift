/// What the core needs to know of a metric to aggregate and encode it. The catalog owns the full
/// definition (descriptions, dashboards, alarms); this is the part that travels with the data.
public struct MetricDescriptor: Sendable, Hashable {
    /// The CloudWatch namespace, for example `Obs/PostgreSQL`.
    public var namespace: String
    /// The CloudWatch metric name, for example `Commits`.
    public var name: String
    package var unit: MetricUnit
    public var kind: MetricKind
    /// CloudWatch storage resolution in seconds: 60 (standard) or 1 (high resolution).
    public var storageResolution: Int

    public init(namespace: String, name: String, unit: MetricUnit, kind: MetricKind, storageResolution: Int = 60) {
        self.namespace = namespace
        self.name = name
        self.unit = unit
        self.kind = kind
        self.storageResolution = storageResolution
    }

    package var isHighResolution: Bool { storageResolution == 1 }
}
