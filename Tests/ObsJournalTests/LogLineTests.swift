import Foundation
import ObsAWS
import ObsCore
import Testing

@testable import ObsJournal

/// Keycloak event lines in the styles Keycloak 22 to 24 write, written for these tests.
struct KeycloakEventLineTests {
    static let prefix = "2026-11-27 10:00:00,123 WARN  [org.keycloak.events] (executor-thread-1) "

    @Test func bareValuesUpTo23WithARealmNameWithSpaces() throws {
        let line =
            Self.prefix
            + "type=LOGIN_ERROR, realmId=Shop Customers EU, clientId=web-shop, userId=null, ipAddress=10.1.2.3, error=invalid_user_credentials, auth_method=openid-connect, redirect_uri=https://shop.example.com/cb?a=1, b=2, code_id=abc, username=alice"
        guard case .event(let event) = KeycloakEventLine.parse(line) else {
            Issue.record("not read")
            return
        }
        #expect(event.type == "LOGIN_ERROR")
        #expect(event.realm == "Shop Customers EU")
        #expect(event.client == "web-shop")
        #expect(event.user == "alice")
        #expect(event.ipAddress == "10.1.2.3")
        #expect(event.error == "invalid_user_credentials")
    }

    @Test func quotedValuesFrom24AndLater22Patches() throws {
        let line =
            Self.prefix
            + #"type="LOGIN_ERROR", realmId="1f0e-42", realmName="Shop Customers", clientId="web-shop", userId="null", ipAddress="10.1.2.3", error="user_not_found", auth_method="openid-connect", username="o\"brien, the second""#
        guard case .event(let event) = KeycloakEventLine.parse(line) else {
            Issue.record("not read")
            return
        }
        #expect(event.realm == "Shop Customers", "realmName wins over realmId")
        #expect(event.user == #"o"brien, the second"#)
        #expect(event.error == "user_not_found")
        #expect(event.client == "web-shop")
    }

    @Test func aSingleQuotedDetailAndASuccessWithoutError() {
        let line =
            Self.prefix
            + "type=LOGIN, realmId=shop, clientId=web, userId=42, ipAddress=10.0.0.1, auth_method=openid-connect, consent='no consent required', username=bob"
        guard case .event(let event) = KeycloakEventLine.parse(line) else {
            Issue.record("not read")
            return
        }
        #expect(event.type == "LOGIN")
        #expect(event.error == nil)
        #expect(event.user == "bob")
    }

    @Test func aStackTraceAfterAnEventIsNotReadAndItsFramesAreNotEvents() {
        let message =
            Self.prefix
            + "type=LOGIN_ERROR, realmId=shop, clientId=web, userId=null, ipAddress=10.0.0.1, error=expired_code\n"
            + "org.keycloak.authentication.AuthenticationFlowException: type=FAKE, realmId=x\n\tat org.keycloak.events.EventBuilder.send(EventBuilder.java:1)"
        guard case .event(let event) = KeycloakEventLine.parse(message) else {
            Issue.record("not read")
            return
        }
        #expect(event.error == "expired_code")
        #expect(
            KeycloakEventLine.parse("\tat org.keycloak.events.EventBuilder.send(EventBuilder.java:200)") == .notAnEvent)
        #expect(KeycloakEventLine.parse("Caused by: java.lang.IllegalStateException") == .notAnEvent)
        #expect(KeycloakEventLine.parse("GET /realms/shop 200") == .notAnEvent)
        #expect(KeycloakEventLine.parse(Self.prefix + "something else entirely") == .unreadable)
        #expect(KeycloakEventLine.parse(Self.prefix + "type=LOGIN, clientId=web") == .unreadable, "no realm")
    }
}

struct AccessLogPatternTests {
    @Test func readsMethodRouteStatusAndDuration() throws {
        let pattern = try AccessLogPattern(
            #"^\S+ \S+ \S+ \[[^\]]+\] "(?<method>[A-Za-z]+) (?<path>\S+)[^"]*" (?<status>\d{3}) \S+ (?<millis>[\d.]+)"#)
        let request = try #require(
            pattern.match(
                #"10.0.0.1 - - [27/Nov/2026:10:00:00 +0000] "get /api/users/6f1c2a9e-0b1d-4c55-9f3e-2b1a5d7e9c10/orders?page=2 HTTP/1.1" 404 10 3.5"#
            ))
        #expect(request == .init(method: "GET", route: "/api/users/{id}/orders", status: 404, milliseconds: 3.5))
        #expect(pattern.match("garbage") == nil)
    }

    @Test func aPatternWithoutTheNeededGroupsIsRefused() {
        #expect(throws: AccessLogPattern.PatternError.self) { try AccessLogPattern(#"(?<status>\d+)"#) }
        #expect(throws: AccessLogPattern.PatternError.self) { try AccessLogPattern(#"(?<method>[A-Z+"#) }
    }
}

