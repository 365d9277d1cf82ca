import ObsCore

/// The metric catalog: every metric the agent may emit, defined once, shared by the agent (names,
/// units, dimensions) and obsctl (dashboards, alarms, IAM policy, docs).
public struct Catalog: Sendable {
    package let definitions: [MetricDefinition]
    private let byID: [String: MetricDefinition]

    /// Refuses two definitions with one id, or one CloudWatch name defined twice in a namespace.
    package init(_ definitions: [MetricDefinition]) throws(CatalogError) {
        var byID: [String: MetricDefinition] = [:]
        var names = Set<String>()
        for definition in definitions {
            guard byID[definition.id] == nil else { throw .duplicateID(definition.id) }
            guard names.insert("\(definition.namespace)/\(definition.name)").inserted else {
                throw .duplicateName(definition.namespace, definition.name)
            }
            guard definition.dimensions.count <= Dimensions.maximumCount else {
                throw .tooManyDimensions(definition.id)
            }
            guard definition.detail == .published || !definition.rollups.isEmpty else {
                throw .badRollup(definition.id, [])
            }
            for rollup in definition.rollups
            where !Set(rollup).isSubset(of: definition.dimensions) || rollup.count >= definition.dimensions.count {
                throw .badRollup(definition.id, rollup)
            }
            byID[definition.id] = definition
        }
        self.definitions = definitions
        self.byID = byID
    }

    package subscript(id: String) -> MetricDefinition? { byID[id] }

    /// Each metric's rollups, for the aggregator.
    package var rollups: [MetricDescriptor: [[String]]] {
        var rollups: [MetricDescriptor: [[String]]] = [:]
        for definition in definitions where !definition.rollups.isEmpty {
            rollups[definition.descriptor] = definition.rollups
        }
        return rollups
    }

    /// The metrics whose full series are not published (only their rollups), with
    /// `metrics.api_routes` as given: for the aggregator.
    package func rollupsOnly(apiRoutes: Bool) -> Set<MetricDescriptor> {
        Set(
            definitions.filter { !$0.publishedDimensionSets(apiRoutes: apiRoutes).contains($0.dimensions) }.map(
                \.descriptor))
    }

    /// The definition with `id`; a programming error if the built-in catalog lacks it.
    package func require(_ id: String) -> MetricDefinition {
        guard let definition = byID[id] else { preconditionFailure("catalog has no metric \(id)") }
        return definition
    }

    /// The catalog built into the agent.
    package static let builtIn: Catalog = {
        do {
            return try Catalog(
                APIMetrics.all + PoolMetrics.all + PostgresMetrics.all + AuthMetrics.all + AgentMetrics.all)
        } catch {
            preconditionFailure("built-in catalog is inconsistent: \(error)")
        }
    }()
}

/// Why a set of definitions cannot form a catalog.
public enum CatalogError: Error, Equatable, CustomStringConvertible {
    case duplicateID(String)
    case duplicateName(String, String)
    case tooManyDimensions(String)
    case badRollup(String, [String])

    public var description: String {
        switch self {
        case .duplicateID(let id): return "catalog: metric id \(id) is defined twice"
        case .duplicateName(let ns, let name): return "catalog: \(ns) \(name) is defined twice"
        case .tooManyDimensions(let id): return "catalog: \(id) has more than 30 dimensions"
        case .badRollup(let id, let names):
            return "catalog: \(id)'s rollup \(names) is not a proper subset of its dimensions"
        }
    }
}
