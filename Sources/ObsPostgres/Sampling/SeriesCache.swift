import ObsCatalog
import ObsCore

/// The series a sampler records into, registered once each: a catalog metric with the sampler's
/// dimensions plus extra ones (State, Table, QueryId, ...).
struct SeriesCache {
    let recorder: Recorder
    let dimensions: Dimensions
    private var ids: [String: SeriesID] = [:]

    init(recorder: Recorder, dimensions: Dimensions) {
        self.recorder = recorder
        self.dimensions = dimensions
    }

    mutating func id(_ definition: MetricDefinition, _ extra: [(String, String)] = []) -> SeriesID {
        let key = ([definition.id] + extra.flatMap { [$0.0, $0.1] }).joined(separator: "\u{0}")
        if let id = ids[key] { return id }
        var dimensions = self.dimensions
        for (name, value) in extra { dimensions = dimensions.setting(name, to: value) }
        let id = recorder.series(definition.descriptor, dimensions)
        ids[key] = id
        return id
    }
}
