import ObsCore

/// The agent's own metrics: what it could not deliver and what went wrong, by reason, so that a
/// loss is visible where the data should have been.
public enum AgentMetrics {
    public static let namespace = "Obs/Agent"

    public static let dropped = MetricDefinition(
        id: "agent.dropped", namespace: namespace, name: "Dropped", unit: .count, kind: .counter, dimensions: ["Reason"],
        description: "Observations or datums the agent accepted but did not deliver, by reason (ring_full, non_finite_value, value_out_of_range, batch_rejected, batch_retries_exhausted). Should be zero.",
        source: "the agent's own counters",
        placement: DashboardPlacement(dashboard: .agentHealth, widget: "Dropped by reason", statistic: "Sum"))

    public static let incidents = MetricDefinition(
        id: "agent.incidents", namespace: namespace, name: "Incidents", unit: .count, kind: .counter, dimensions: ["Reason"],
        description: "Events that lost no data but need attention, by reason (sample_failed, counter_reset, series_overflow).",
        source: "the agent's own counters",
        placement: DashboardPlacement(dashboard: .agentHealth, widget: "Incidents by reason", statistic: "Sum"))

    public static let all = [dropped, incidents]

    /// The metric a self-count of `reason` is reported under.
    public static func definition(for reason: SelfMetrics.Reason) -> MetricDefinition {
        reason.isDrop ? dropped : incidents
    }
}
