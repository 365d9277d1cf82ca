import ObsCore

#if canImport(Glibc)
    import Glibc
#endif

/// One Keycloak event as its `jboss-logging` event listener writes it under the logger
/// `org.keycloak.events`, for example
///
///     2024-03-01 10:00:00,123 WARN  [org.keycloak.events] (executor-thread-3) type=LOGIN_ERROR,
///     realmId=shop, clientId=frontend, userId=null, ipAddress=10.0.0.7, error=invalid_user_credentials,
///     auth_method=openid-connect, username=alice
///
/// (one line). Keycloak up to 23 writes values bare (`key=value`, a detail with a space in
/// single quotes); 24 and the later 22.x and 23.x patch releases quote every value (`key="value"`,
/// a quote inside escaped with a backslash). Both are read; a bare value runs up to the next
/// `, key=`, so a realm name with spaces stays whole. Only the message's first line is read: a
/// stack trace that follows an event is not an event.
public struct KeycloakEventLine: Sendable, Equatable {
    /// `LOGIN`, `LOGIN_ERROR`, `CODE_TO_TOKEN`, ...
    public var type: String
    /// The realm's name when the line carries `realmName`, else its `realmId`.
    public var realm: String
    package var client: String?
    public var user: String?
    package var ipAddress: String?
    package var error: String?

    /// What reading a message gave.
    public enum Outcome: Sendable, Equatable {
        /// Not a Keycloak event line.
        case notAnEvent
        /// Named `org.keycloak.events` but has no readable `type=` and realm.
        case unreadable
        case event(KeycloakEventLine)
    }

    package static let loggerName = "org.keycloak.events"
    private static let loggerBytes = Array(loggerName.utf8)

    /// Reads `message`'s first line.
    public static func parse(_ message: String) -> Outcome {
        var message = message
        return message.withUTF8 { parse(UnsafeRawBufferPointer($0)) }
    }

    public static func parse(_ message: UnsafeRawBufferPointer) -> Outcome {
        let end = message.firstIndex(ofByte: 0x0A) ?? message.count
        let line = UnsafeRawBufferPointer(rebasing: message[0..<end])
        guard let logger = find(loggerBytes, in: line, from: 0) else { return .notAnEvent }
        // A frame of a stack trace names classes of the package, never the logger in brackets.
        var first = 0
        while first < line.count, line[first] == UInt8(ascii: " ") || line[first] == UInt8(ascii: "\t") { first += 1 }
        if line.count - first >= 3, line[first] == UInt8(ascii: "a"), line[first + 1] == UInt8(ascii: "t"),
            line[first + 2] == UInt8(ascii: " ")
        {
            return .notAnEvent
        }
        guard let typeAt = keyStart("type", in: line, from: logger + loggerName.utf8.count) else { return .unreadable }
        var fields: [String: String] = [:]
        var i = typeAt
        while i < line.count {
            // key
            let keyStart = i
            while i < line.count, isKeyByte(line[i]) { i += 1 }
            guard i < line.count, i > keyStart, line[i] == UInt8(ascii: "=") else { break }
            let key = String(decoding: line[keyStart..<i], as: UTF8.self)
            i += 1
            let value: String
            if i < line.count, line[i] == UInt8(ascii: "\"") {
                var bytes: [UInt8] = []
                i += 1
                while i < line.count, line[i] != UInt8(ascii: "\"") {
                    if line[i] == UInt8(ascii: "\\"), i + 1 < line.count { i += 1 }
                    bytes.append(line[i])
                    i += 1
                }
                i += 1  // the closing quote
                value = String(decoding: bytes, as: UTF8.self)
                while i < line.count, line[i] != UInt8(ascii: ",") { i += 1 }
            } else if i < line.count, line[i] == UInt8(ascii: "'") {
                let start = i + 1
                var close = start
                while close < line.count,
                    !(line[close] == UInt8(ascii: "'")
                        && (close + 1 == line.count || line[close + 1] == UInt8(ascii: ",")))
                {
                    close += 1
                }
                value = String(decoding: line[start..<min(close, line.count)], as: UTF8.self)
                i = min(close + 1, line.count)
            } else {
                let start = i
                var stop = line.count
                var k = i
                while k < line.count {
                    if line[k] == UInt8(ascii: ","), k + 1 < line.count, line[k + 1] == UInt8(ascii: " "),
                        Self.keyStart(at: k + 2, in: line)
                    {
                        stop = k
                        break
                    }
                    k += 1
                }
                value = String(decoding: line[start..<stop], as: UTF8.self)
                i = stop
            }
            fields[key] = value
            // ", " before the next key
            guard i < line.count, line[i] == UInt8(ascii: ",") else { break }
            i += 1
            while i < line.count, line[i] == UInt8(ascii: " ") { i += 1 }
        }
        guard let type = fields["type"], !type.isEmpty,
            let realm = (fields["realmName"] ?? fields["realmId"]).flatMap(nonNull)
        else {
            return .unreadable
        }
        return .event(
            KeycloakEventLine(
                type: type, realm: realm, client: fields["clientId"].flatMap(nonNull),
                user: fields["username"].flatMap(nonNull) ?? fields["userId"].flatMap(nonNull),
                ipAddress: fields["ipAddress"].flatMap(nonNull), error: fields["error"].flatMap(nonNull)))
    }

    private static func nonNull(_ value: String) -> String? {
        value.isEmpty || value == "null" ? nil : value
    }

    private static func isKeyByte(_ byte: UInt8) -> Bool {
        (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x30 && byte <= 0x39)
            || byte == UInt8(ascii: "_")
            || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".")
    }

    /// Whether a `key=` starts at `i`.
    private static func keyStart(at i: Int, in line: UnsafeRawBufferPointer) -> Bool {
        var k = i
        while k < line.count, isKeyByte(line[k]) { k += 1 }
        return k > i && k < line.count && line[k] == UInt8(ascii: "=")
    }

    /// Where `key=` first starts as a token (at the start or after a space) from `from`.
    private static func keyStart(_ key: String, in line: UnsafeRawBufferPointer, from: Int) -> Int? {
        let needle = Array((key + "=").utf8)
        var at = from
        while let found = find(needle, in: line, from: at) {
            if found == 0 || line[found - 1] == UInt8(ascii: " ") { return found }
            at = found + 1
        }
        return nil
    }

    static func find(_ needle: [UInt8], in haystack: UnsafeRawBufferPointer, from: Int) -> Int? {
        guard !needle.isEmpty, from >= 0, haystack.count - from >= needle.count, let base = haystack.baseAddress else {
            return nil
        }
        let last = haystack.count - needle.count
        let first = Int32(needle[0])
        var i = from
        return needle.withUnsafeBytes { n -> Int? in
            while i <= last {
                // memchr finds the candidates; memcmp checks them.
                guard let hit = memchr(base + i, first, last - i + 1) else { return nil }
                let at = base.distance(to: UnsafeRawPointer(hit))
                if memcmp(base + at, n.baseAddress!, n.count) == 0 { return at }
                i = at + 1
            }
            return nil
        }
    }
}
