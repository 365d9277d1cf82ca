import FuzzSupport
import ObsAWS
import ObsCore
import ObsJournal

/// A journal message: any bytes read as a Keycloak event line, and made fit for CloudWatch Logs
/// (valid UTF-8, as Swift's own decoder repairs it) and written as a JSON string (no raw control
/// byte, quote or backslash left unescaped).
runFuzzer { bytes in
    if case .event(let event) = KeycloakEventLine.parse(bytes) {
        precondition(!event.type.isEmpty && !event.realm.isEmpty)
    }
    var text: [UInt8] = []
    let truncated = MessageText.repaired(bytes, limit: 1 << 20, into: &text)
    precondition(!truncated && text.elementsEqual(String(decoding: bytes, as: UTF8.self).utf8))
    precondition(MessageText.isValid(bytes) == text.elementsEqual(bytes))
    var json: [UInt8] = []
    text.withUnsafeBytes { JSONText.appendQuoted($0, to: &json) }
    precondition(json.first == UInt8(ascii: "\"") && json.last == UInt8(ascii: "\"") && json.count >= text.count + 2)
    var escaped = false
    for byte in json.dropFirst().dropLast() {
        precondition(byte >= 0x20, "a raw control byte")
        if escaped {
            escaped = false
        } else if byte == UInt8(ascii: "\\") {
            escaped = true
        } else {
            precondition(byte != UInt8(ascii: "\""), "an unescaped quote")
        }
    }
    precondition(!escaped)
}
