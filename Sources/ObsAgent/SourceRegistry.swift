import ObsCatalog
import ObsEMF
import ObsJournal
import ObsPostgres
import ObsPrometheus
import ObsSource
import ObsStatsD
import ObsXRay

/// Every source the agent can run: one line each. The config's `sources` keys, the agent's
/// services, `obs-agent check`, and obsctl's `validate`, `iam-policy`, `cost`, `alarms` and
/// `dashboards` all come from these registrations (docs/ADDING_A_SOURCE.md).
public enum SourceRegistry {
    package static let builtIn: [AnySourceRegistration] = [
        PostgresSource.registration.erased,
        PrometheusSource.registration.erased,
        XRaySource.registration.erased,
        JournalSource.registration.erased,
        StatsDSource.registration.erased,
        EMFSource.registration.erased,
    ]

    /// The catalog: the built-in definitions and every registered source's own.
    package static let catalog: Catalog = {
        var definitions = Catalog.builtIn.definitions
        var ids = Set(definitions.map(\.id))
        for registration in builtIn {
            for definition in registration.metrics where ids.insert(definition.id).inserted {
                definitions.append(definition)
            }
        }
        do {
            return try Catalog(definitions)
        } catch {
            preconditionFailure("the sources' catalog definitions are inconsistent: \(error)")
        }
    }()

    /// The keys of the sources that may emit `definition` (none: the agent's own metrics).
    package static func sources(emitting definition: MetricDefinition) -> [String] {
        builtIn.filter { registration in registration.metrics.contains { $0.id == definition.id } }.map {
            "sources.\($0.key)"
        }
    }
}
