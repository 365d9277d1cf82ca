import Synchronization

/// What each source and sink says of itself, for `/healthz`: ok, or degraded with the reason.
/// Sources report as they work (a sample that failed, a scrape target down); nothing here stops
/// the agent: a degraded component is reported, retried, and counted in the agent's metrics.
public final class HealthRegistry: Sendable {
    public struct Component: Sendable, Equatable {
        public var name: String
        package var ok: Bool
        /// Why it is degraded (the last error), nil when ok.
        package var reason: String?
    }

    private let components = Mutex<[String: Component]>([:])

    package init() {}

    package func report(_ name: String, ok: Bool, reason: String? = nil) {
        components.withLock { $0[name] = Component(name: name, ok: ok, reason: ok ? nil : reason) }
    }

    /// Every component, by name.
    package var snapshot: [Component] {
        components.withLock { $0.values.sorted { $0.name < $1.name } }
    }
}
