import FuzzSupport
import ObsJournal

/// Keycloak event lines: any bytes read as a message's first line.
runFuzzer { bytes in
    if case .event(let event) = KeycloakEventLine.parse(bytes) {
        precondition(!event.type.isEmpty && !event.realm.isEmpty)
    }
}
