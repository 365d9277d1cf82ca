import ObsCatalog
import ObsCore

/// The EMF source's catalog definitions: its own count of events. The metrics the events carry
/// are named by the applications, in the namespaces the events give.
public enum EMFMetrics {
    package static let events = MetricDefinition(
        id: "agent.emf_events", namespace: AgentMetrics.namespace, name: "EMFEvents", unit: .count, kind: .counter,
        dimensions: [],
        description:
            "EMF events recorded (those dropped are counted in Dropped, Reason=emf_event_invalid or emf_metric_limit).",
        source: "the EMF source (TCP and UDP)")

    package static let all = [events]
}
