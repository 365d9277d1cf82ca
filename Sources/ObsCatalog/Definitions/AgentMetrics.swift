import ObsCore

/// The agent's own metrics: what it could not deliver and what went wrong, by reason, so that a
/// loss is visible where the data should have been.
public enum AgentMetrics {
    public static let namespace = "Obs/Agent"

    package static let dropped = MetricDefinition(
        id: "agent.dropped", namespace: namespace, name: "Dropped", unit: .count, kind: .counter,
        dimensions: ["Reason"],
        description:
            "Observations, datums, log events or segments the agent accepted but did not deliver, by reason (ring_full, spool_full, non_finite_value, batch_rejected, datagram_*, log_event_too_old, ...). Should be zero.",
        source: "the agent's own counters",
        placement: DashboardPlacement(dashboard: .agentHealth, widget: "Dropped by reason", statistic: "Sum")
    ).rolled([[]])

    package static let incidents = MetricDefinition(
        id: "agent.incidents", namespace: namespace, name: "Incidents", unit: .count, kind: .counter,
        dimensions: ["Reason"],
        description:
            "Events that lost no data but need attention, by reason (sample_failed, counter_reset, series_overflow).",
        source: "the agent's own counters",
        placement: DashboardPlacement(dashboard: .agentHealth, widget: "Incidents by reason", statistic: "Sum"))

    package static let batchesSent = MetricDefinition(
        id: "agent.batches_sent", namespace: namespace, name: "BatchesSent", unit: .count, kind: .counter,
        dimensions: ["Kind"],
        description: "Batches the service accepted, by request kind (put-metric-data, ...).",
        source: "the agent's shippers",
        placement: DashboardPlacement(dashboard: .agentHealth, widget: "Batches sent", statistic: "Sum"))

    package static let spoolBytes = MetricDefinition(
        id: "agent.spool_bytes", namespace: namespace, name: "SpoolBytes", unit: .bytes, kind: .gauge, dimensions: [],
        description:
            "Bytes waiting in the disk spool. Growing means the service is not accepting what the agent sends.",
        source: "the agent's spool",
        placement: DashboardPlacement(dashboard: .agentHealth, widget: "Spool", statistic: "Maximum"))

    package static let spoolOldestAge = MetricDefinition(
        id: "agent.spool_oldest_age", namespace: namespace, name: "SpoolOldestAge", unit: .seconds, kind: .gauge,
        dimensions: [],
        description: "Age of the oldest batch not yet accepted: how far behind delivery is.",
        source: "the agent's spool",
        placement: DashboardPlacement(dashboard: .agentHealth, widget: "Spool oldest batch age", statistic: "Maximum"))

    package static let scrapeUp = MetricDefinition(
        id: "agent.scrape_up", namespace: namespace, name: "ScrapeUp", unit: .none, kind: .gauge,
        dimensions: ["Service", "Target"],
        description:
            "1 when the last scrape of a metrics endpoint succeeded and parsed, 0 when it failed. Target is the URL without scheme and query (host:port/path).",
        source: "the Prometheus source",
        placement: DashboardPlacement(dashboard: .agentHealth, widget: "Scrape targets up", statistic: "Minimum")
    ).rolled([["Service"]])
    package static let scrapeDuration = MetricDefinition(
        id: "agent.scrape_duration", namespace: namespace, name: "ScrapeDuration", unit: .milliseconds, kind: .gauge,
        dimensions: ["Service", "Target"],
        description: "Time one scrape took, request and parse.",
        source: "the Prometheus source",
        placement: DashboardPlacement(dashboard: .agentHealth, widget: "Scrape duration", statistic: "Maximum"))
    package static let scrapeSamples = MetricDefinition(
        id: "agent.scrape_samples", namespace: namespace, name: "ScrapeSamples", unit: .count, kind: .gauge,
        dimensions: ["Service", "Target"],
        description: "Samples in the last scrape of a target (all of them, used or not).",
        source: "the Prometheus source",
        placement: DashboardPlacement(dashboard: .agentHealth, widget: "Scrape samples", statistic: "Average"))

    package static let all = [
        dropped, incidents, batchesSent, spoolBytes, spoolOldestAge, scrapeUp, scrapeDuration, scrapeSamples,
    ]

    /// The metric a self-count of `reason` is reported under.
    package static func definition(for reason: SelfMetrics.Reason) -> MetricDefinition {
        reason.isDrop ? dropped : incidents
    }
}
