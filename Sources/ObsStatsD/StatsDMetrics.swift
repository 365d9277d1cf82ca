import ObsCatalog
import ObsCore

/// The StatsD source's catalog definitions: its own count of lines. The metrics the lines carry
/// are named by the applications, in the source's namespace (`sources.statsd.namespace`).
public enum StatsDMetrics {
    package static let lines = MetricDefinition(
        id: "agent.statsd_lines", namespace: AgentMetrics.namespace, name: "StatsDLines", unit: .count, kind: .counter,
        dimensions: [],
        description:
            "StatsD lines recorded (those dropped are counted in Dropped, Reason=statsd_line_invalid or statsd_metric_limit).",
        source: "the StatsD source (UDP)")

    package static let all = [lines]
}