/// PutLogEvents batches built event by event: every limit holds, the body is valid JSON.
struct LogBatchBuilderTests {
    func append(_ builder: inout LogBatchBuilder, _ message: String, _ timestamp: Int64) {
        var message = message
        message.withUTF8 { builder.append(timestamp: timestamp, message: UnsafeRawBufferPointer($0)) }
    }

    @Test func countBytesSpanAndOrderDecideWhetherAnEventFits() {
        var builder = LogBatchBuilder(group: "/g", stream: "s")
        builder.maxEvents = 3
        append(&builder, "a", 1000)
        append(&builder, "bb", 2000)
        #expect(builder.bytes == 1 + 2 + 2 * 26)
        #expect(builder.fits(messageBytes: 10, timestamp: 2000))
        #expect(!builder.fits(messageBytes: 10, timestamp: 1999), "chronological")
        #expect(!builder.fits(messageBytes: 10, timestamp: 1000 + 24 * 3600 * 1000 + 1), "24 hours")
        append(&builder, "c", 3000)
        #expect(!builder.fits(messageBytes: 1, timestamp: 3000), "count")

        var big = LogBatchBuilder(group: "/g", stream: "s")
        let message = String(repeating: "x", count: 100_000)
        var events = 0
        while big.fits(messageBytes: message.utf8.count, timestamp: 5) {
            append(&big, message, 5)
            events += 1
        }
        #expect(events == 1_048_576 / (100_000 + 26))
        #expect(big.bytes <= CloudWatchLogsLimits.maxBatchBytes)
    }

    @Test func theBodyIsValidJSONWithEveryCharacterKept() throws {
        var builder = LogBatchBuilder(group: "/ecs/prod/user \"svc\"", stream: "host/unit")
        let messages = ["line\r\nnext", "tab\there \u{01} \\ \"q\"", "é ✓ 𝄞", ""]
        for (i, message) in messages.enumerated() { append(&builder, message, Int64(i)) }
        let object = try #require(try JSONSerialization.jsonObject(with: Data(builder.finish())) as? [String: Any])
        #expect(object["logGroupName"] as? String == "/ecs/prod/user \"svc\"")
        let events = try #require(object["logEvents"] as? [[String: Any]])
        #expect(events.map { $0["message"] as? String } == messages)
        #expect(events.map { ($0["timestamp"] as? NSNumber)?.int64Value } == [0, 1, 2, 3])
    }

