import ObsCore

/// API metrics: requests, errors and latency per service, method and route. The
/// agent derives them from Spring actuator's `http_server_requests_seconds` (every request) or from
/// X-Ray segments (sampled requests only: the SDKs send no segment for a request they do not
/// sample), so the API dashboard works from either. Take each service's from one source:
/// `sources.xray.api_metrics: false` when the services are also scraped.
public enum APIMetrics {
    public static let namespace = "Obs/API"
    public static let dimensions = ["Service", "Method", "Route"]

    /// Every source records each request under its service, method and route. Requests, faults and
    /// latency are published per route when `metrics.api_routes` is on (the default) and per
    /// service always; errors and throttles per service only. No status class dimension: a fault
    /// is a 5xx, an error a 4xx, so `Faults` per route already is the 5xx count and a
    /// `Faults{StatusClass=2xx}` series would always be zero.
    private static func counter(
        _ id: String, _ name: String, _ widget: String, _ description: String, detail: MetricDefinition.Detail
    )
        -> MetricDefinition
    {
        MetricDefinition(
            id: "api.\(id)", namespace: namespace, name: name, unit: .count, kind: .counter, dimensions: dimensions,
            description: description,
            source:
                "http_server_requests_seconds_count by status; X-Ray segments (http block); access-log lines (journal)",
            placement: DashboardPlacement(dashboard: .api, widget: widget, statistic: "Sum")
        ).rolled([["Service"]]).detailed(detail)
    }

    package static let requests = counter(
        "requests", "Requests", "Requests",
        "Requests served: every request from the service's actuator, or the sampled ones from its X-Ray segments.",
        detail: .perRoute)
    package static let faults = counter(
        "faults", "Faults", "Faults, errors and throttles",
        "Requests that failed on the server (5xx; the segment's fault flag).", detail: .perRoute)
    package static let errors = counter(
        "errors", "Errors", "Faults, errors and throttles",
        "Requests refused as the client's error (4xx; the segment's error flag). Per service only.",
        detail: .rollupsOnly)
    package static let throttles = counter(
        "throttles", "Throttles", "Faults, errors and throttles",
        "Requests throttled (429; the segment's throttle flag). Per service only.", detail: .rollupsOnly)

    package static let latency = MetricDefinition(
        id: "api.latency", namespace: namespace, name: "Latency", unit: .milliseconds, kind: .distribution,
        dimensions: dimensions,
        description:
            "Time from request to response, as the service's segment measured it. A distribution: p50, p90 and p99 hold within 1 %.",
        source:
            "http_server_requests_seconds (_bucket, or _sum/_count); X-Ray segments (end_time - start_time); access-log lines with a duration group",
        placement: DashboardPlacement(dashboard: .api, widget: "Latency", statistic: "p99")
    ).rolled([["Service"]]).detailed(.perRoute)

    package static let errorRate = MetricDefinition(
        id: "api.error_rate", namespace: namespace, name: "ErrorRate", unit: .percent, kind: .gauge,
        dimensions: ["Service"],
        description:
            "Requests answered 5xx as a percentage of all requests of the service, weighted by requests (its Average over a period is the period's true rate).",
        source: "http_server_requests_seconds_count, 5xx / all, each scrape",
        placement: DashboardPlacement(dashboard: .api, widget: "Error rate", statistic: "Average"))

    package static let all = [requests, faults, errors, throttles, latency, errorRate]
}
