import FuzzSupport
import ObsEMF

/// EMF events: read whole or refused; what is read holds to CloudWatch's limits.
runFuzzer { bytes in
    switch EMFEvent.parse(bytes) {
    case .success(let event):
        for observation in event.observations {
            precondition(
                !observation.namespace.isEmpty && observation.namespace.utf8.count <= 255
                    && !observation.namespace.hasPrefix("AWS/"))
            precondition(!observation.name.isEmpty && observation.name.utf8.count <= 255)
            precondition((1...100).contains(observation.values.count) && observation.values.allSatisfy { $0.isFinite })
            precondition(observation.dimensions.count <= 30 && observation.dimensions.allSatisfy { !$0.value.isEmpty })
            precondition(observation.storageResolution == 1 || observation.storageResolution == 60)
        }
    case .failure:
        break
    }
}