    @Test func invalidUTF8IsRepairedAndAnOversizedMessageTruncatedWithAMarker() {
        var out: [UInt8] = []
        let raw: [UInt8] = [0x61, 0xC3, 0x28, 0xED, 0xA0, 0x80, 0xF0, 0x9F, 0x98, 0x80, 0xFF]
        raw.withUnsafeBytes { #expect(!MessageText.repaired($0, limit: 1000, into: &out)) }
        #expect(String(decoding: out, as: UTF8.self) == "a\u{FFFD}(\u{FFFD}\u{FFFD}\u{FFFD}😀\u{FFFD}")
        raw.withUnsafeBytes { #expect(!MessageText.isValid($0)) }

        let long = Array(String(repeating: "é", count: 200_000).utf8)
        let truncated = long.withUnsafeBytes {
            MessageText.repaired($0, limit: CloudWatchLogsLimits.maxMessageBytes, into: &out)
        }
        #expect(truncated)
        #expect(out.count <= CloudWatchLogsLimits.maxMessageBytes)
        let text = String(decoding: out, as: UTF8.self)
        #expect(text.hasSuffix("bytes]") && text.contains("…[truncated "))
        #expect(!text.contains("\u{FFFD}"), "cut at a character boundary")
    }
}

struct JournalPositionTests {
    @Test func positionsOrderBySeqnumThenMonotonicThenRealtime() throws {
        let a = try #require(JournalPosition(cursor: "s=aa;i=10;b=b1;m=100;t=5000;x=1"))
        let b = try #require(JournalPosition(cursor: "s=aa;i=1a;b=b1;m=50;t=4000;x=2"))
        #expect(a.precedes(b), "same seqnum space: by seqnum (hex)")
        #expect(a.entriesBetween(b) == 9)
        let c = try #require(JournalPosition(cursor: "s=cc;i=1;b=b1;m=200;t=1000;x=3"))
        #expect(a.precedes(c), "same boot: by monotonic")
        #expect(a.entriesBetween(c) == nil)
        let d = try #require(JournalPosition(cursor: "s=dd;i=1;b=b2;m=1;t=6000;x=4"))
        #expect(a.precedes(d) && !d.precedes(a), "else by realtime")
        #expect(JournalPosition(cursor: "not a cursor") == nil)
    }
}

/// The word-at-a-time paths of the message repair and the JSON string encoder against the plain
/// definitions: Swift's own UTF-8 repair and validation, and a byte-by-byte escaper.
struct TextFastPathTests {
    /// Byte strings made to cross the 8-byte words at every offset: ASCII runs, valid sequences
    /// of 2 to 4 bytes, bytes that need a JSON escape, and bytes that are never valid UTF-8.
    static func samples(count: Int, seed: UInt64) -> [[UInt8]] {
        var generator = SplitMix64(seed: seed)
        let pieces: [[UInt8]] = [
            Array("abcdefgh".utf8), Array("x".utf8), Array("é".utf8), Array("✓".utf8), Array("𝄞".utf8), [0x22], [0x5C],
            [0x0A], [0x0D],
            [0x09], [0x01], [0x1F], [0x20], [0x7F], [0x80], [0xC3], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80],
            [0xFF], [0xE2, 0x9C],
        ]
        return (0..<count).map { _ in
            var bytes: [UInt8] = []
            for _ in 0..<Int.random(in: 0...12, using: &generator) {
                bytes += pieces[Int.random(in: 0..<pieces.count, using: &generator)]
            }
            return bytes
        }
    }

    static func plainEscaped(_ text: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [0x22]
        for byte in text {
            switch byte {
            case 0x22: out += Array("\\\"".utf8)
            case 0x5C: out += Array("\\\\".utf8)
            case 0x0A: out += Array("\\n".utf8)
            case 0x0D: out += Array("\\r".utf8)
            case 0x09: out += Array("\\t".utf8)
            case 0..<0x20: out += Array(String(format: "\\u%04x", Int(byte)).utf8)
            default: out.append(byte)
            }
        }
        return out + [0x22]
    }

    @Test func repairAndValidationAgreeWithSwiftsUTF8() {
        var out: [UInt8] = []
        for bytes in Self.samples(count: 20_000, seed: 0x5eed) {
            bytes.withUnsafeBytes { raw in
                #expect(!MessageText.repaired(raw, limit: 1 << 20, into: &out))
                #expect(MessageText.isValid(raw) == (String(validating: bytes, as: UTF8.self) != nil), "\(bytes)")
            }
            #expect(out == Array(String(decoding: bytes, as: UTF8.self).utf8), "\(bytes)")
        }
    }

    @Test func jsonStringsMatchTheByteByByteEscaper() throws {
        var out: [UInt8] = []
        for bytes in Self.samples(count: 20_000, seed: 0x75a4) {
            let text = Array(String(decoding: bytes, as: UTF8.self).utf8)
            out.removeAll()
            text.withUnsafeBytes { JSONText.appendQuoted($0, to: &out) }
            #expect(out == Self.plainEscaped(text), "\(text)")
        }
        // Every byte below 0x80 at every place of a 17-byte string, and parsed back.
        for byte in UInt8(0)..<0x80 {
            for place in 0..<17 {
                var text = Array(repeating: UInt8(ascii: "a"), count: 17)
                text[place] = byte
                out.removeAll()
                text.withUnsafeBytes { JSONText.appendQuoted($0, to: &out) }
                #expect(out == Self.plainEscaped(text))
                let parsed = try JSONSerialization.jsonObject(with: Data(out), options: .fragmentsAllowed) as? String
                #expect(parsed.map { Array($0.utf8) } == text)
            }
        }
    }
}

struct MappedJournalLineTests {
    static func mapping(_ line: String) -> (UInt, Int)? {
        var copy = line
        return copy.withUTF8 { JournalReader.journalMapping(UnsafeRawBufferPointer($0)) }
    }

    @Test func sharedJournalMappingsAreFoundAndNothingElse() {
        let journal = "7f3248000000-7f3248800000 r--s 00000000 08:01 1234 /var/log/journal/abc/system.journal"
        #expect(Self.mapping(journal).map { [$0.0, UInt($0.1)] } == [0x7f32_4800_0000, 0x80_0000])
        #expect(Self.mapping(journal + "~") != nil)
        #expect(Self.mapping(journal + " (deleted)").map { Int($0.1) } == 0x80_0000, "a vacuumed file still mapped")
        #expect(Self.mapping(journal.replacingOccurrences(of: "r--s", with: "r--p")) == nil, "private")
        #expect(Self.mapping(journal.replacingOccurrences(of: ".journal", with: ".journalx")) == nil)
        #expect(Self.mapping("7f3248000000-7f3248800000 r--s 00000000 08:01 1234 /dev/shm/x") == nil)
        #expect(
            Self.mapping("7f3248800000-7f3248000000 r--s 00000000 08:01 1234 /x.journal") == nil, "end before start")
        #expect(Self.mapping("7f32480000zz-7f3248800000 r--s 00000000 08:01 1234 /x.journal") == nil)
        #expect(Self.mapping("11111111111111111-7f3248800000 r--s 0 0:0 1 /x.journal") == nil, "over 64 bits")
        #expect(Self.mapping(".journal") == nil && Self.mapping("") == nil)
    }
}
